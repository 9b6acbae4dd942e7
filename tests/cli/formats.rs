//! Every output format: hostile log text stays text, and request/response bodies (which hold
//! secrets at RequestResponse level) never reach any output.

use crate::common;

const SECRET: &str = "hunter2-TOPSECRET-c2VjcmV0";

fn hostile_log(dir: &std::path::Path) -> std::path::PathBuf {
    let ua = r"<script>alert(1)</script> [click](http://evil.example) **bold** | x \u001b[31m";
    let mut lines = Vec::new();
    for i in 0..30 {
        lines.push(format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"h-{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/secrets/db?token={SECRET}","verb":"update","user":{{"username":"system:serviceaccount:a:evil"}},"userAgent":"{ua}","objectRef":{{"resource":"secrets","namespace":"a","name":"db","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestObject":{{"kind":"Secret","metadata":{{"name":"db","resourceVersion":"{i}"}},"data":{{"password":"{SECRET}"}}}},"responseObject":{{"kind":"Secret","metadata":{{"name":"db","resourceVersion":"{i}"}},"stringData":{{"password":"{SECRET}"}}}},"requestReceivedTimestamp":"2024-05-01T10:00:{i:02}.000000Z","stageTimestamp":"2024-05-01T10:00:{i:02}.010000Z"}}"#
        ));
    }
    let p = dir.join("hostile.jsonl");
    std::fs::write(&p, lines.join("\n")).unwrap();
    p
}

#[test]
fn hostile_text_and_secrets_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile_log(dir.path());
    for format in ["text", "json", "md", "html"] {
        let out = common::run(&["--format", format, "--top", "50", p.to_str().unwrap()]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(SECRET), "{format} leaks a body");
        assert!(!text.contains('\x1b'), "{format} passes an escape sequence");
        match format {
            "md" => {
                assert!(
                    !text.contains("<script>") && text.contains("&lt;script&gt;"),
                    "{text}"
                );
                assert!(!text.contains("[click](http"), "a link would render");
            }
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                // JSON keeps the userAgent verbatim (escaped as JSON): consumers escape on display.
                assert!(v["lists"].as_array().unwrap().is_empty());
                assert!(
                    v["clients"][0]["client"]
                        .as_str()
                        .unwrap()
                        .starts_with("<script>")
                );
                // The no-op updates were judged from the bodies' resourceVersions only.
                assert_eq!(v["writes"][0]["noop"], 30);
            }
            "html" => {
                assert!(!text.contains("<script>"), "markup in the page");
                assert!(
                    text.contains("&lt;script&gt;alert@a/evil"),
                    "the client shows as text"
                );
                assert!(
                    !text.contains("onerror") && !text.contains("href=\"http"),
                    "an attribute or link from the log"
                );
            }
            _ => {}
        }
    }
}

/// The rows of the Markdown table under `## {title}` (header and rule excluded).
fn md_rows<'a>(md: &'a str, title: &str) -> Vec<&'a str> {
    let Some(start) = md.find(&format!("\n## {title}\n")) else {
        return Vec::new();
    };
    md[start + title.len() + 5..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

#[test]
fn markdown_has_every_section_of_the_text_report_and_says_n_of_m_when_cut() {
    use audit_scan::synth::{Plant, SynthConfig};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let cfg = SynthConfig {
        bytes: 1_500_000,
        seed: 11,
        rate: 30.0,
        plants: vec![
            Plant::DeprecatedApi,
            Plant::SlowWebhook,
            Plant::RelistStorm,
            Plant::ExpensiveList,
            Plant::ConflictStorm,
            Plant::SlowRequests,
            Plant::Throttled,
        ],
        ..Default::default()
    };
    common::write_generated(&input, &cfg);
    let top = 2;
    let render = |format: &str| {
        let top = top.to_string();
        let out = common::run(&[
            "--format",
            format,
            "--top",
            &top,
            "--no-progress",
            input.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (text, md) = (render("text"), render("md"));
    let report: serde_json::Value = serde_json::from_str(&render("json")).unwrap();
    // Every section the text report prints has its heading in Markdown.
    for (in_text, heading) in [
        ("\nFindings (", "Findings"),
        ("\nClients", "Clients"),
        ("\nLISTs per userAgent", "LISTs per userAgent"),
        ("\nWrites", "Writes"),
        ("\nMost-written objects", "Most-written objects"),
        ("\nErrors", "Errors"),
        ("\nWatches", "Watches"),
        (
            "\nCRD and aggregated API calls",
            "CRD and aggregated API calls",
        ),
        ("\nHealth: ", "Health"),
        ("\nSizing (estimate)", "Sizing (estimate)"),
        ("\nUpgrade blockers", "Upgrade blockers"),
    ] {
        assert_eq!(
            md.contains(&format!("## {heading}\n")),
            text.contains(in_text),
            "## {heading} in Markdown as {in_text:?} in the text report: {md}"
        );
    }
    for always in [
        "\nFindings (",
        "\nClients",
        "\nWatches",
        "\nHealth: ",
        "\nSizing (estimate)",
    ] {
        assert!(text.contains(always), "{always:?}: {text}");
    }
    // Tables cut at --top say so, with the report's own totals; shorter ones do not.
    for (title, rows) in [
        ("Clients", "/clients"),
        ("LISTs per userAgent", "/lists"),
        ("Writes", "/writes"),
        ("Errors", "/errors"),
        ("Watches", "/watches"),
        ("Deprecated APIs", "/deprecated"),
        ("Admission webhooks", "/webhooks"),
        ("SLO windows missed", "/health/slo_violations"),
    ] {
        let total = report.pointer(rows).unwrap().as_array().unwrap().len();
        assert!(total > 0, "{title}: the planted traffic");
        assert_eq!(md_rows(&md, title).len(), total.min(top), "{title}");
        let cut = format!("## {title}\n\nTop {top} of {total} (`--top N` for more).");
        assert_eq!(md.contains(&cut), total > top, "{title}: {md}");
    }
    let findings = report["findings"].as_array().unwrap().len();
    assert!(findings > top);
    assert!(
        md.contains(&format!("Top {top} of {findings} findings")),
        "{md}"
    );
    // The deprecated APIs and the webhook are the log's own (read here from the raw events).
    let events = common::events(&input);
    let deprecated: std::collections::BTreeSet<String> = events
        .iter()
        .filter(|e| e["annotations"]["k8s.io/deprecated"] == "true")
        .map(|e| {
            let o = &e["objectRef"];
            format!(
                "{}/{}/{}",
                o["apiGroup"].as_str().unwrap_or(""),
                o["apiVersion"].as_str().unwrap(),
                o["resource"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!deprecated.is_empty());
    let rows = md_rows(&md, "Deprecated APIs").join("\n");
    let shown = report["deprecated"].as_array().unwrap().len().min(top);
    let listed = deprecated
        .iter()
        .filter(|api| rows.contains(api.as_str()))
        .count();
    assert_eq!(
        listed,
        deprecated.len().min(shown),
        "{deprecated:?} in {rows}"
    );
    assert!(rows.contains("| 1.25 |"), "the removal release: {rows}");
    assert!(
        md_rows(&md, "Admission webhooks")
            .join("\n")
            .contains("validate.policy-agent.io")
    );
    assert!(md.contains("EKS tier: **"), "{md}");
}

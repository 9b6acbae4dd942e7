//! A corpus of hostile strings — controls, ANSI/OSC sequences, bidi overrides, zero-width
//! characters, Markdown/HTML/XML metacharacters, formula prefixes, a 100 KB string, invalid
//! UTF-8 — sent as userAgents, usernames and object names, run through every output format,
//! asserting what each may contain: no raw control, bidi or invisible character in a human
//! format, every shown string within the length cap, no live formula in CSV, well-formed XML,
//! and the raw text kept whole in JSON, NDJSON and `--export-raw`.

use crate::common;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The characters of the corpus that must never reach a reader raw (chosen here, not taken
/// from the program): C0/C1 controls and DEL, bidi embeddings/overrides/isolates/marks,
/// zero-width and invisible format characters.
fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}'
        )
}

/// The longest run of one string shown: 256 characters, an escape never split.
const CAP: usize = 256;

const LONG: usize = 100_000;

/// (userAgent, service-account name, object name) triples; each client sends LISTs and writes.
fn corpus() -> Vec<String> {
    vec![
        "\u{1b}]8;;http://evil.example/\u{7}click-me\u{1b}]8;;\u{7}".into(),
        "\u{1b}[2J\u{1b}[31mred\u{1b}[0m".into(),
        "admin\u{202e}exe.gnp".into(),
        "iso\u{2066}late\u{2069}d".into(),
        "op\u{200b}erator".into(),
        "operator".into(),
        "bom\u{feff}word\u{2060}joiner\u{200d}x".into(),
        "line1\nline2\rcr\ttab\u{85}nel".into(),
        "<script>alert(1)</script><img src=x onerror=alert(2)>&amp;\"'".into(),
        "]]><!-- <?xml?> &#0;".into(),
        "[click](http://evil.example) https://evil.example www.evil.example **b** |x| `c` ~s~ # h"
            .into(),
        "=HYPERLINK(\"http://evil.example\",\"x\")".into(),
        "+cmd|' /C calc'!A0".into(),
        "-2+3+cmd|' /C calc'!A0".into(),
        "@SUM(1+1)*cmd|' /C calc'!A0".into(),
        "\tlead-tab".into(),
        "\rlead-cr".into(),
        "x".repeat(LONG),
    ]
}

/// Client-safe label for a username (`system:serviceaccount:hostile:sa-N`).
fn sa(i: usize) -> String {
    format!("sa-{i}")
}

fn event(i: usize, n: usize, ua: &str, verb: &str, uri: &str, object: &Value) -> String {
    let (m, s) = (n / 60, n % 60);
    serde_json::json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": format!("h-{i}-{verb}-{n}"),
        "stage": "ResponseComplete",
        "requestURI": uri,
        "verb": verb,
        "user": {"username": format!("system:serviceaccount:hostile:{}", sa(i))},
        "userAgent": ua,
        "objectRef": object,
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": format!("2024-05-01T10:{m:02}:{s:02}.000000Z"),
        "stageTimestamp": format!("2024-05-01T10:{m:02}:{s:02}.300000Z"),
    })
    .to_string()
}

/// Every corpus string as a client's userAgent (cluster-wide pod LISTs from etcd, enough for
/// AS101) and as the name of the configmap it updates once a second (AS201), plus one line of
/// invalid UTF-8.
fn log(dir: &Path) -> PathBuf {
    let mut out = Vec::new();
    for (i, s) in corpus().iter().enumerate() {
        let pods = serde_json::json!({"resource": "pods", "apiVersion": "v1"});
        let cm = serde_json::json!({"resource": "configmaps", "namespace": "hostile", "name": s, "apiVersion": "v1"});
        // The 100 KB string sends fewer requests (still enough for AS101) to keep the log small.
        let (every, step) = if s.len() == LONG { (1, 30) } else { (5, 1) };
        for n in (0..600).step_by(step) {
            if n % every == 0 {
                out.push(event(i, n, s, "list", "/api/v1/pods", &pods));
            }
            out.push(event(
                i,
                n,
                s,
                "update",
                "/api/v1/namespaces/hostile/configmaps/x",
                &cm,
            ));
        }
    }
    let mut bytes = out.join("\n").into_bytes();
    bytes.extend_from_slice(b"\n{\"kind\":\"Event\",\"userAgent\":\"bad\xff\xfe\xc3\x28\"}\n");
    let p = dir.join("hostile.jsonl");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The longest run of `x` (the 100 KB string's character) in `s`.
fn longest_x_run(s: &str) -> usize {
    s.split(|c| c != 'x').map(str::len).max().unwrap_or(0)
}

/// What every human format must hold.
fn assert_human(format: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| forbidden(c) && c != '\n') {
        let at = text.find(c).unwrap();
        panic!(
            "{format}: raw {c:?} near {:?}",
            &text[at.saturating_sub(40)..(at + 40).min(text.len())]
        );
    }
    assert!(
        longest_x_run(text) <= CAP,
        "{format}: a string shown past the cap"
    );
    // The tables of Markdown and HTML show the 100 KB userAgent (the terminal's tables cut
    // wide columns further, to the screen; JUnit and SARIF show findings only).
    assert!(
        !matches!(format, "md" | "html") || text.contains(&format!("({LONG} chars)")),
        "{format}: the cut does not say the full length"
    );
    assert!(!text.contains("line1\nline2"), "{format}: a raw line break");
    assert!(
        text.contains("\\u{202e}") && text.contains("\\u{200b}"),
        "{format}: bidi and zero-width characters are not shown as escapes"
    );
}

fn run(args: &[&str]) -> String {
    let out = common::run(args);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("every output is valid UTF-8")
}

#[test]
fn every_format_holds_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = log(dir.path());
    let input = input.to_str().unwrap();
    let top = ["--top", "100", "--no-progress"];
    let with = |format: &str| {
        let mut a = vec!["--format", format];
        a.extend(top);
        a.push(input);
        run(&a)
    };

    // JSON: the contract keeps every string whole and raw; identities stay distinct.
    let report: Value = serde_json::from_str(&with("json")).unwrap();
    assert_eq!(
        report["summary"]["skipped"]["total"], 1,
        "the invalid UTF-8 line is counted"
    );
    let agents: Vec<&str> = report["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["user_agent"].as_str().unwrap())
        .collect();
    for s in corpus() {
        assert!(agents.contains(&s.as_str()), "JSON lost {s:.40?}");
    }
    let clients: Vec<&str> = report["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert!(clients.contains(&"op\u{200b}erator@hostile/sa-4"));
    assert!(clients.contains(&"operator@hostile/sa-5"));
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["client"].as_str().unwrap().contains('\u{202e}')),
        "a finding names the bidi client"
    );

    // Text, Markdown, HTML.
    let text = with("text");
    assert_human("text", &text);
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains('⚠'), "an altered name is marked");
    assert!(text.contains("shown altered"), "and the report says so");
    // Two names that look alike raw are told apart.
    assert!(
        text.contains("op\\u{200b}erator@hostile/sa-4") && text.contains("operator@hostile/sa-5")
    );

    let md = with("md");
    assert_human("md", &md);
    assert!(!md.contains('<'), "HTML from the log in Markdown");
    assert!(
        !md.match_indices("](")
            .any(|(i, _)| !md[..i].ends_with('\\')),
        "a live Markdown link"
    );
    assert!(
        !md.match_indices("://")
            .any(|(i, _)| !md[..i].ends_with('\\'))
            && !md.contains("www.evil"),
        "an autolink"
    );
    assert!(md.contains("http\\://evil.example") && md.contains("www\\.evil.example"));
    // Rendered as GitHub does (tables, strikethrough, autolinks), nothing from the log is a
    // link, an image or markup.
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    assert!(
        comrak::markdown_to_html("a https://x.example www.x.example", &options)
            .matches("<a ")
            .count()
            == 2,
        "the renderer links bare URLs, so the check below can fail"
    );
    let rendered = comrak::markdown_to_html(&md, &options);
    assert!(rendered.contains("<table>"), "the tables render");
    for tag in [
        "<a ",
        "<img",
        "<script",
        "<code>c</code>",
        "<del>",
        "<strong>b",
    ] {
        assert!(
            !rendered.contains(tag),
            "{tag} from the log: {rendered:.2000}"
        );
    }
    // Timestamps read as they are (no `&#58;`).
    assert!(md.contains("2024-05-01T10:00:00") && !md.contains("&#58;"));

    let html = with("html");
    assert_human("html", &html);
    assert!(!html.contains("<script") && !html.contains("<img"));

    // JUnit: well-formed XML whose every attribute and text holds the line.
    let junit = {
        let mut a = vec!["--format", "junit", "--fail-on", "low"];
        a.extend(top);
        a.push(input);
        run(&a)
    };
    assert_human("junit", &junit);
    let doc = roxmltree::Document::parse(&junit).expect("JUnit is well-formed XML");
    let mut failing = 0;
    for node in doc.descendants() {
        for a in node.attributes() {
            assert!(a.value().chars().count() <= 2 * 1024, "{}", a.name());
            assert!(!a.value().chars().any(forbidden));
        }
        if node.has_tag_name("failure") {
            failing += 1;
        }
    }
    let expected_failing = findings
        .iter()
        .filter(|f| f["severity"].as_str() != Some("info"))
        .count();
    assert_eq!(
        failing, expected_failing,
        "one failing case per finding at or above low"
    );

    // SARIF: every string a viewer shows holds the line.
    let sarif: Value = serde_json::from_str(&with("sarif")).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    for r in results {
        let m = r["message"]["text"].as_str().unwrap();
        assert!(!m.chars().any(forbidden), "{m:.80}");
        assert!(longest_x_run(m) <= CAP);
        assert!(!r["properties"].to_string().contains(&"x".repeat(CAP + 1)));
    }
    assert!(
        results
            .iter()
            .any(|r| r["message"]["text"].as_str().unwrap().contains("\\u{202e}"))
    );

    csv_exports(dir.path(), input);
}

/// A minimal RFC 4180 reader: rows of cells, quotes honoured.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let mut row = vec![];
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

fn csv_exports(dir: &Path, input: &str) {
    let export = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut a = vec!["--format", "json", "--no-progress", "-o"];
        let sink = dir.join(format!("{name}.json"));
        a.push(sink.to_str().unwrap());
        a.extend(["--export", out.to_str().unwrap()]);
        a.extend(extra);
        a.push(input);
        run(&a);
        out
    };
    let safe = export("safe", &[]);
    let raw = export("raw", &["--export-raw"]);
    let cells = |dir: &Path, table: &str| {
        parse_csv(&std::fs::read_to_string(dir.join(format!("{table}.csv"))).unwrap())
    };
    let formula =
        |c: &str| c.starts_with(['=', '+', '-', '@', '\t', '\r']) && c.parse::<f64>().is_err();
    for table in ["clients", "lists", "objects", "findings", "writes"] {
        let rows = cells(&safe, table);
        assert!(rows.len() > 1, "{table} is empty");
        for row in &rows {
            for c in row {
                assert!(!formula(c), "{table}: a live formula {c:.60?}");
                assert!(!c.chars().any(forbidden), "{table}: raw {c:.60?}");
            }
        }
        // The same table, verbatim: the formulas are there, written as text only by the flag.
        let raw_rows = cells(&raw, table);
        assert_eq!(raw_rows.len(), rows.len());
    }
    let raw_agents: Vec<String> = cells(&raw, "lists")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for s in corpus() {
        assert!(raw_agents.contains(&s), "--export-raw changed {s:.40?}");
    }
    let safe_agents: Vec<String> = cells(&safe, "lists")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(safe_agents.contains(&"'=HYPERLINK(\"http://evil.example\",\"x\")".to_owned()));
    // Numeric columns are numbers, never neutralized.
    let lists = cells(&safe, "lists");
    let count = lists[0].iter().position(|h| h == "count").unwrap();
    for row in lists.iter().skip(1) {
        assert!(row[count].parse::<u64>().is_ok(), "{row:?}");
    }

    // NDJSON keeps the raw text.
    let nd = dir.join("nd");
    let sink = dir.join("nd.json");
    run(&[
        "--format",
        "json",
        "--no-progress",
        "-o",
        sink.to_str().unwrap(),
        "--export",
        nd.to_str().unwrap(),
        "--export-format",
        "ndjson",
        input,
    ]);
    let lists = std::fs::read_to_string(nd.join("lists.ndjson")).unwrap();
    let agents: Vec<String> = lists
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["user_agent"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for s in corpus() {
        assert!(agents.contains(&s), "NDJSON changed {s:.40?}");
    }
}

//! Every output format: hostile log text stays text, and request/response bodies (which hold
//! secrets at RequestResponse level) never reach any output.

use crate::common;

const SECRET: &str = "hunter2-TOPSECRET-c2VjcmV0";

fn hostile_log(dir: &std::path::Path) -> std::path::PathBuf {
    let ua = r#"<script>alert(1)</script> [click](http://evil.example) **bold** | x \u001b[31m"#;
    let mut lines = Vec::new();
    for i in 0..30 {
        lines.push(format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"h-{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/secrets/db?token={SECRET}","verb":"update","user":{{"username":"system:serviceaccount:a:evil"}},"userAgent":"{ua}","objectRef":{{"resource":"secrets","namespace":"a","name":"db","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestObject":{{"kind":"Secret","metadata":{{"name":"db","resourceVersion":"{i}"}},"data":{{"password":"{SECRET}"}}}},"responseObject":{{"kind":"Secret","metadata":{{"name":"db","resourceVersion":"{i}"}},"stringData":{{"password":"{SECRET}"}}}},"requestReceivedTimestamp":"2024-05-01T10:00:{:02}.000000Z","stageTimestamp":"2024-05-01T10:00:{:02}.010000Z"}}"#,
            i, i
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

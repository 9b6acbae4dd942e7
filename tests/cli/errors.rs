//! Bad input never panics and never vanishes: skipped lines are counted with file:line,
//! `--strict` makes them fatal, missing inputs exit 2, unreadable directory entries warn.

use crate::common;

use common::*;
use serde_json::Value;

fn good(id: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"u"}},"objectRef":{{"resource":"pods","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.100000Z"}}"#
    )
}

fn mixed(dir: &std::path::Path) -> std::path::PathBuf {
    let lines = [
        good("1"),
        "{not json".to_owned(),
        String::new(),
        good("2"),
        r#"{"hello":"world"}"#.to_owned(),
        "\u{0}\u{1}binary\u{ff}".to_owned(),
        good("3"),
    ];
    let path = dir.join("mixed.jsonl");
    std::fs::write(&path, lines.join("\r\n")).unwrap();
    path
}

#[test]
fn malformed_lines_are_counted_with_their_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = mixed(dir.path());
    let out = run(&["--format", "json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &r["summary"];
    assert_eq!(
        s["requests"], 3,
        "every good line around the bad ones counts"
    );
    assert_eq!(s["skipped"]["total"], 3);
    assert_eq!(s["skipped"]["by_reason"]["invalid-json"], 2);
    assert_eq!(s["skipped"]["by_reason"]["not-an-audit-event"], 1);
    assert_eq!(s["blank_lines"], 1);
    let lines: Vec<u64> = s["skipped"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 5, 6]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped 3 malformed line(s)"), "{stderr}");
    assert!(stderr.contains("mixed.jsonl:2:"), "{stderr}");
}

#[test]
fn strict_stops_at_the_first_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = mixed(dir.path());
    let out = run(&["--strict", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mixed.jsonl:2: invalid JSON"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_inputs_exit_2_and_name_the_input() {
    let out = run(&["/no/such/audit.log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/no/such/audit.log: no such file or directory")
    );
    let out = run(&["/no/such/*.log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no file"));
    let out = run(&[
        "--client",
        "[",
        &fixture("realdata/audit2rbac-demo-v1-2022.jsonl")
            .display()
            .to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unreadable_files_in_a_directory_warn_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.log"), good("1")).unwrap();
    std::os::unix::fs::symlink("/no/such/target", dir.path().join("dangling.log")).unwrap();
    let out = run(&["--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["summary"]["requests"], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("dangling.log"));
    let out = run(&["--strict", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_truncated_gzip_keeps_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let text: Vec<String> = (0..2000).map(|i| good(&i.to_string())).collect();
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.join("\n").as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let path = dir.path().join("cut.log.gz");
    std::fs::write(&path, &gz[..gz.len() * 2 / 3]).unwrap();
    let out = run(&["--format", "json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = r["summary"]["requests"].as_u64().unwrap();
    assert!(requests > 100 && requests < 2000, "{requests}");
    assert!(
        r["summary"]["inputs"][0]["error"]
            .as_str()
            .unwrap()
            .contains("read error after")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut.log.gz: read error"));
    assert_eq!(
        run(&["--strict", path.to_str().unwrap()]).status.code(),
        Some(2)
    );
}

#[test]
fn no_input_and_no_eks_context_is_a_clear_error() {
    // stdin is /dev/null (not data), no INPUT, no kubeconfig: nothing to read.
    let home = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--format", "json"])
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no input") && err.contains("--cluster"),
        "{err}"
    );
    // An empty pipe is an (empty) input.
    let out = run_stdin(&["--format", "json"], b"");
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["summary"]["events"], 0);
    assert_eq!(r["summary"]["coverage"][0], "no audit events were read");
}

/// The harness itself: a test whose tool from outside (moto, the browser) is missing fails,
/// naming what to start; only `AUDIT_SCAN_SKIP_EXTERNAL=1` makes it a printed skip.
#[test]
fn a_missing_external_tool_fails_unless_skipping_was_asked_for() {
    let var = "AUDIT_SCAN_TEST_TOOL_THAT_IS_NEVER_SET";
    let got = std::panic::catch_unwind(|| common::external(var, "nothing to start"));
    if std::env::var("AUDIT_SCAN_SKIP_EXTERNAL").is_ok_and(|v| v == "1") {
        assert_eq!(got.ok().flatten(), None, "an asked-for skip returns None");
    } else {
        let err = got.expect_err("a missing tool must fail the test, not pass it");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains(var) && msg.contains(".ci/run"), "{msg}");
    }
}

//! Hostile and broken input: no panic, a clear message naming the file and line (or byte offset),
//! the right exit code, and every good line around a bad one still counted.

use crate::common;

use std::io::Write;

use common::*;
use serde_json::Value;

fn good(id: &str, t: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"get","user":{{"username":"u"}},"objectRef":{{"resource":"pods","namespace":"a","name":"p","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{t}","stageTimestamp":"{t}"}}"#
    )
}

fn scan_bytes(name: &str, bytes: &[u8]) -> (Option<i32>, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    let out = run(&["--format", "json", p.to_str().unwrap()]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn empty_whitespace_and_binary_files() {
    for (name, bytes) in [
        ("empty.log", b"".to_vec()),
        ("blank.log", b"  \n\n\t\r\n".to_vec()),
    ] {
        let (code, v, _) = scan_bytes(name, &bytes);
        assert_eq!(code, Some(0), "{name}");
        assert_eq!(v["summary"]["events"], 0, "{name}");
        assert_eq!(v["summary"]["skipped"]["total"], 0, "{name}");
    }
    let mut garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    garbage.extend_from_slice(b"\n");
    garbage.extend_from_slice(good("g", "2024-05-01T10:00:00Z").as_bytes());
    let (code, v, err) = scan_bytes("garbage.bin", &garbage);
    assert_eq!(code, Some(0));
    assert_eq!(
        v["summary"]["requests"], 1,
        "the good line after the garbage counts"
    );
    assert!(v["summary"]["skipped"]["total"].as_u64().unwrap() >= 1);
    assert!(err.contains("garbage.bin:1"), "{err}");
}

#[test]
fn invalid_utf8_wrong_types_deep_nesting() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(good("a", "2024-05-01T10:00:00Z").as_bytes());
    bytes.push(b'\n');
    // Invalid UTF-8 inside a string.
    bytes.extend_from_slice(
        br#"{"kind":"Event","stage":"ResponseComplete","verb":"get","user":{"username":"u"#,
    );
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\"}}\n");
    // A number where a string belongs, and a string where a number belongs.
    bytes.extend_from_slice(
        br#"{"kind":"Event","stage":"ResponseComplete","verb":42,"user":{"username":"u"}}"#,
    );
    bytes.push(b'\n');
    bytes.extend_from_slice(br#"{"kind":"Event","stage":"ResponseComplete","verb":"get","responseStatus":{"code":"200"}}"#);
    bytes.push(b'\n');
    // 100,000 levels of nesting.
    bytes.extend_from_slice(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(good("z", "2024-05-01T10:00:01Z").as_bytes());
    let (code, v, _) = scan_bytes("mixed.log", &bytes);
    assert_eq!(code, Some(0));
    assert_eq!(v["summary"]["requests"], 2);
    assert_eq!(v["summary"]["skipped"]["total"], 4);
    let lines: Vec<u64> = v["summary"]["skipped"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4, 5]);
}

#[test]
fn truncated_zstd_and_gzip_followed_by_garbage() {
    let text: Vec<String> = (0..3000)
        .map(|i| good(&i.to_string(), "2024-05-01T10:00:00Z"))
        .collect();
    let text = text.join("\n");
    let zst = zstd::encode_all(text.as_bytes(), 3).unwrap();
    let (code, v, err) = scan_bytes("cut.zst", &zst[..zst.len() / 2]);
    assert_eq!(code, Some(0));
    let n = v["summary"]["requests"].as_u64().unwrap();
    assert!(n > 100 && n < 3000, "{n}");
    assert!(err.contains("cut.zst: read error after"), "{err}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let mut gz = gz.finish().unwrap();
    gz.extend_from_slice(b"this is not a gzip member");
    let (code, v, err) = scan_bytes("tail.gz", &gz);
    assert_eq!(code, Some(0));
    assert_eq!(
        v["summary"]["requests"], 3000,
        "every line before the trailing garbage counts"
    );
    assert!(
        err.contains("tail.gz"),
        "the trailing garbage is reported: {err}"
    );
}

#[test]
fn a_50_mib_line_between_good_lines() {
    let mut bytes = good("a", "2024-05-01T10:00:00Z").into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(format!(r#"{{"kind":"Event","stage":"ResponseComplete","verb":"get","user":{{"username":"u"}},"requestObject":{{"blob":"{}"}}}}"#, "x".repeat(50 << 20)).as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(good("b", "2024-05-01T10:00:01Z").as_bytes());
    let (code, v, _) = scan_bytes("huge.log", &bytes);
    assert_eq!(code, Some(0));
    assert_eq!(v["summary"]["requests"], 3);
    assert_eq!(v["summary"]["skipped"]["total"], 0);
}

#[test]
fn repeated_audit_ids_out_of_order_and_future_times() {
    let lines = [
        good("dup", "2024-05-01T10:05:00Z"),
        good("dup", "2024-05-01T10:00:00Z").replace("ResponseComplete", "ResponseStarted"),
        good("dup", "2024-05-01T10:00:00Z"),
        good("x", "2024-05-01T09:00:00Z"),
        good("y", "2999-01-01T00:00:00Z"),
    ];
    let (code, v, _) = scan_bytes("odd.log", lines.join("\n").as_bytes());
    assert_eq!(code, Some(0));
    // A request is its final-stage event: two ResponseComplete events count twice (the log says so).
    assert_eq!(v["summary"]["requests"], 4);
    assert_eq!(v["summary"]["events_by_stage"]["ResponseStarted"], 1);
    assert_eq!(v["summary"]["first_timestamp"], "2024-05-01T09:00:00Z");
    assert_eq!(v["summary"]["last_timestamp"], "2999-01-01T00:00:00Z");
    // The timeline is sparse: a far-future event does not allocate the minutes in between.
    assert_eq!(v["timeline"].as_array().unwrap().len(), 4);
}

/// One item of the wrong type in an `EventList` costs only itself: as a pretty-printed
/// document file, as a one-line `EventList`, and as a JSON array.
#[test]
fn a_bad_item_in_an_event_list_costs_only_itself() {
    let items = |bad: &str| {
        format!(
            "{},\n{bad},\n{},\n{}",
            good("a", "2024-05-01T10:00:00Z"),
            good("c", "2024-05-01T10:00:01Z"),
            good("d", "2024-05-01T10:00:02Z")
        )
    };
    let wrong_type =
        r#"{"kind":"Event","stage":"ResponseComplete","verb":["get"],"user":{"username":"u"}}"#;
    let not_event = r#"{"kind":"Pod","metadata":{"name":"x"}}"#;
    let cases = [
        (
            "list.json",
            format!(
                "{{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"items\": [\n{}\n  ]\n}}\n",
                items(wrong_type)
            ),
            "invalid-json",
        ),
        (
            "oneline.log",
            format!(
                "{}\n{{\"kind\":\"EventList\",\"items\":[{}]}}\n",
                good("z", "2024-05-01T09:59:59Z"),
                items(not_event).replace('\n', "")
            ),
            "not-an-audit-event",
        ),
        (
            "array.json",
            format!("[{}]", items(wrong_type)),
            "invalid-json",
        ),
    ];
    for (name, text, reason) in cases {
        let (code, v, err) = scan_bytes(name, text.as_bytes());
        let expect = if name == "oneline.log" { 4 } else { 3 };
        assert_eq!(code, Some(0), "{name}: {err}");
        assert_eq!(
            v["summary"]["requests"], expect,
            "{name}: the items around the bad one count"
        );
        assert_eq!(v["summary"]["skipped"]["total"], 1, "{name}");
        assert_eq!(v["summary"]["skipped"]["by_reason"][reason], 1, "{name}");
        let line = if name == "oneline.log" { 2 } else { 1 };
        assert!(
            err.contains(&format!("{name}:{line}")) && err.contains("item 2"),
            "{name}: the message names the file, line and item: {err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, &text).unwrap();
        let strict = run(&["--strict", "--format", "json", p.to_str().unwrap()]);
        assert_eq!(
            strict.status.code(),
            Some(2),
            "{name}: --strict makes it fatal"
        );
    }
}

#[test]
fn a_fifo_as_input() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("audit.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        for i in 0..100 {
            writeln!(f, "{}", good(&i.to_string(), "2024-05-01T10:00:00Z")).unwrap();
        }
    });
    let out = run(&["--format", "json", fifo.to_str().unwrap()]);
    // Checked before the join: a run that never opened the FIFO leaves the writer blocked.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.join().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["requests"], 100);
}

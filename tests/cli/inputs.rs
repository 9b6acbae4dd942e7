//! Every input shape is read, and read the same: gzip, zstd, stdin, EventList (one line, a
//! pretty document, a JSON array), directories and globs, 5 MiB lines, CloudWatch-truncated
//! lines, and --since/--until edges.

use crate::common;

use std::fmt::Write as _;
use std::io::Write;

use common::*;
use serde_json::Value;

const OCP: &str = "realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl";

fn ocp_bytes() -> Vec<u8> {
    std::fs::read(fixture(OCP)).unwrap()
}

/// The parts of a report that must not depend on how the bytes arrived.
fn essence(r: &Value) -> Value {
    let mut r = r.clone();
    r["summary"]["inputs"] = Value::Null;
    r
}

#[test]
fn gzip_zstd_and_stdin_equal_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let plain = report(&[fixture(OCP).to_str().unwrap()]);
    // Two gzip members back to back, as concatenated exports are.
    let raw = ocp_bytes();
    let (a, b) = raw.split_at(
        raw.len() / 2
            + raw[raw.len() / 2..]
                .iter()
                .position(|&c| c == b'\n')
                .unwrap()
            + 1,
    );
    let gz = dir.path().join("audit.log.gz");
    let mut out = Vec::new();
    for part in [a, b] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(part).unwrap();
        out.extend(e.finish().unwrap());
    }
    std::fs::write(&gz, out).unwrap();
    // zstd under a misleading name: detection is by magic bytes.
    let zst = dir.path().join("audit.log");
    std::fs::write(&zst, zstd::encode_all(&raw[..], 3).unwrap()).unwrap();
    for path in [&gz, &zst] {
        let r = report(&[path.to_str().unwrap()]);
        assert_eq!(essence(&r), essence(&plain), "{}", path.display());
    }
    let out = run_stdin(&["--format", "json"], &raw);
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["summary"]["inputs"][0]["name"], "<stdin>");
    assert_eq!(essence(&r), essence(&plain));
    let out = run_stdin(&["--format", "json", "-"], &raw);
    assert_eq!(
        essence(&serde_json::from_slice(&out.stdout).unwrap()),
        essence(&plain)
    );
}

#[test]
fn event_lists_in_every_shape() {
    let dir = tempfile::tempdir().unwrap();
    let plain = report(&[fixture(OCP).to_str().unwrap()]);
    let items: Vec<Value> = events(&fixture(OCP));
    let list = serde_json::json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items});
    let one_line = dir.path().join("list.json");
    std::fs::write(&one_line, serde_json::to_vec(&list).unwrap()).unwrap();
    let pretty = dir.path().join("pretty.json");
    std::fs::write(&pretty, serde_json::to_vec_pretty(&list).unwrap()).unwrap();
    let array = dir.path().join("array.json");
    std::fs::write(&array, serde_json::to_vec_pretty(&items).unwrap()).unwrap();
    for path in [&one_line, &pretty, &array] {
        let r = report(&[path.to_str().unwrap()]);
        assert_eq!(
            r["summary"]["requests"],
            plain["summary"]["requests"],
            "{}",
            path.display()
        );
        assert_eq!(r["clients"], plain["clients"], "{}", path.display());
        assert_eq!(r["lists"], plain["lists"], "{}", path.display());
    }
    assert_eq!(
        report(&[pretty.to_str().unwrap()])["summary"]["inputs"][0]["document"],
        true
    );
}

#[test]
fn directories_and_globs_read_every_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let raw = ocp_bytes();
    let text = String::from_utf8(raw).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::create_dir(dir.path().join("day2")).unwrap();
    std::fs::write(dir.path().join("a.log"), lines[..40].join("\n")).unwrap();
    std::fs::write(dir.path().join("day2/b.log"), lines[40..].join("\n")).unwrap();
    let plain = report(&[fixture(OCP).to_str().unwrap()]);
    let r = report(&[dir.path().to_str().unwrap()]);
    assert_eq!(r["summary"]["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(essence(&r)["clients"], essence(&plain)["clients"]);
    assert_eq!(r["summary"]["requests"], 92);
    let glob = format!("{}/**/*.log", dir.path().display());
    assert_eq!(report(&[&glob])["summary"]["requests"], 92);
}

fn event_line(id: &str, received: &str, done: &str, verb: &str, extra: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/configmaps/c","verb":"{verb}","user":{{"username":"system:serviceaccount:a:b"}},"userAgent":"op/v1","objectRef":{{"resource":"configmaps","namespace":"a","name":"c","apiVersion":"v1"}},"responseStatus":{{"code":200}}{extra},"requestReceivedTimestamp":"{received}","stageTimestamp":"{done}"}}"#
    )
}

#[test]
fn a_five_mib_line_and_a_truncated_line() {
    let dir = tempfile::tempdir().unwrap();
    let big_body = format!(
        r#","requestObject":{{"data":{{"blob":"{}"}}}}"#,
        "x".repeat(5 << 20)
    );
    let mut text = event_line(
        "a1",
        "2024-05-01T10:00:00.000000Z",
        "2024-05-01T10:00:00.010000Z",
        "get",
        &big_body,
    );
    text.push('\n');
    text.push_str(&event_line(
        "a2",
        "2024-05-01T10:00:01.000000Z",
        "2024-05-01T10:00:01.010000Z",
        "update",
        "",
    ));
    text.push('\n');
    // CloudWatch cut this one inside its request body; the timestamps came after and are lost.
    let cut = event_line(
        "a3",
        "2024-05-01T10:00:02.000000Z",
        "2024-05-01T10:00:02.010000Z",
        "update",
        r#","requestObject":{"data":{"k":"vvvv"}}"#,
    );
    let at = cut.find("vvvv").unwrap() + 2;
    text.push_str(&cut[..at]);
    text.push_str("[Truncated...]\n");
    let path = dir.path().join("mixed.jsonl");
    std::fs::write(&path, &text).unwrap();
    assert!(text.len() > 5 << 20);
    let r = report(&[path.to_str().unwrap()]);
    let s = &r["summary"];
    assert_eq!(s["requests"], 3);
    assert_eq!(s["truncated"], 1);
    assert_eq!(s["untimed"], 1);
    assert_eq!(s["skipped"]["total"], 0);
    assert_eq!(
        r["writes"][0]["count"], 2,
        "the salvaged update still counts as a write"
    );
}

#[test]
fn since_until_edges_are_half_open() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..6)
        .map(|i| {
            let t = format!("2024-05-01T10:0{i}:00.000000Z");
            event_line(&format!("e{i}"), &t, &t, "get", "")
        })
        .collect();
    let path = dir.path().join("edges.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let p = path.to_str().unwrap();
    let r = report(&[
        p,
        "--since",
        "2024-05-01T10:01:00Z",
        "--until",
        "2024-05-01T10:04:00Z",
    ]);
    assert_eq!(
        r["summary"]["requests"], 3,
        "10:01, 10:02, 10:03; 10:04 is excluded"
    );
    assert_eq!(r["summary"]["outside_window"], 3);
    assert_eq!(r["summary"]["window"]["since"], "2024-05-01T10:01:00Z");
    // Relative --since counts back from now: a 2024 log has nothing in the last 7 days.
    let out = run(&["--format", "json", p, "--since", "7d"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no request fell inside the window"));
    let out = run(&[p, "--since", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid time 'soon'"));
}

#[test]
fn filters_select_requests() {
    let p = fixture(OCP);
    let p = p.to_str().unwrap();
    let r = report(&[p, "--client", "kube-*", "--verb", "get"]);
    let events = events(&fixture(OCP));
    let want = events
        .iter()
        .filter(|e| is_request(e) && e["verb"] == "get")
        .filter(|e| {
            let ua = e["userAgent"].as_str().unwrap_or("");
            ua.starts_with("kube-apiserver/") || ua.starts_with("kube-scheduler/")
        })
        .count();
    assert_eq!(r["summary"]["requests"].as_u64().unwrap(), want as u64);
    assert_eq!(
        r["summary"]["requests"].as_u64().unwrap() + r["summary"]["filtered_out"].as_u64().unwrap(),
        92
    );
    let r = report(&[
        p,
        "--namespace",
        "openshift-multus",
        "--resource",
        "deployments",
    ]);
    assert_eq!(r["summary"]["requests"], 1);
}

#[test]
fn cloudwatch_exports_to_s3_are_read_line_by_line() {
    // CloudWatch's export to S3 writes `TIMESTAMP MESSAGE` lines, gzipped.
    let dir = tempfile::tempdir().unwrap();
    let plain = report(&[fixture(OCP).to_str().unwrap()]);
    let mut text = String::new();
    for e in events(&fixture(OCP)) {
        let t = e["stageTimestamp"]
            .as_str()
            .unwrap_or("2023-06-12T13:30:00.000000Z");
        let _ = writeln!(text, "{}Z {}", &t[..23], serde_json::to_string(&e).unwrap());
    }
    // A cut record keeps the export's time (inside the sample's covered second, so the span
    // and every rate stay the same).
    text.push_str("2023-06-12T13:30:26.000Z {\"kind\":\"Event\",\"stage\":\"ResponseComplete\",\"verb\":\"get\",\"auditID\":\"cut\",\"user\":{\"username\":\"u\"},\"requestObject\":{\"a\":\"b[Truncated...]\n");
    let path = dir.path().join("000000.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    std::fs::write(&path, e.finish().unwrap()).unwrap();
    let r = report(&[path.to_str().unwrap()]);
    assert_eq!(
        r["summary"]["skipped"]["total"], 0,
        "{}",
        r["summary"]["skipped"]
    );
    assert_eq!(
        r["summary"]["requests"].as_u64().unwrap(),
        plain["summary"]["requests"].as_u64().unwrap() + 1
    );
    assert_eq!(r["summary"]["truncated"], 1);
    assert_eq!(r["summary"]["untimed"], 0);
    assert_eq!(r["lists"], plain["lists"]);
}

/// With two workers or more a plain file is read by the workers, a byte range each; the lines
/// are the same as one reader's: a byte-order mark, a blank line, a line longer than a range,
/// a bad line and no final newline, at ranges of a few KB.
#[test]
fn a_plain_file_read_in_ranges_equals_one_reader() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::read_to_string(generated(dir.path(), 400_000, 21)).unwrap();
    let mut lines: Vec<String> = log.lines().map(str::to_owned).collect();
    let n = lines.len();
    lines.insert(n / 3, String::new());
    lines.insert(n / 2, "{not json".to_owned());
    let long = event_line(
        "long",
        "2024-05-01T10:00:00.000000Z",
        "2024-05-01T10:00:00.010000Z",
        "update",
        &format!(
            r#","requestObject":{{"data":{{"k":"{}"}}}}"#,
            "v".repeat(20_000)
        ),
    );
    lines.insert(2 * n / 3, long);
    let bad_line = lines.iter().position(|l| l == "{not json").unwrap() as u64 + 1;
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend(lines.join("\n").into_bytes());
    let path = dir.path().join("ranges.jsonl");
    std::fs::write(&path, &text).unwrap();
    let name = path.to_str().unwrap();

    let scan = |threads: &str, extra: &[&str]| {
        let mut args = vec!["--format", "json", "--no-progress", "--chunk-size", "4096"];
        args.extend(["--threads", threads]);
        args.extend_from_slice(extra);
        args.push(name);
        run(&args)
    };
    let one = ok_json(&scan("1", &[]), "one reader");
    let row = &one["summary"]["inputs"][0];
    assert_eq!(row["raw_bytes"], text.len() as u64);
    assert_eq!(
        row["bytes"],
        text.len() as u64 - 3,
        "the BOM is not content"
    );
    assert!(row["error"].is_null());
    assert_eq!(one["summary"]["skipped"]["total"], 1);
    assert_eq!(one["summary"]["skipped"]["examples"][0]["line"], bad_line);
    assert_eq!(
        one["summary"]["lines"],
        lines.len() as u64 - 1,
        "all but the blank"
    );
    for threads in ["2", "3"] {
        let r = ok_json(&scan(threads, &[]), threads);
        assert_eq!(r, one, "--threads {threads}");
        let out = scan(threads, &["--strict"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("{name}:{bad_line}: ")), "{stderr}");
    }
}

//! The fast decoder — it reads the members the tables use and skips bodies, managedFields and
//! the rest — gives exactly the events the simd-json path gives, on every line of the real
//! samples and of generated logs (bodies included), and the body bytes it reports are the
//! bodies' own, recomputed here from each line parsed with serde_json.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::common::*;
use audit_scan::decode::decode_in_place;
use audit_scan::decode::event::{DecodePath, decode_skim};
use audit_scan::pipeline::Options;
use audit_scan::synth::{Plant, SynthConfig, generate};
use serde_json::Value;

/// Each line's events and result through the fast path, or `None` when it left the line to
/// simd-json; and through the simd-json path.
fn both(line: &[u8]) -> (Option<String>, String) {
    let mut a = line.to_vec();
    let mut fast = Vec::new();
    let fast = decode_skim(&mut a, |e| fast.push(format!("{e:?}")))
        .map(|r| format!("{:?} {fast:?}", r.map(|d| d.events)));
    let mut b = line.to_vec();
    let mut slow = Vec::new();
    let r = decode_in_place(&mut b, &mut simd_json::Buffers::default(), |e| {
        slow.push(format!("{e:?}"));
    });
    (fast, format!("{:?} {slow:?}", r.map(|d| d.events)))
}

/// Checks every line; returns (lines, lines the fast path read).
fn equal_on(name: &str, text: &[u8]) -> (usize, usize) {
    let (mut lines, mut fast) = (0, 0);
    for (i, line) in text
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
    {
        lines += 1;
        let (f, slow) = both(line);
        if let Some(f) = f {
            fast += 1;
            assert_eq!(f, slow, "{name} line {}", i + 1);
        }
    }
    (lines, fast)
}

fn generated(bodies: bool, bytes: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let cfg = SynthConfig {
        bytes,
        seed: 11,
        bodies,
        plants: vec![Plant::NoopUpdates, Plant::SlowWebhook, Plant::DeprecatedApi],
        ..SynthConfig::default()
    };
    generate(&cfg, &mut out).unwrap();
    out
}

#[test]
fn the_fast_path_reads_every_sample_line_as_simd_json_does() {
    let mut logs: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(fixture("realdata")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut text = Vec::new();
        if path.extension().is_some_and(|e| e == "jsonl") {
            text = std::fs::read(&path).unwrap();
        } else if name.ends_with(".jsonl.gz") {
            flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
                .read_to_end(&mut text)
                .unwrap();
        } else {
            continue;
        }
        logs.push((name, text));
    }
    assert!(logs.len() >= 5, "the samples are there");
    logs.push(("generated".into(), generated(false, 3_000_000)));
    logs.push(("generated --bodies".into(), generated(true, 6_000_000)));
    for (name, text) in &logs {
        let (lines, fast) = equal_on(name, text);
        assert!(lines > 0, "{name}");
        // The simd-json path is for the unusual line; the real samples are read fast nearly
        // whole (the partial-events sample is cut JSON, which neither path reads).
        if !name.contains("partial") {
            assert!(
                fast * 100 >= lines * 95,
                "{name}: only {fast} of {lines} lines took the fast path"
            );
        }
    }
}

/// `line` with JSON whitespace (a space, a tab, `\r`, cycling) after every `{ [ : ,` and before
/// every `} ]` outside strings: valid JSON the API server never writes, so each of the fast
/// path's "no whitespace here" shortcuts takes its slow branch.
fn spaced(line: &[u8]) -> Vec<u8> {
    let (mut out, mut in_string, mut escaped, mut n) = (Vec::new(), false, false, 0usize);
    let mut pad = |out: &mut Vec<u8>| {
        out.push([b' ', b'\t', b'\r'][n % 3]);
        n += 1;
    };
    for &c in line {
        if in_string {
            out.push(c);
            (in_string, escaped) = (escaped || c != b'"', !escaped && c == b'\\');
            continue;
        }
        if matches!(c, b'}' | b']') {
            pad(&mut out);
        }
        out.push(c);
        match c {
            b'"' => in_string = true,
            b'{' | b'[' | b':' | b',' => pad(&mut out),
            _ => {}
        }
    }
    out
}

#[test]
fn whitespace_between_tokens_is_read_as_simd_json_reads_it() {
    let text = generated(true, 400_000);
    let mut lines = 0;
    for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let wide = spaced(line);
        assert!(serde_json::from_slice::<Value>(&wide).is_ok(), "still JSON");
        let (fast, slow) = both(&wide);
        let fast = fast
            .unwrap_or_else(|| panic!("the fast path reads {}", String::from_utf8_lossy(&wide)));
        assert_eq!(fast, slow, "{}", String::from_utf8_lossy(&wide));
        lines += 1;
    }
    assert!(lines > 100, "{lines} lines");
}

/// The compact JSON length of a parsed body: the generator writes bodies the way serde_json
/// does (keys, numbers, `\"` and `\n` escapes), so this is the logged length, found without
/// the decoder.
fn body_len(v: Option<&Value>) -> Option<u64> {
    v.filter(|v| !v.is_null())
        .map(|v| serde_json::to_string(v).unwrap().len() as u64)
}

#[test]
fn body_bytes_are_the_bodies_own() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bodies.jsonl");
    let text = generated(true, 4_000_000);
    std::fs::write(&log, &text).unwrap();

    // Per resource × verb × subresource, and per object, from the lines themselves.
    let mut rows: BTreeMap<(String, String, String), [u64; 3]> = BTreeMap::new();
    let mut objects: BTreeMap<(String, String, String), [u64; 3]> = BTreeMap::new();
    let (mut created, mut deleted, mut creates, mut deletes) = (0u64, 0u64, 0u64, 0u64);
    let mut bodies_total = 0u64;
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).unwrap();
        if v["stage"] != "ResponseComplete" {
            continue;
        }
        let code = v["responseStatus"]["code"].as_u64().unwrap_or(0);
        let verb = v["verb"].as_str().unwrap().to_owned();
        let is_write = matches!(
            verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        );
        let o = &v["objectRef"];
        let s = |k: &str| o[k].as_str().unwrap_or("").to_owned();
        let virtual_create = (s("resource") == "serviceaccounts" && s("subresource") == "token")
            || s("resource").ends_with("reviews");
        if !is_write || !(200..400).contains(&code) || virtual_create {
            continue;
        }
        let (rq, rs) = (
            body_len(v.get("requestObject")),
            body_len(v.get("responseObject")),
        );
        bodies_total += rq.unwrap_or(0) + rs.unwrap_or(0);
        let qualified = if s("apiGroup").is_empty() {
            s("resource")
        } else {
            format!("{}.{}", s("resource"), s("apiGroup"))
        };
        let add = |slot: &mut [u64; 3]| {
            slot[0] += u64::from(rq.is_some() || rs.is_some());
            slot[1] += rq.unwrap_or(0);
            slot[2] += rs.unwrap_or(0);
        };
        add(rows
            .entry((qualified, verb.clone(), s("subresource")))
            .or_default());
        if !s("name").is_empty() {
            add(objects
                .entry((s("resource"), s("namespace"), s("name")))
                .or_default());
        }
        if s("subresource").is_empty() {
            match verb.as_str() {
                "create" => {
                    creates += 1;
                    created += rs.unwrap_or(0);
                }
                "delete" | "deletecollection" => {
                    deletes += 1;
                    deleted += rs.unwrap_or(0);
                }
                _ => {}
            }
        }
    }
    assert!(
        // Most background requests are GETs now (a third of the bytes are bodies, not most).
        bodies_total * 100 > text.len() as u64 * 35,
        "bodies are a large part of the log: {bodies_total} of {}",
        text.len()
    );

    let r = report(&[log.to_str().unwrap()]);
    let mut got: BTreeMap<(String, String, String), [u64; 3]> = BTreeMap::new();
    for w in r["writes"].as_array().unwrap() {
        let key = (
            w["resource"].as_str().unwrap().to_owned(),
            w["verb"].as_str().unwrap().to_owned(),
            w["subresource"].as_str().unwrap().to_owned(),
        );
        let slot = got.entry(key).or_default();
        if let Some(b) = w.get("body_bytes") {
            slot[0] += b["writes"].as_u64().unwrap();
            slot[1] += b["request"].as_u64().unwrap();
            slot[2] += b["response"].as_u64().unwrap();
        }
    }
    rows.retain(|_, v| v[0] > 0);
    got.retain(|_, v| v[0] > 0);
    assert_eq!(got, rows, "writes[].body_bytes per resource × verb");

    let listed = r["objects"].as_array().unwrap();
    assert!(!listed.is_empty());
    for o in listed {
        let key = (
            o["resource"].as_str().unwrap().to_owned(),
            o["namespace"].as_str().unwrap().to_owned(),
            o["name"].as_str().unwrap().to_owned(),
        );
        let want = objects.get(&key).copied().unwrap_or_default();
        let have = o.get("body_bytes").map_or([0; 3], |b| {
            ["writes", "request", "response"].map(|k| b[k].as_u64().unwrap())
        });
        assert_eq!(have, want, "objects[] {key:?}");
    }

    let g = &r["sizing"]["etcd_growth"];
    assert_eq!(g["creates"], creates);
    assert_eq!(g["deletes"], deletes);
    assert_eq!(g["created_bytes"], created);
    assert_eq!(g["deleted_bytes"], deleted);
    assert!(creates > 0 && created > 0, "the log creates objects");
    let span_s = r["summary"]["span_seconds"].as_f64().unwrap();
    let per_hour = g["net_bytes_per_hour"].as_f64().unwrap();
    let want = ((created as f64 - deleted as f64) / span_s * 3600.0).round();
    assert!((per_hour - want).abs() <= 1.0, "{per_hour} vs {want}");
}

#[test]
fn logs_without_bodies_carry_no_byte_fields() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("metadata.jsonl");
    let mut text = Vec::new();
    let cfg = SynthConfig {
        bytes: 1_000_000,
        plants: vec![Plant::SlowWebhook, Plant::DeprecatedApi],
        ..SynthConfig::default()
    };
    generate(&cfg, &mut text).unwrap();
    std::fs::write(&log, text).unwrap();
    let r = report(&[log.to_str().unwrap()]);
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("body_bytes") && !text.contains("etcd_growth"));
}

/// The whole JSON report of `paths` as the decoder `path` reads them (2 threads and small
/// chunks, so chunk edges are crossed).
fn report_by(paths: &[PathBuf], path: DecodePath) -> Value {
    let opts = Options {
        threads: 2,
        chunk_size: 64 << 10,
        decoder: path,
        ..Options::default()
    };
    report_in_process(paths, &opts)
}

fn logs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy();
        if path.is_dir() {
            logs_under(&path, out);
        } else if name.ends_with(".jsonl") || name.ends_with(".jsonl.gz") {
            out.push(path);
        }
    }
}

/// Lines that are not events, or not quite: each must be skipped (or read) alike, with the
/// same reason, message and line number, whichever decoder reads it. Lines 2, 3, 5, 6, 7 and 8
/// are skipped; 1, 4 and 9 are requests.
fn malformed_lines() -> String {
    let body =
        r#"{"kind":"Pod","metadata":{"name":"p","resourceVersion":"5"},"spec":{"a":"x\"}]"}}"#;
    let ev = |id: u32, verb: &str, rest: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a-{id}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/n/pods/p","verb":{verb},"user":{{"username":"system:serviceaccount:n:sa"}},"objectRef":{{"resource":"pods","namespace":"n","name":"p","apiVersion":"v1"}},"responseStatus":{{"code":200}}{rest},"requestReceivedTimestamp":"2024-05-01T10:00:{id:02}.000000Z","stageTimestamp":"2024-05-01T10:00:{id:02}.100000Z"}}"#
        )
    };
    let bodies = format!(r#","requestObject":{body},"responseObject":{body}"#);
    let whole = ev(1, r#""update""#, &bodies);
    [
        whole.clone(),
        // Cut inside the body: the line ends before the object does.
        whole[..whole.len() / 2].to_owned(),
        // A member of the wrong type beside a body.
        ev(3, "7", &bodies),
        // An escaped body key (read by simd-json alone), a repeated one, text after the object.
        ev(4, r#""update""#, &bodies).replace("requestObject", r"request\u004fbject"),
        ev(5, r#""patch""#, &format!(r#","responseObject":{body},"responseObject":{body}"#)),
        format!("{} trailing", ev(6, r#""update""#, &bodies)),
        "not json at all".to_owned(),
        // A latency annotation's value of the wrong type; then good ones.
        ev(
            8,
            r#""delete""#,
            &format!(r#","responseObject":{body},"annotations":{{"apiserver.latency.k8s.io/etcd":5}}"#),
        ),
        ev(
            9,
            r#""create""#,
            &format!(
                r#","responseObject":{body},"annotations":{{"apiserver.latency.k8s.io/etcd":"1.5s","mutation.webhook.admission.k8s.io/round_0_index_0":"{{\"configuration\":\"c\",\"webhook\":\"m.example.io\",\"mutated\":true}}","failed-open.validating.webhook.admission.k8s.io/round_0_index_1":"v.example.io"}}"#
            ),
        ),
        // Raw control characters in strings the tables read (JSON forbids them: simd-json
        // skips the line, so the skim must leave it alone): near a string's start, past its
        // first 16 bytes, and right after a backslash.
        ev(10, "\"get\"", ",\"userAgent\":\"kubectl/v1.29\tlinux\""),
        ev(11, "\"get\"", ",\"userAgent\":\"a-user-agent-longer-than-one-lane\u{1}x\""),
        ev(12, "\"get\"", ",\"userAgent\":\"kubectl\\\u{1}\""),
        // An escaped string the tables read, and a long one: both read by the skim.
        ev(13, "\"get\"", r#","userAgent":"say \"hi\" to a long user agent \u00e9 \\ end""#),
    ]
    .join("\n")
}

#[test]
fn the_fast_path_gives_the_full_parse_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut logs = Vec::new();
    logs_under(&fixture(""), &mut logs);
    assert!(
        logs.iter()
            .filter(|p| p.to_string_lossy().contains("rules"))
            .count()
            >= 28,
        "every rule's fixtures are there"
    );
    for (name, bodies, bytes) in [
        ("metadata.jsonl", false, 3_000_000),
        ("bodies.jsonl", true, 4_000_000),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, generated(bodies, bytes)).unwrap();
        logs.push(p);
    }
    let bad = dir.path().join("malformed.jsonl");
    std::fs::write(&bad, malformed_lines()).unwrap();
    logs.push(bad.clone());

    for log in &logs {
        let paths = std::slice::from_ref(log);
        let reference = report_by(paths, DecodePath::SimdJson);
        assert!(
            reference["summary"]["lines"].as_u64().unwrap() > 0,
            "{}",
            log.display()
        );
        assert_eq!(
            report_by(paths, DecodePath::Skim),
            reference,
            "{} read by the skim",
            log.display()
        );
    }

    // The malformed lines are counted and named by line, not lost.
    let r = report_by(std::slice::from_ref(&bad), DecodePath::Skim);
    let text = serde_json::to_string(&r["summary"]).unwrap();
    let skipped: Vec<u64> = r["summary"]["skipped"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["line"].as_u64().unwrap())
        .collect();
    // The report keeps the first few examples; the count has them all.
    assert!(skipped.len() >= 5, "{text}");
    assert_eq!(
        skipped,
        [2, 3, 5, 6, 7, 8, 10, 11, 12][..skipped.len()],
        "{text}"
    );
    assert_eq!(r["summary"]["skipped"]["total"], 9, "{text}");
    assert_eq!(r["summary"]["requests"], 4, "{text}");
}

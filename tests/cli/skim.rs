//! The fast decoder — it reads the members the tables use and skips bodies, managedFields and
//! the rest — gives exactly the events the simd-json path gives, on every line of the real
//! samples and of generated logs (bodies included), and the body bytes it reports are the
//! bodies' own, recomputed here from each line parsed with serde_json.

use std::collections::BTreeMap;
use std::io::Read;

use crate::common::*;
use audit_scan::decode::decode_in_place;
use audit_scan::decode::event::decode_skim;
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
        if name.ends_with(".jsonl") {
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
        bodies_total * 100 > text.len() as u64 * 60,
        "bodies are most of the log: {bodies_total} of {}",
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

//! The report's numbers equal numbers computed independently here, from the raw lines with
//! serde_json and chrono: request counts, LIST percentiles, per-minute peaks, write counts.

use crate::common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

const REALDATA: &[&str] = &[
    "realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl",
    "realdata/ocp-clo-apiaudit-testdata-audit.jsonl",
    "realdata/audit2rbac-demo-v1beta1-2017.jsonl",
    "realdata/audit2rbac-demo-v1-2022.jsonl",
    "realdata/hkerma-perfspec-derived-partial-events.jsonl.gz",
];

fn sum(rows: &Value, field: &str) -> u64 {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_u64().unwrap())
        .sum()
}

#[test]
fn every_real_sample_is_read_with_no_skip_and_exact_counts() {
    for name in REALDATA {
        let path = fixture(name);
        let events = events(&path);
        let r = report(&[path.to_str().unwrap()]);
        let s = &r["summary"];
        assert_eq!(r["schema"], "audit-scan/report/v1");
        assert_eq!(s["skipped"]["total"], 0, "{name}: {}", s["skipped"]);
        assert_eq!(s["events"].as_u64().unwrap(), events.len() as u64, "{name}");
        let requests = events.iter().filter(|e| is_request(e)).count() as u64;
        assert_eq!(s["requests"].as_u64().unwrap(), requests, "{name}");
        // Stage pairs count once: every request is one final-stage event.
        let by_stage = &s["events_by_stage"];
        let rc = by_stage["ResponseComplete"].as_u64().unwrap_or(0)
            + by_stage["Panic"].as_u64().unwrap_or(0);
        assert_eq!(rc, requests, "{name}");
        assert_eq!(sum(&r["clients"], "requests"), requests, "{name}");
        let writes = events
            .iter()
            .filter(|e| is_request(e) && is_write(e))
            .count() as u64;
        assert_eq!(sum(&r["writes"], "count"), writes, "{name}");
        assert_eq!(sum(&r["clients"], "writes"), writes, "{name}");
        let lists = events
            .iter()
            .filter(|e| is_request(e) && is_plain_list(e))
            .count() as u64;
        assert_eq!(sum(&r["lists"], "count"), lists, "{name}");
        let errors = events
            .iter()
            .filter(|e| is_request(e) && e["responseStatus"]["code"].as_u64().unwrap_or(0) >= 400)
            .count() as u64;
        assert_eq!(sum(&r["errors"], "count"), errors, "{name}");
        // The timeline counts every timed request once.
        let minutes = per_minute(&events, |_| true);
        let timeline: BTreeMap<i64, u64> = r["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    ts(&m["minute"]).unwrap() / 60_000_000,
                    m["requests"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(timeline, minutes, "{name}");
    }
}

#[test]
fn ocp_sample_known_facts() {
    let r = report(&[
        fixture("realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl")
            .to_str()
            .unwrap(),
    ]);
    let s = &r["summary"];
    // PROVENANCE.md: 100 events, 8 ResponseStarted + 92 ResponseComplete, 98 RR + 2 Metadata.
    assert_eq!(s["events"], 100);
    assert_eq!(s["events_by_stage"]["ResponseStarted"], 8);
    assert_eq!(s["requests"], 92);
    assert_eq!(s["events_by_level"]["RequestResponse"], 98);
    assert_eq!(s["server_version"], "1.25");
    assert_eq!(s["consistent_list_from_cache"], false);
    let clients: Vec<&str> = r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert_eq!(
        clients.len(),
        19,
        "PROVENANCE: 19 userAgents, one client each: {clients:?}"
    );
    assert!(clients.contains(&"kubelet"));
    assert!(clients.contains(&"kube-scheduler/scheduler"));
}

/// Per-(userAgent, resource) LIST latencies, exact, from the raw events.
fn list_latencies(events: &[Value]) -> BTreeMap<(String, String), Vec<i64>> {
    let mut m: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for e in events.iter().filter(|e| is_request(e) && is_plain_list(e)) {
        let key = (
            e["userAgent"].as_str().unwrap_or("").to_owned(),
            qualified_resource(e),
        );
        let lat = match (ts(&e["requestReceivedTimestamp"]), ts(&e["stageTimestamp"])) {
            (Some(a), Some(b)) if b >= a => b - a,
            _ => continue,
        };
        m.entry(key).or_default().push(lat);
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}

#[test]
fn generated_log_percentiles_peaks_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = generated(dir.path(), 4_000_000, 7);
    let events = events(&path);
    let r = report(&[path.to_str().unwrap()]);
    assert_eq!(r["summary"]["skipped"]["total"], 0);

    // LIST percentiles per userAgent × resource, within the sketch's 1%.
    let want = list_latencies(&events);
    assert!(want.len() >= 8, "the generator makes several LIST callers");
    let mut checked = 0;
    for row in r["lists"].as_array().unwrap() {
        let key = (
            row["user_agent"].as_str().unwrap().to_owned(),
            row["resource"].as_str().unwrap().to_owned(),
        );
        let lat = &want[&key];
        let l = &row["latency_ms"];
        assert_eq!(l["samples"].as_u64().unwrap(), lat.len() as u64);
        for (q, f) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
            assert_close(
                l[f].as_f64().unwrap(),
                percentile_ms(lat, q),
                &format!("{key:?} {f}"),
            );
        }
        assert_close(
            l["max"].as_f64().unwrap(),
            *lat.last().unwrap() as f64 / 1000.0,
            "max",
        );
        let mean = lat.iter().sum::<i64>() as f64 / lat.len() as f64 / 1000.0;
        assert_close(l["mean"].as_f64().unwrap(), mean, "mean");
        checked += 1;
    }
    assert_eq!(checked, want.len());

    // The kubelet client's per-minute peak (all kubelets are one client).
    let kubelet = per_minute(&events, |e| {
        e["user"]["username"]
            .as_str()
            .unwrap()
            .starts_with("system:node:")
    });
    let (peak_minute, peak) = kubelet
        .iter()
        .max_by_key(|(m, c)| (**c, std::cmp::Reverse(**m)))
        .unwrap();
    let row = r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "kubelet")
        .unwrap();
    assert_eq!(row["peak_qpm"].as_u64().unwrap(), *peak);
    assert_eq!(ts(&row["peak_minute"]).unwrap() / 60_000_000, *peak_minute);
    assert!(
        row["distinct_users"].as_u64().unwrap() > 10,
        "the nodes stay in the evidence"
    );
    let series: u64 = row["per_minute"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(series, kubelet.values().sum::<u64>());

    // Writes per resource × verb.
    let mut writes: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in events.iter().filter(|e| is_request(e) && is_write(e)) {
        let res = qualified_resource(e);
        *writes
            .entry((res, e["verb"].as_str().unwrap().to_owned()))
            .or_default() += 1;
    }
    let mut got: BTreeMap<(String, String), u64> = BTreeMap::new();
    for w in r["writes"].as_array().unwrap() {
        *got.entry((
            w["resource"].as_str().unwrap().to_owned(),
            w["verb"].as_str().unwrap().to_owned(),
        ))
        .or_default() += w["count"].as_u64().unwrap();
    }
    assert_eq!(got, writes);

    // The most-written object's count.
    let mut objects: BTreeMap<String, u64> = BTreeMap::new();
    for e in events.iter().filter(|e| is_request(e) && is_write(e)) {
        let o = &e["objectRef"];
        if let Some(name) = o["name"].as_str() {
            let key = format!(
                "{}/{}/{}",
                o["resource"].as_str().unwrap(),
                o["namespace"].as_str().unwrap_or(""),
                name
            );
            *objects.entry(key).or_default() += 1;
        }
    }
    let top = r["objects"][0]["writes"].as_u64().unwrap();
    assert_eq!(top, *objects.values().max().unwrap());
    assert_eq!(r["summary"]["object_table"]["max_count_error"], 0);
}

#[path = "numbers/recompute.rs"]
mod recompute;

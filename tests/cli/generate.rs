//! `audit-scan generate`: the default background looks like a healthy cluster (heartbeats at
//! their upstream periods, no finding at medium or above), every plant fires in the top 3 at
//! the default rate, `--duration` and timed plants bound the log and the plant in time, and
//! APF rejections are 429s without a reason, distinct from PodDisruptionBudget 429s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{events, report, run, ts};

/// Each plant and the rule its help names (from the rules' docs: `audit-scan rules ASxxx`).
const PLANTS: &[(&str, &str)] = &[
    ("reconcile-loop", "AS201"),
    ("noop-updates", "AS202"),
    ("write-heavy", "AS203"),
    ("expensive-list", "AS101"),
    ("relist-storm", "AS102"),
    ("conflict-storm", "AS204"),
    ("fighting-writers", "AS205"),
    ("throttled", "AS301"),
    ("client-throttling", "AS302"),
    ("missing-object", "AS303"),
    ("slow-requests", "AS501"),
    ("deprecated-api", "AS401"),
    ("slow-webhook", "AS502"),
];

const START: &str = "2024-05-01T10:00:00Z";

fn generate(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut a = vec!["generate", "-o", path.to_str().unwrap()];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(
        out.status.success(),
        "generate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

#[test]
fn the_default_background_has_no_finding_at_medium_or_above() {
    let dir = tempfile::tempdir().unwrap();
    let log = generate(dir.path(), "bg.jsonl", &["--size", "200MB"]);
    let r = report(&[log.to_str().unwrap()]);
    let loud: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("medium" | "high" | "critical")))
        .collect();
    assert!(loud.is_empty(), "findings at medium or above: {loud:#?}");
}

/// Seconds between successive writes (updates and patches) of each object of `resource`.
fn intervals(events: &[Value], resource: &str) -> BTreeMap<String, Vec<f64>> {
    let mut times: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in events.iter().filter(|e| {
        e["stage"] == "ResponseComplete"
            && e["objectRef"]["resource"] == resource
            && matches!(e["verb"].as_str(), Some("update" | "patch"))
    }) {
        let o = &e["objectRef"];
        let key = format!(
            "{}/{}/{}",
            o["namespace"].as_str().unwrap_or(""),
            o["name"].as_str().unwrap_or(""),
            o["subresource"].as_str().unwrap_or("")
        );
        times
            .entry(key)
            .or_default()
            .push(ts(&e["stageTimestamp"]).unwrap());
    }
    times
        .into_iter()
        .map(|(k, mut t)| {
            t.sort_unstable();
            let gaps = t.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e6).collect();
            (k, gaps)
        })
        .collect()
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn heartbeats_keep_their_upstream_periods_whatever_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    for rate in ["40", "600"] {
        let log = generate(
            dir.path(),
            "hb.jsonl",
            &["--duration", "12m", "--rate", rate, "--nodes", "8"],
        );
        let evs = events(&log);
        let leases = intervals(&evs, "leases");
        let node_leases: Vec<_> = leases
            .iter()
            .filter(|(k, _)| k.starts_with("kube-node-lease/"))
            .collect();
        assert_eq!(node_leases.len(), 8, "one Lease per node at --rate {rate}");
        for (k, gaps) in &node_leases {
            let m = median(gaps);
            assert!(
                (10.0..10.1).contains(&m),
                "{k} renewed every {m} s at --rate {rate}, not 10 s"
            );
        }
        let leaders: Vec<_> = leases
            .iter()
            .filter(|(k, _)| k.starts_with("kube-system/kube-"))
            .collect();
        assert_eq!(
            leaders.len(),
            2,
            "the scheduler's and controller-manager's leader Leases"
        );
        for (k, gaps) in leaders {
            let m = median(gaps);
            assert!(
                (2.0..2.05).contains(&m),
                "{k} renewed every {m} s at --rate {rate}, not 2 s"
            );
        }
        let status = intervals(&evs, "nodes");
        assert_eq!(status.len(), 8, "every node patches its status");
        for (k, gaps) in &status {
            assert!(
                gaps.iter().all(|g| (300.0..301.0).contains(g)),
                "{k}: status every 5 min, got {gaps:?}"
            );
        }
    }
}

#[test]
fn every_plant_fires_in_the_top_three_at_the_default_rate() {
    let dir = tempfile::tempdir().unwrap();
    let misses: Vec<String> = std::thread::scope(|s| {
        let jobs: Vec<_> = PLANTS
            .chunks(4)
            .map(|chunk| {
                let dir = dir.path();
                s.spawn(move || {
                    let mut misses = Vec::new();
                    for (plant, rule) in chunk {
                        let log = generate(
                            dir,
                            &format!("{plant}.jsonl"),
                            &["--duration", "8m", "--plant", plant],
                        );
                        let r = report(&[log.to_str().unwrap()]);
                        let top: Vec<&str> = findings(&r)
                            .iter()
                            .take(3)
                            .map(|f| f["rule"].as_str().unwrap())
                            .collect();
                        if !top.contains(rule) {
                            misses.push(format!("{plant}: {rule} not in the top 3 {top:?}"));
                        }
                        std::fs::remove_file(&log).unwrap();
                    }
                    misses
                })
            })
            .collect();
        jobs.into_iter().flat_map(|j| j.join().unwrap()).collect()
    });
    assert!(misses.is_empty(), "{misses:#?}");
}

#[test]
fn duration_bounds_the_log_and_a_timed_plant_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let log = generate(
        dir.path(),
        "timed.jsonl",
        &[
            "--duration",
            "20m",
            "--rate",
            "20",
            "--nodes",
            "5",
            "--start",
            START,
            "--plant",
            "reconcile-loop@10m+5m",
        ],
    );
    let evs = events(&log);
    let start = ts(&Value::from(START)).unwrap();
    let minute = 60_000_000;
    let stages: Vec<i64> = evs
        .iter()
        .map(|e| ts(&e["stageTimestamp"]).unwrap())
        .collect();
    let (first, last) = (*stages.iter().min().unwrap(), *stages.iter().max().unwrap());
    assert!(
        first >= start && first < start + 1_000_000,
        "the log starts at --start: {first}"
    );
    assert!(
        last < start + 20 * minute && last > start + 20 * minute - 2_000_000,
        "the log spans 20 min: {last}"
    );
    let planted: Vec<i64> = evs
        .iter()
        .filter(|e| e["objectRef"]["name"] == "app-state")
        .map(|e| ts(&e["stageTimestamp"]).unwrap())
        .collect();
    // One update a second from 10 min in, for 5 min.
    assert_eq!(planted.len(), 300, "a write a second for 5 minutes");
    assert!(
        planted
            .iter()
            .all(|t| (start + 10 * minute..start + 15 * minute).contains(t))
    );
    let bad = run(&["generate", "--plant", "reconcile-loop@2x", "--size", "1KB"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("reconcile-loop@2x"));
}

#[test]
fn apf_rejections_carry_no_reason_and_pdb_refusals_do() {
    let dir = tempfile::tempdir().unwrap();
    let log = generate(
        dir.path(),
        "apf.jsonl",
        &["--duration", "10m", "--plant", "throttled"],
    );
    let evs = events(&log);
    let rejected: Vec<&Value> = evs
        .iter()
        .filter(|e| e["responseStatus"]["code"] == 429)
        .collect();
    let (apf, pdb): (Vec<&Value>, Vec<&Value>) = rejected
        .iter()
        .partition(|e| e["responseStatus"].get("reason").is_none());
    let throttled = apf
        .iter()
        .filter(|e| e["userAgent"].as_str().unwrap().starts_with("ci-deployer/"))
        .count();
    assert!(
        throttled > 150,
        "a third of ci-deployer's GETs a second for 10 min: {throttled}"
    );
    assert!(
        !pdb.is_empty(),
        "evictions refused by a PodDisruptionBudget"
    );
    for e in &pdb {
        assert_eq!(e["objectRef"]["subresource"], "eviction");
        assert_eq!(e["responseStatus"]["reason"], "TooManyRequests");
    }
    let r = report(&[log.to_str().unwrap()]);
    assert_eq!(
        r["sizing"]["apf_rejected_requests"].as_u64().unwrap(),
        apf.len() as u64
    );
}

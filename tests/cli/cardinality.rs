//! Millions of distinct keys must not mean millions of rows: past the caps
//! (`aggregate::MAX_IDENTITIES`, `MAX_CLIENTS`, `MAX_PODS_PER_CLIENT`) new userAgents, users,
//! clients and pods fold into `(other …)` rows, the totals stay exact, and the report says so.

use crate::common;

use std::io::Write;

use audit_scan::aggregate::{MAX_CLIENTS, MAX_IDENTITIES, MAX_LIST_ROWS};
use serde_json::Value;

#[test]
fn distinct_user_agents_fold_with_exact_totals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("distinct.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    // Enough that, however the chunks split between two workers, one sees over the cap.
    let n = 2 * MAX_IDENTITIES + 20_000;
    for i in 0..n {
        let (m, s) = ((i / 1000) % 60, (i / 17) % 60);
        // Every request: its own userAgent (so its own client) and user, one pod of 1,000 per
        // shared controller identity, LISTs and updates.
        let (verb, uri) = if i % 2 == 0 {
            ("list", "/api/v1/namespaces/a/pods")
        } else {
            ("update", "/api/v1/namespaces/a/configmaps/c")
        };
        writeln!(
            f,
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"d-{i}","stage":"ResponseComplete","requestURI":"{uri}","verb":"{verb}","user":{{"username":"system:serviceaccount:a:sa-{i}","extra":{{"authentication.kubernetes.io/pod-name":["p-{}"]}}}},"userAgent":"tool-{i}/v1.0","objectRef":{{"resource":"{}","namespace":"a","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2024-05-01T10:{m:02}:{s:02}.000000Z","stageTimestamp":"2024-05-01T10:{m:02}:{s:02}.002000Z"}}"#,
            i % 1000,
            if verb == "list" { "pods" } else { "configmaps" }
        )
        .unwrap();
    }
    f.flush().unwrap();
    drop(f);

    for threads in ["1", "2"] {
        let r: Value =
            common::report(&["--threads", threads, "--top", "5", path.to_str().unwrap()]);
        assert_eq!(r["summary"]["requests"], n as u64);
        let clients = r["clients"].as_array().unwrap();
        let t: usize = threads.parse().unwrap();
        assert!(
            clients.len() <= MAX_CLIENTS * t + t,
            "{} clients",
            clients.len()
        );
        let total: u64 = clients
            .iter()
            .map(|c| c["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(total, n as u64, "requests lost in folding");
        assert!(clients.iter().any(|c| c["client"] == "(other clients)"));
        let lists = r["lists"].as_array().unwrap();
        let listed: u64 = lists.iter().map(|l| l["count"].as_u64().unwrap()).sum();
        assert_eq!(listed, n.div_ceil(2) as u64);
        assert!(
            lists.len() <= MAX_LIST_ROWS * t + 1,
            "{} list rows",
            lists.len()
        );
        assert!(
            lists
                .iter()
                .any(|l| l["user_agent"] == "(other userAgents)")
        );
        let folded = r["summary"]["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c.as_str().unwrap().contains("folded"))
            .expect("the report says it folded");
        let count: u64 = folded
            .as_str()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Each worker keeps its first MAX_IDENTITIES pairs; the rest were folded.
        assert!(
            count >= (n - MAX_IDENTITIES * t) as u64 && count <= (n - MAX_IDENTITIES) as u64,
            "{count}"
        );
    }
    // Filtered, the cluster scope keeps one small row per client under the same cap, and its
    // totals stay exact: every request counts, the updates (odd i) are selected.
    let r = common::report(&[
        "--threads",
        "2",
        "--top",
        "5",
        "--verb",
        "update",
        path.to_str().unwrap(),
    ]);
    let s = &r["summary"]["selection"];
    assert_eq!(s["cluster_requests"], n as u64);
    assert_eq!(s["requests"], (n / 2) as u64);
    assert_eq!(s["cluster_writes"], (n / 2) as u64);
    assert!(s["cluster_clients"].as_u64().unwrap() <= (MAX_CLIENTS * 2 + 2) as u64);
}

/// A week-long log with 300 clients: dense per-minute series for all of them would be three
/// million minutes. The report keeps the 20 busiest by requests, then the highest peaks per
/// minute, within `MAX_SERIES_CELLS`; the rest say `omitted` and keep exact peaks.
#[test]
fn week_long_series_stay_within_the_budget() {
    use audit_scan::build::native::{MAX_SERIES_CELLS, MIN_SERIES_CLIENTS};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("week.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut n = 0;
    let mut line = |f: &mut std::io::BufWriter<std::fs::File>, i: usize, t: &str| {
        n += 1;
        writeln!(
            f,
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"w-{n}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/configmaps/c","verb":"get","user":{{"username":"system:serviceaccount:ops:op-{i}"}},"userAgent":"op-{i:03}/v1.0","objectRef":{{"resource":"configmaps","namespace":"a","name":"c","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{t}","stageTimestamp":"{t}"}}"#
        )
        .unwrap();
    };
    let burst = |i: usize| 1 + (i * 37) % 97;
    for i in 0..300 {
        line(&mut f, i, "2024-05-01T00:00:00.000000Z");
        line(&mut f, i, "2024-05-08T00:00:00.000000Z");
        if i < MIN_SERIES_CLIENTS {
            // The busiest by requests, one a minute: peak 1.
            for m in 0..200 {
                line(
                    &mut f,
                    i,
                    &format!("2024-05-02T{:02}:{:02}:30.000000Z", m / 60, m % 60),
                );
            }
        } else {
            // A burst inside one minute: the client's peak.
            for s in 0..burst(i) {
                let m = i % 60;
                line(
                    &mut f,
                    i,
                    &format!("2024-05-03T{:02}:{m:02}:{:02}.{s:06}Z", i / 60, s % 60),
                );
            }
        }
    }
    f.flush().unwrap();
    drop(f);

    let minutes = 7 * 24 * 60 + 1;
    let want_kept = (MAX_SERIES_CELLS / minutes) as usize;
    let mut kept_sets = Vec::new();
    for threads in ["1", "2"] {
        let r = common::report(&["--threads", threads, path.to_str().unwrap()]);
        let clients = r["clients"].as_array().unwrap();
        assert_eq!(clients.len(), 300);
        let index = |c: &Value| -> usize {
            let user = c["top_users"][0]["name"].as_str().unwrap();
            user.rsplit('-').next().unwrap().parse().unwrap()
        };
        // Peaks are exact for every client, kept or not.
        for c in clients {
            let i = index(c);
            let (requests, peak) = if i < MIN_SERIES_CLIENTS {
                (202, 1)
            } else {
                (2 + burst(i) as u64, burst(i) as u64)
            };
            assert_eq!(c["requests"], requests, "{c}");
            assert_eq!(c["peak_qpm"], peak, "{}", c["client"]);
        }
        // Expected: the 20 busiest, then by peak, requests and name until the budget.
        let mut rest: Vec<&Value> = clients
            .iter()
            .filter(|c| index(c) >= MIN_SERIES_CLIENTS)
            .collect();
        rest.sort_by(|a, b| {
            let k = |c: &Value| (c["peak_qpm"].as_u64(), c["requests"].as_u64());
            k(b).cmp(&k(a))
                .then_with(|| a["client"].as_str().cmp(&b["client"].as_str()))
        });
        let mut want: Vec<String> = (0..MIN_SERIES_CLIENTS)
            .map(|i| {
                let c = clients.iter().find(|c| index(c) == i).unwrap();
                c["client"].as_str().unwrap().to_owned()
            })
            .chain(
                rest.iter()
                    .take(want_kept - MIN_SERIES_CLIENTS)
                    .map(|c| c["client"].as_str().unwrap().to_owned()),
            )
            .collect();
        want.sort();
        let mut kept = Vec::new();
        for c in clients {
            let s = &c["per_minute"];
            if s["omitted"] == true {
                assert_eq!(s["counts"].as_array().unwrap().len(), 0);
                assert_eq!(s["start"], "2024-05-01T00:00:00Z");
            } else {
                let counts = s["counts"].as_array().unwrap();
                assert_eq!(counts.len() as u64, minutes);
                let sum: u64 = counts.iter().map(|n| n.as_u64().unwrap()).sum();
                assert_eq!(c["requests"].as_u64(), Some(sum));
                kept.push(c["client"].as_str().unwrap().to_owned());
            }
        }
        kept.sort();
        assert_eq!(kept.len(), want_kept);
        assert_eq!(kept, want);
        let note = format!("per-minute series kept for {want_kept} of 300 clients");
        assert!(
            r["summary"]["coverage"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c.as_str().unwrap().contains(&note)),
            "{}",
            r["summary"]["coverage"]
        );
        kept_sets.push(kept);
    }
    assert_eq!(kept_sets[0], kept_sets[1]);
}

/// AS302 judges every client, kept series or not: over a 31-day span the report keeps 44
/// series (20 busiest by requests, then the highest peaks), and a client flat at client-go's
/// 300 requests/min for 5 minutes is neither — it is still found.
#[test]
fn a_throttled_client_is_found_when_its_series_is_omitted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("month.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut n = 0u64;
    let mut line = |f: &mut std::io::BufWriter<std::fs::File>, who: &str, t: &str| {
        n += 1;
        writeln!(
            f,
            r#"{{"kind":"Event","level":"Metadata","auditID":"m-{n}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/pods/p","verb":"get","user":{{"username":"system:serviceaccount:ops:{who}"}},"userAgent":"{who}/v1","objectRef":{{"resource":"pods","namespace":"a","name":"p"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{t}","stageTimestamp":"{t}"}}"#
        )
        .unwrap();
    };
    line(&mut f, "bookend", "2024-05-01T00:00:00.000000Z");
    line(&mut f, "bookend", "2024-05-31T23:59:00.000000Z");
    let burst = |f: &mut std::io::BufWriter<std::fs::File>,
                 line: &mut dyn FnMut(&mut std::io::BufWriter<std::fs::File>, &str, &str),
                 who: &str,
                 day: usize,
                 minute: usize,
                 k: usize| {
        for i in 0..k {
            let t = format!("2024-05-{day:02}T10:{minute:02}:{:02}.{i:06}Z", i % 60);
            line(f, who, &t);
        }
    };
    for c in 0..20 {
        burst(&mut f, &mut line, &format!("heavy-{c:02}"), 2, c, 1600);
    }
    for c in 0..30 {
        burst(&mut f, &mut line, &format!("peaky-{c:02}"), 3, c, 310);
    }
    for m in 0..5 {
        burst(&mut f, &mut line, "flat", 4, m, 300);
    }
    f.flush().unwrap();
    drop(f);

    let r = common::report(&["--threads", "2", path.to_str().unwrap()]);
    let clients = r["clients"].as_array().unwrap();
    let kept = clients
        .iter()
        .filter(|c| c["per_minute"]["omitted"] == false)
        .count();
    assert_eq!(
        kept as u64,
        audit_scan::build::native::MAX_SERIES_CELLS / (31 * 24 * 60)
    );
    let flat = clients
        .iter()
        .find(|c| c["top_users"][0]["name"] == "system:serviceaccount:ops:flat")
        .unwrap();
    assert_eq!(
        flat["per_minute"]["omitted"], true,
        "the flat client's series is omitted"
    );
    assert_eq!(flat["peak_qpm"], 300);
    let as302: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "AS302")
        .collect();
    assert_eq!(as302.len(), 1, "{as302:?}");
    assert_eq!(as302[0]["client"], flat["client"]);
    assert_eq!(as302[0]["evidence"]["value"], 5.0);
}

//! `--follow --cluster` against the CloudWatch emulator (moto's server): events put while
//! following appear in the next refreshes, two events in one millisecond at a poll edge count
//! once each, throttled and failed polls are retried with nothing lost, the final report after
//! SIGINT equals a batch scan of the same events, and a second SIGINT exits at once. Expected
//! counts come from the events the test put.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::follow::{Following, event, generate_planted, per_client, requests, without_follow};
use common::moto::{self, Record};

const A1: &str = "kube-apiserver-audit-a1";
const B2: &str = "kube-apiserver-audit-b2";

/// A new cluster's log group with two audit streams and one of another component; its name.
fn cluster(endpoint: &str, name: &str) -> (String, String) {
    let cluster = moto::unique(name);
    let group = format!("/aws/eks/{cluster}/cluster");
    let other = (
        "kube-controller-manager-0a1b".to_owned(),
        vec![(
            moto::now_ms() - 20_000,
            "I1201 leaderelection.go:250] attempting".into(),
        )],
    );
    moto::load(
        endpoint,
        &group,
        &[(A1.into(), Vec::new()), (B2.into(), Vec::new()), other],
    );
    (cluster, group)
}

/// `n` events of `client`, `back` before now, a millisecond apart, as CloudWatch records.
fn records(client: &str, n: usize, back: chrono::Duration) -> Vec<Record> {
    let t0 = chrono::Utc::now() - back;
    (0..n)
        .map(|i| {
            let t = t0 + chrono::Duration::milliseconds(i as i64);
            (t.timestamp_millis(), event(client, i, t))
        })
        .collect()
}

/// `audit-scan --follow --format json` of `cluster` through `endpoint`, plus `args`.
fn follow(endpoint: &str, cluster: &str, args: &[&str]) -> Following {
    let mut cmd = common::bin();
    moto::aws_env(&mut cmd);
    let mut all = vec![
        "--format",
        "json",
        "--cluster",
        cluster,
        "--endpoint-url",
        endpoint,
    ];
    all.extend_from_slice(args);
    Following::spawn(cmd, &all)
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn refresh(doc: &Value) -> u64 {
    doc["summary"]["follow"]["refresh"].as_u64().unwrap()
}

#[test]
fn events_put_while_following_appear_in_the_next_refreshes() {
    let Some(ep) = moto::endpoint() else { return };
    let (cluster, group) = cluster(&ep, "follow-cw-put");
    moto::put(
        &ep,
        &group,
        A1,
        &records("early", 5, chrono::Duration::seconds(30)),
    );
    let mut f = follow(&ep, &cluster, &[]);
    let first = f.wait_for("the events put before", |d| requests(d) == 5);
    let c = &first["summary"]["cloudwatch"];
    assert_eq!(c["streams"], 2, "audit streams only: {c}");
    moto::put(
        &ep,
        &group,
        A1,
        &records("later", 7, chrono::Duration::seconds(2)),
    );
    moto::put(
        &ep,
        &group,
        B2,
        &records("other", 3, chrono::Duration::seconds(1)),
    );
    let before = refresh(&f.wait_for("a refresh after the put", |_| true));
    let d = f.wait_for("the events put while following", |d| requests(d) == 15);
    // The poll runs just before each refresh: one in flight during the put may miss them, the
    // next one cannot.
    assert!(
        refresh(&d) <= before + 2,
        "seen at refresh {} after the put at refresh {before}",
        refresh(&d)
    );
    assert_eq!(
        per_client(&d),
        counts(&[("early", 5), ("later", 7), ("other", 3)])
    );
    let lag = d["summary"]["follow"]["lag_ms"].as_i64().unwrap();
    assert!((0..60_000).contains(&lag), "lag {lag} ms");
    let c = &d["summary"]["cloudwatch"];
    assert_eq!(
        c["events_fetched"].as_u64(),
        Some(15 + c["duplicates_dropped"].as_u64().unwrap()),
        "{c}"
    );
    assert!(c["polls"].as_u64().unwrap() >= 2, "{c}");
    let (lines, code, err) = f.interrupt();
    assert_eq!(code, 0, "{err}");
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    common::assert_valid_report(&last);
    assert_eq!(last["summary"]["follow"]["final"], true);
    assert_eq!(requests(&last), 15);
    let inputs: Vec<&str> = last["summary"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        inputs,
        [
            format!("cloudwatch:{group}/{A1}"),
            format!("cloudwatch:{group}/{B2}")
        ]
    );
}

#[test]
fn two_events_in_one_millisecond_at_a_poll_edge_count_once_each() {
    let Some(ep) = moto::endpoint() else { return };
    let (cluster, group) = cluster(&ep, "follow-cw-edge");
    let at = chrono::Utc::now() - chrono::Duration::seconds(10);
    let ms = at.timestamp_millis();
    moto::put(&ep, &group, A1, &[(ms, event("first", 0, at))]);
    let mut f = follow(&ep, &cluster, &[]);
    // A poll read it: the stream's next query starts at its millisecond.
    let d = f.wait_for("the first event", |d| requests(d) == 1);
    let polled = refresh(&d);
    moto::put(&ep, &group, A1, &[(ms, event("second", 0, at))]);
    let d = f.wait_for("the second event, and two polls more", |d| {
        requests(d) >= 2 && refresh(d) >= polled + 3
    });
    assert_eq!(per_client(&d), counts(&[("first", 1), ("second", 1)]));
    let c = &d["summary"]["cloudwatch"];
    assert!(
        c["duplicates_dropped"].as_u64().unwrap() >= 2,
        "the edge millisecond is read again on every poll and dropped: {c}"
    );
    let (lines, code, err) = f.interrupt();
    assert_eq!(code, 0, "{err}");
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(per_client(&last), counts(&[("first", 1), ("second", 1)]));
    assert_eq!(requests(&last), 2);
}

#[test]
fn throttled_and_failed_polls_are_retried_and_nothing_is_lost() {
    let Some(ep) = moto::endpoint() else { return };
    let (cluster, group) = cluster(&ep, "follow-cw-faults");
    moto::put(
        &ep,
        &group,
        A1,
        &records("a", 40, chrono::Duration::seconds(40)),
    );
    moto::put(
        &ep,
        &group,
        B2,
        &records("b", 40, chrono::Duration::seconds(30)),
    );
    let (proxy, faults) = moto::faulty_proxy(&ep);
    // Pages of 5: many calls, so the proxy's every 4th (throttled) and 7th (a 500) meet polls.
    let mut f = follow(
        &proxy,
        &cluster,
        &["--page-limit", "5", "--max-attempts", "12", "--rate", "50"],
    );
    f.wait_for("the first 80", |d| requests(d) == 80);
    moto::put(
        &ep,
        &group,
        A1,
        &records("c", 20, chrono::Duration::seconds(1)),
    );
    let d = f.wait_for("the 20 put while following", |d| requests(d) == 100);
    assert_eq!(per_client(&d), counts(&[("a", 40), ("b", 40), ("c", 20)]));
    let c = &d["summary"]["cloudwatch"];
    assert!(faults.load(Ordering::SeqCst) > 3);
    assert!(c["throttles"].as_u64().unwrap() > 0, "{c}");
    assert!(
        c["retries"].as_u64().unwrap() > c["throttles"].as_u64().unwrap(),
        "5xx are retried too: {c}"
    );
    let (lines, code, err) = f.interrupt();
    assert_eq!(code, 0, "{err}");
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(requests(&last), 100);
}

/// Events read, duplicates aside.
fn read(doc: &Value) -> u64 {
    let c = &doc["summary"]["cloudwatch"];
    c["events_fetched"].as_u64().unwrap() - c["duplicates_dropped"].as_u64().unwrap()
}

/// The report minus what differs between following and a download of the same events: the
/// follow row and the calls' counters.
fn comparable(mut doc: Value) -> Value {
    doc = without_follow(doc);
    doc["summary"].as_object_mut().unwrap().remove("cloudwatch");
    doc
}

#[test]
fn the_final_report_after_sigint_equals_a_batch_scan_of_the_same_events() {
    let Some(ep) = moto::endpoint() else { return };
    let (cluster, group) = cluster(&ep, "follow-cw-final");
    // Ten minutes of traffic with planted problems, ending before now.
    let start = (chrono::Utc::now() - chrono::Duration::minutes(14))
        .format("%Y-%m-%dT%H:%M:00Z")
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("generated.jsonl");
    generate_planted(&start, "2MB", &all);
    // Only what lies between --since and now: all of it is read, by both.
    let from = common::ts(&Value::String(start.clone())).unwrap() / 1000;
    let cutoff = moto::now_ms() - 5_000;
    let recs: Vec<Record> = std::fs::read_to_string(&all)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let ms = common::ts(&v["stageTimestamp"]).unwrap() / 1000;
            (from..cutoff).contains(&ms).then(|| (ms, l.to_owned()))
        })
        .collect();
    let (a, b): (Vec<_>, Vec<_>) = recs
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let strip = |v: Vec<(usize, Record)>| v.into_iter().map(|(_, r)| r).collect::<Vec<_>>();
    let (a, b) = (strip(a), strip(b));
    moto::put(&ep, &group, A1, &a);
    let since = ["--since", start.as_str()];
    let mut f = follow(
        &ep,
        &cluster,
        &["--window", "1h", "--fail-on", "medium", since[0], since[1]],
    );
    f.wait_for("the first stream", |d| read(d) == a.len() as u64);
    moto::put(&ep, &group, B2, &b);
    f.wait_for("the second stream in a refresh", |d| {
        read(d) == recs.len() as u64
    });
    let (out, code, err) = f.interrupt();
    let last = comparable(serde_json::from_str(out.last().unwrap()).unwrap());

    let mut cmd = common::bin();
    let batch_out = moto::aws_env(&mut cmd)
        .args([
            "--format",
            "json",
            "--no-progress",
            "--threads",
            "1",
            "--fail-on",
            "medium",
        ])
        .args([
            "--cluster",
            &cluster,
            "--endpoint-url",
            &ep,
            since[0],
            since[1],
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let batch: Value = serde_json::from_slice(&batch_out.stdout).unwrap();
    assert!(
        !batch["findings"].as_array().unwrap().is_empty(),
        "the plants make findings"
    );
    // Requests are counted by their own time (received), inside the window.
    let inside = recs
        .iter()
        .filter(|(_, m)| {
            let v: Value = serde_json::from_str(m).unwrap();
            v["stage"] == "ResponseComplete"
                && common::ts(&v["requestReceivedTimestamp"]).unwrap() / 1000 >= from
        })
        .count() as u64;
    assert_eq!(batch["summary"]["requests"].as_u64(), Some(inside));
    assert_eq!(
        last,
        comparable(batch),
        "the final report differs from the batch scan"
    );
    assert_eq!(Some(code), batch_out.status.code(), "{err}");
    assert_eq!(code, 1);
}

/// A proxy in front of moto that, once `stall` is set, holds every FilterLogEvents call for a
/// minute, counting them in `held`.
fn stalling_proxy(upstream: &str, stall: Arc<AtomicBool>, held: Arc<AtomicU64>) -> String {
    moto::proxy(upstream, move |mut conn, up, _| {
        let (head, body) = moto::read_message(&mut conn)?;
        if head.is_empty() {
            return Ok(());
        }
        if stall.load(Ordering::SeqCst) && head.contains("Logs_20140328.FilterLogEvents") {
            held.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_mins(1));
        }
        let (rhead, rbody) = moto::forward(up, &head, &body)?;
        conn.write_all(rhead.as_bytes())?;
        conn.write_all(b"\r\n\r\n")?;
        conn.write_all(&rbody)
    })
}

#[test]
fn a_second_sigint_exits_at_once() {
    let Some(ep) = moto::endpoint() else { return };
    let (cluster, group) = cluster(&ep, "follow-cw-twice");
    moto::put(
        &ep,
        &group,
        A1,
        &records("x", 3, chrono::Duration::seconds(5)),
    );
    let (stall, held) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let proxy = stalling_proxy(&ep, stall.clone(), held.clone());
    let mut f = follow(&proxy, &cluster, &[]);
    f.wait_for("the first events", |d| requests(d) == 3);
    // A poll hangs on the service: the first SIGINT waits for it to end the session well.
    stall.store(true, Ordering::SeqCst);
    let t = Instant::now();
    while held.load(Ordering::SeqCst) == 0 {
        assert!(
            t.elapsed() < Duration::from_mins(1),
            "no poll reached the proxy"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    f.signal();
    // Two signals sent at once may be delivered as one.
    std::thread::sleep(Duration::from_millis(300));
    f.signal();
    // Held for a minute: an exit within half of it is the second signal's.
    assert_eq!(f.wait_exit(Duration::from_secs(30)), 130);
}

#[test]
fn a_missing_group_or_files_with_a_cluster_are_one_clear_error() {
    let Some(ep) = moto::endpoint() else { return };
    let mut cmd = common::bin();
    let out = moto::aws_env(&mut cmd)
        .args([
            "--follow",
            "--cluster",
            "no-such-cluster",
            "--endpoint-url",
            &ep,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("log group '/aws/eks/no-such-cluster/cluster' not found"),
        "{err}"
    );
    let out = common::run(&["--follow", "--cluster", "x", "audit.log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be mixed"));
}

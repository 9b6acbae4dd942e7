//! `queries run` against CloudWatch Logs Insights as moto emulates it: the query lifecycle
//! (StartQuery in seconds, GetQueryResults polled until Complete), the window, `@timestamp` in
//! moto's epoch-ms form, a missing log group, throttling and 5xx retried, and Failed/Cancelled
//! queries (moto never reports those: a proxy rewrites GetQueryResults answers).
//! moto does not evaluate filter/stats/parse: the numbers are tested locally (tests/cli/insights.rs).

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::moto;
use common::moto::{rfc3339, unique};
use serde_json::Value;

/// Loads 120 audit events one second apart from an hour ago into `group`; returns the first
/// event's CloudWatch time.
fn load(endpoint: &str, group: &str) -> i64 {
    moto::load_recent(endpoint, group, 0, 120)
}

fn query(endpoint: &str, args: &[&str]) -> Output {
    let mut cmd = common::bin();
    moto::aws_env(&mut cmd)
        .args([
            "queries",
            "run",
            "--endpoint-url",
            endpoint,
            "--format",
            "json",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn times(doc: &Value) -> Vec<i64> {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = r["@timestamp"].as_str().unwrap();
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.3f")
                .unwrap_or_else(|e| panic!("{s}: {e}"))
                .and_utc()
                .timestamp_millis()
        })
        .collect()
}

#[test]
fn query_lifecycle_window_and_timestamps() {
    let Some(ep) = moto::endpoint() else { return };
    let cluster = unique("insights-life");
    let group = &format!("/aws/eks/{cluster}/cluster");
    let t0 = load(&ep, group);
    let (since, until) = (rfc3339(t0 + 10_000), rfc3339(t0 + 20_000));
    let out = query(
        &ep,
        &[
            "slow-requests",
            "--cluster",
            &cluster,
            "--since",
            &since,
            "--until",
            &until,
        ],
    );
    let doc = ok_json(&out);
    assert_eq!(doc["status"], "Complete");
    assert_eq!(doc["log_group"].as_str(), Some(group.as_str()));
    assert!(doc["query_id"].as_str().is_some_and(|q| !q.is_empty()));
    // moto returns @timestamp as epoch ms; the output is AWS's `YYYY-MM-DD HH:MM:SS.mmm`.
    let t = times(&doc);
    // StartQuery is in whole seconds and moto ignores the exact ms filter: [10 s, 20 s].
    assert_eq!(t.len(), 11, "{t:?}");
    assert!(
        t.iter().all(|&x| (t0 + 10_000..=t0 + 20_000).contains(&x)),
        "{t:?}"
    );
    assert!(
        t.windows(2).all(|w| w[0] >= w[1]),
        "sorted newest first: {t:?}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no statistics"), "{err}");

    // The template's limit reaches the service.
    let doc = ok_json(&query(
        &ep,
        &[
            "slow-requests",
            "--log-group",
            group,
            "--since",
            "2h",
            "--param",
            "limit=7",
        ],
    ));
    assert_eq!(times(&doc).len(), 7);
    assert_eq!(doc["statistics"]["bytes_scanned"], Value::Null);
}

#[test]
fn missing_log_group_is_one_clear_line() {
    let Some(ep) = moto::endpoint() else { return };
    let out = query(
        &ep,
        &[
            "list-latency",
            "--cluster",
            "no-such-cluster",
            "--since",
            "1h",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("log group '/aws/eks/no-such-cluster/cluster' not found in region us-east-1"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let Some(ep) = moto::endpoint() else { return };
    let group = &format!("/aws/eks/{}/cluster", unique("insights-throttle"));
    load(&ep, group);
    let direct = ok_json(&query(
        &ep,
        &["slow-requests", "--log-group", group, "--since", "2h"],
    ));
    let (proxy, faults) = moto::faulty_proxy(&ep);
    let proxied = ok_json(&query(
        &proxy,
        &["slow-requests", "--log-group", group, "--since", "2h"],
    ));
    assert!(
        faults.load(Ordering::SeqCst) >= 1,
        "the proxy injected nothing"
    );
    assert_eq!(times(&proxied), times(&direct));
    assert_eq!(times(&direct).len(), 100);
}

/// A proxy that answers GetQueryResults with `status` for the first `running` polls set to
/// `Running` (empty results), then with `final_status`. Returns its endpoint and poll count.
fn status_proxy(
    upstream: &str,
    running: u64,
    final_status: &'static str,
) -> (String, Arc<AtomicU64>) {
    let polls = Arc::new(AtomicU64::new(0));
    let p2 = polls.clone();
    let endpoint = moto::proxy(upstream, move |conn, up, _| {
        relay(conn, up, &p2, running, final_status)
    });
    (endpoint, polls)
}

fn relay(
    mut client: TcpStream,
    upstream: &str,
    polls: &AtomicU64,
    running: u64,
    final_status: &str,
) -> std::io::Result<()> {
    let (head, body) = moto::read_message(&mut client)?;
    let is_poll = head
        .to_ascii_lowercase()
        .contains("logs_20140328.getqueryresults");
    let (rhead, rbody) = moto::forward(upstream, &head, &body)?;
    let mut rbody = String::from_utf8_lossy(&rbody).into_owned();
    if is_poll {
        let n = polls.fetch_add(1, Ordering::SeqCst);
        let status = if n < running { "Running" } else { final_status };
        let mut v: Value = serde_json::from_str(&rbody).unwrap();
        v["status"] = status.into();
        if status != "Complete" {
            v["results"] = Value::Array(Vec::new());
        }
        rbody = v.to_string();
    }
    let rhead: Vec<String> = rhead
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("content-length:")
                && !l.starts_with("connection:")
                && !l.starts_with("transfer-encoding:")
        })
        .map(str::to_owned)
        .collect();
    client.write_all(
        format!(
            "{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{rbody}",
            rhead.join("\r\n"),
            rbody.len()
        )
        .as_bytes(),
    )
}

#[test]
fn polls_until_complete() {
    let Some(ep) = moto::endpoint() else { return };
    let group = &format!("/aws/eks/{}/cluster", unique("insights-poll"));
    load(&ep, group);
    let (proxy, polls) = status_proxy(&ep, 3, "Complete");
    let doc = ok_json(&query(
        &proxy,
        &[
            "slow-requests",
            "--log-group",
            group,
            "--since",
            "2h",
            "--param",
            "limit=3",
        ],
    ));
    assert_eq!(
        polls.load(Ordering::SeqCst),
        4,
        "three Running answers, then Complete"
    );
    assert_eq!(times(&doc).len(), 3);
}

#[test]
fn failed_cancelled_and_timed_out_queries_exit_2() {
    let Some(ep) = moto::endpoint() else { return };
    let group = &format!("/aws/eks/{}/cluster", unique("insights-fail"));
    load(&ep, group);
    for (status, msg) in [
        ("Failed", "failed"),
        ("Cancelled", "was cancelled"),
        ("Timeout", "timed out on the service"),
    ] {
        let (proxy, _) = status_proxy(&ep, 1, status);
        let out = query(
            &proxy,
            &["list-latency", "--log-group", group, "--since", "2h"],
        );
        assert_eq!(out.status.code(), Some(2), "{status}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{status}: {err}");
        assert!(out.stdout.is_empty(), "{status}: no rows printed");
    }
    // Still running when our own --timeout ends: StopQuery is tried (moto answers 500).
    let (proxy, _) = status_proxy(&ep, u64::MAX, "Complete");
    let out = query(
        &proxy,
        &[
            "list-latency",
            "--log-group",
            group,
            "--since",
            "2h",
            "--timeout",
            "1s",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not finish within --timeout") && err.contains("could not stop it"),
        "{err}"
    );
}

/// What the interrupt proxy saw.
#[derive(Default)]
struct Seen {
    start_requests: AtomicU64,
    polls: AtomicU64,
    filter_calls: AtomicU64,
    stop_requests: AtomicU64,
    started: std::sync::Mutex<Vec<String>>,
    stopped: std::sync::Mutex<Vec<String>>,
}

/// How the interrupt proxy treats the calls it relays to moto.
#[derive(Clone, Copy, Default)]
struct Script {
    /// GetQueryResults always answers `Running` (queries never finish).
    never_done: bool,
    /// StartQuery's answer is held back this long.
    start_delay: std::time::Duration,
    /// FilterLogEvents' answers are held back this long.
    filter_delay: std::time::Duration,
    /// StopQuery's answer is held back this long.
    stop_delay: std::time::Duration,
}

/// A proxy that follows `script`, answers StopQuery itself (moto does not implement it) and
/// records which queries were started and stopped.
fn interrupt_proxy(upstream: &str, script: Script) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let s2 = seen.clone();
    let endpoint = moto::proxy(upstream, move |conn, up, _| {
        relay_scripted(conn, up, &s2, script)
    });
    (endpoint, seen)
}

fn relay_scripted(
    mut client: TcpStream,
    upstream: &str,
    seen: &Seen,
    script: Script,
) -> std::io::Result<()> {
    let (head, body) = moto::read_message(&mut client)?;
    let target = head.to_ascii_lowercase();
    let reply = |client: &mut TcpStream, status: &str, body: &str| {
        client.write_all(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
    };
    if target.contains("logs_20140328.stopquery") {
        seen.stop_requests.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(script.stop_delay);
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let id = v["queryId"].as_str().unwrap_or_default().to_owned();
        seen.stopped.lock().unwrap().push(id);
        return reply(&mut client, "200 OK", r#"{"success":true}"#);
    }
    if script.never_done && target.contains("logs_20140328.getqueryresults") {
        seen.polls.fetch_add(1, Ordering::SeqCst);
        return reply(
            &mut client,
            "200 OK",
            r#"{"status":"Running","results":[]}"#,
        );
    }
    let is_start = target.contains("logs_20140328.startquery");
    if is_start {
        seen.start_requests.fetch_add(1, Ordering::SeqCst);
    }
    let is_filter = target.contains("logs_20140328.filterlogevents");
    if is_filter {
        seen.filter_calls.fetch_add(1, Ordering::SeqCst);
    }
    let (rhead, rbody) = moto::forward(upstream, &head, &body)?;
    if is_filter {
        std::thread::sleep(script.filter_delay);
    }
    if is_start {
        std::thread::sleep(script.start_delay);
        let v: Value = serde_json::from_slice(&rbody).unwrap_or(Value::Null);
        if let Some(id) = v["queryId"].as_str() {
            seen.started.lock().unwrap().push(id.to_owned());
        }
    }
    let status = rhead.lines().next().unwrap_or("HTTP/1.1 500 x");
    let status = status.split_once(' ').map_or("500 x", |(_, s)| s);
    reply(&mut client, status, &String::from_utf8_lossy(&rbody))
}

/// Starts `args` through the proxy.
fn spawn_through(proxy: &str, args: &[&str]) -> std::process::Child {
    let mut cmd = common::bin();
    moto::aws_env(&mut cmd)
        .args(args)
        .args(["--endpoint-url", proxy])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `ready` holds, the run still going.
fn wait_until(child: &mut std::process::Child, ready: impl Fn() -> bool, what: &str) {
    let t = std::time::Instant::now();
    while !ready() {
        if child.try_wait().unwrap().is_some() {
            let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap_or_default();
            panic!("ended before {what}: {err}");
        }
        assert!(t.elapsed().as_secs() < 60, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn send(child: &std::process::Child, signal: &str) {
    let kill = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

/// Runs `args` through the proxy, sends `signal` (`INT`, `TERM`) once `ready` holds, and
/// returns the output and how long the process took to end after the signal.
fn interrupted(
    proxy: &str,
    args: &[&str],
    ready: impl Fn() -> bool,
    settle: std::time::Duration,
    signal: &str,
) -> (Output, std::time::Duration) {
    let mut child = spawn_through(proxy, args);
    wait_until(&mut child, ready, "the queries started");
    std::thread::sleep(settle);
    let sent = std::time::Instant::now();
    send(&child, signal);
    let out = child.wait_with_output().unwrap();
    (out, sent.elapsed())
}

/// A second Ctrl-C exits at once (130) while the first one's StopQuery is still on the way
/// (held 30 s by the endpoint), for the user who will not wait; and a Ctrl-C during a plain
/// download (no query to stop) ends the run at once, even with a FilterLogEvents call held 30 s.
#[test]
fn a_second_ctrl_c_exits_at_once() {
    use std::os::unix::process::ExitStatusExt;
    let Some(ep) = moto::endpoint() else { return };
    let group = &format!("/aws/eks/{}/cluster", unique("insights-int2"));
    load(&ep, group);
    let held = std::time::Duration::from_secs(30);
    let (proxy, seen) = interrupt_proxy(
        &ep,
        Script {
            never_done: true,
            stop_delay: held,
            ..Script::default()
        },
    );
    let mut child = spawn_through(
        &proxy,
        &[
            "queries",
            "run",
            "list-latency",
            "--log-group",
            group,
            "--since",
            "2h",
        ],
    );
    wait_until(
        &mut child,
        || seen.polls.load(Ordering::SeqCst) >= 2,
        "polling",
    );
    send(&child, "INT");
    wait_until(
        &mut child,
        || seen.stop_requests.load(Ordering::SeqCst) >= 1,
        "the StopQuery call",
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C waits for StopQuery"
    );
    let sent = std::time::Instant::now();
    send(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took.as_secs() < 5,
        "exited at once, not after StopQuery: {took:?}"
    );
    assert!(out.stdout.is_empty());

    let (proxy, seen) = interrupt_proxy(
        &ep,
        Script {
            filter_delay: held,
            ..Script::default()
        },
    );
    let (out, took) = interrupted(
        &proxy,
        &[
            "--log-group",
            group,
            "--since",
            "2h",
            "--format",
            "json",
            "--no-progress",
        ],
        || seen.filter_calls.load(Ordering::SeqCst) >= 1,
        std::time::Duration::from_millis(200),
        "INT",
    );
    assert_eq!(
        out.status.signal(),
        Some(2),
        "ended by SIGINT: {:?}",
        out.status
    );
    assert!(
        took.as_secs() < 5,
        "ended at once, not after the held call: {took:?}"
    );
}

/// Ctrl-C stops every query the tool started — while it polls, and while its StartQuery is
/// still on the way (the query then runs on the service, so it is stopped when the id arrives) —
/// and the run ends with one line, exit 2.
#[test]
fn ctrl_c_stops_every_query_it_started() {
    let Some(ep) = moto::endpoint() else { return };
    let group = &format!("/aws/eks/{}/cluster", unique("insights-int"));
    load(&ep, group);
    let run = [
        "queries",
        "run",
        "list-latency",
        "--log-group",
        group,
        "--since",
        "2h",
    ];
    for (case, delay) in [("while polling", 0), ("during StartQuery", 1500)] {
        let (proxy, seen) = interrupt_proxy(
            &ep,
            Script {
                never_done: true,
                start_delay: std::time::Duration::from_millis(delay),
                ..Script::default()
            },
        );
        let ready = || {
            if delay == 0 {
                seen.polls.load(Ordering::SeqCst) >= 2
            } else {
                seen.start_requests.load(Ordering::SeqCst) >= 1
            }
        };
        let (out, _) = interrupted(
            &proxy,
            &run,
            ready,
            std::time::Duration::from_millis(100),
            "INT",
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        assert!(err.contains("interrupted: stopped it"), "{case}: {err}");
        let started = seen.started.lock().unwrap().clone();
        assert_eq!(started.len(), 1, "{case}");
        assert_eq!(*seen.stopped.lock().unwrap(), started, "{case}");
        if delay > 0 {
            assert_eq!(seen.polls.load(Ordering::SeqCst), 0, "{case}: never polled");
        }
    }

    // The report engine: the log-volume profile runs first, alone, and here never finishes;
    // Ctrl-C stops it and starts none of the templates waiting on it.
    let (proxy, seen) = interrupt_proxy(
        &ep,
        Script {
            never_done: true,
            ..Script::default()
        },
    );
    let (out, _) = interrupted(
        &proxy,
        &[
            "--log-group",
            group,
            "--since",
            "2h",
            "--engine",
            "insights",
            "--insights-slice",
            "10m",
            "--insights-concurrency",
            "2",
            "--no-progress",
        ],
        || !seen.started.lock().unwrap().is_empty() && seen.polls.load(Ordering::SeqCst) >= 2,
        std::time::Duration::from_millis(300),
        "INT",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let mut started = seen.started.lock().unwrap().clone();
    let mut stopped = seen.stopped.lock().unwrap().clone();
    started.sort();
    stopped.sort();
    assert_eq!(started.len(), 1, "no query started after Ctrl-C");
    assert_eq!(stopped, started);
    assert!(out.stdout.is_empty(), "no report from an interrupted run");
}

/// Once `--engine auto` has chosen to download, the signals act as they always did: a SIGTERM
/// (`timeout`, a cancelled CI job) ends the process at once, even while a FilterLogEvents call
/// is held back 30 s.
#[test]
fn sigterm_ends_a_download_that_auto_chose() {
    use std::os::unix::process::ExitStatusExt;
    let Some(ep) = moto::endpoint() else { return };
    let group = &format!("/aws/eks/{}/cluster", unique("auto-term"));
    load(&ep, group);
    let (proxy, seen) = interrupt_proxy(
        &ep,
        Script {
            filter_delay: std::time::Duration::from_secs(30),
            ..Script::default()
        },
    );
    let (out, took) = interrupted(
        &proxy,
        &[
            "--log-group",
            group,
            "--since",
            "2h",
            "--engine",
            "auto",
            "--format",
            "json",
            "--no-progress",
        ],
        || seen.filter_calls.load(Ordering::SeqCst) >= 1,
        std::time::Duration::from_millis(200),
        "TERM",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--engine auto:"), "auto decided first: {err}");
    assert!(
        seen.start_requests.load(Ordering::SeqCst) >= 1,
        "the estimate ran on Logs Insights"
    );
    assert_eq!(
        out.status.signal(),
        Some(15),
        "ended by SIGTERM: {:?} {err}",
        out.status
    );
    assert!(
        took.as_secs() < 10,
        "ended at once, not after the held call: {took:?}"
    );
}

//! The CloudWatch source against a real emulator (moto's server) through the real AWS SDK:
//! a download counts exactly what the same events count from a file, across pages, slice edges,
//! throttling and 5xx; errors are one clear line with exit code 2.

use crate::common;

use std::process::{Output, Stdio};

use common::moto::{self, Record};
use serde_json::Value;

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `bytes` of synthetic audit events spread over the last ~3 days, as CloudWatch records
/// (time = the event's stageTimestamp, as EKS ships them) over three API-server streams.
fn records(bytes: u64, seed: u64) -> Vec<(usize, Record)> {
    let start = now_ms() - 3 * DAY_MS;
    let events = bytes / 950;
    let rate = events as f64 / (2.9 * 86_400.0);
    let cfg = audit_scan::synth::SynthConfig {
        bytes,
        seed,
        start: start * 1000,
        rate,
        ..Default::default()
    };
    let mut out = Vec::new();
    audit_scan::synth::generate(&cfg, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).unwrap();
            let ts = common::ts(&v["stageTimestamp"]).unwrap() / 1000;
            (i % 3, (ts, l.to_owned()))
        })
        .collect()
}

fn streams(records: &[(usize, Record)]) -> Vec<(String, Vec<Record>)> {
    let mut s: Vec<(String, Vec<Record>)> = ["a1b2", "c3d4", "e5f6"]
        .iter()
        .map(|h| (format!("kube-apiserver-audit-{h}"), Vec::new()))
        .collect();
    for (i, r) in records {
        s[*i].1.push(r.clone());
    }
    // A stream of another component in the same group: not audit, must be left out.
    s.push((
        "kube-controller-manager-0a1b".into(),
        vec![(
            now_ms() - DAY_MS,
            "I1123 leaderelection.go:250] attempting".into(),
        )],
    ));
    s
}

fn scan(endpoint: &str, args: &[&str]) -> Output {
    let mut cmd = common::bin();
    moto::aws_env(&mut cmd)
        .args([
            "--endpoint-url",
            endpoint,
            "--format",
            "json",
            "--no-progress",
            "--rate",
            "1000",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn file_report(dir: &std::path::Path, records: &[(usize, Record)], args: &[&str]) -> Value {
    let path = dir.join("same-events.jsonl");
    let text: Vec<&str> = records.iter().map(|(_, (_, m))| m.as_str()).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    let mut a = vec![path.to_str().unwrap()];
    a.extend_from_slice(args);
    common::report(&a)
}

fn assert_same_tables(cw: &Value, file: &Value) {
    for k in [
        "timeline", "lists", "clients", "crds", "writes", "objects", "errors", "watches",
    ] {
        assert_eq!(cw[k], file[k], "table {k} differs");
    }
    assert_eq!(cw["summary"]["requests"], file["summary"]["requests"]);
}

#[test]
fn a_download_counts_exactly_what_the_file_counts() {
    let Some(ep) = moto::endpoint() else { return };
    let recs = records(2_500_000, 21);
    // A name of its own: a second run against the same moto must not meet this one's group.
    let cluster = moto::unique("cw-equal");
    moto::load(&ep, &format!("/aws/eks/{cluster}/cluster"), &streams(&recs));
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.jsonl.zst");
    let out = scan(
        &ep,
        &[
            "--cluster",
            &cluster,
            "--since",
            "4d",
            "--page-limit",
            "100",
            "--save",
            saved.to_str().unwrap(),
        ],
    );
    let cw = json(&out);
    let file = file_report(dir.path(), &recs, &["--since", "4d"]);
    assert_same_tables(&cw, &file);
    let requests = recs
        .iter()
        .filter(|(_, (_, m))| m.contains("\"stage\":\"ResponseComplete\""))
        .count() as u64;
    assert_eq!(cw["summary"]["requests"].as_u64().unwrap(), requests);
    let c = &cw["summary"]["cloudwatch"];
    assert_eq!(
        c["events_fetched"].as_u64().unwrap(),
        recs.len() as u64,
        "{c}"
    );
    assert_eq!(c["duplicates_dropped"], 0);
    assert_eq!(
        c["streams"], 3,
        "the controller-manager stream is not an audit stream"
    );
    assert!(
        c["pages"].as_u64().unwrap() >= recs.len() as u64 / 100,
        "{c}"
    );
    // Requests per stream (per API server) add up, and every stream has some.
    let inputs = cw["summary"]["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    assert!(inputs.iter().all(|i| i["requests"].as_u64().unwrap() > 0));
    assert_eq!(
        inputs
            .iter()
            .map(|i| i["requests"].as_u64().unwrap())
            .sum::<u64>(),
        requests
    );
    // --save keeps the window for offline re-analysis.
    let again = common::report(&[saved.to_str().unwrap(), "--since", "4d"]);
    assert_same_tables(&again, &file);
}

#[test]
fn events_sharing_a_millisecond_at_a_slice_edge_count_once() {
    let Some(ep) = moto::endpoint() else { return };
    let hour = 3_600_000;
    let edge = (now_ms() - DAY_MS).div_euclid(hour) * hour;
    let at = |ms: i64| audit_scan::timefmt::format_rfc3339(ms * 1000);
    let event = |id: usize, ms: i64| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"edge-{id}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/pods/p","verb":"get","user":{{"username":"u"}},"userAgent":"edge/v1","objectRef":{{"resource":"pods","namespace":"a","name":"p","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}"}}"#,
            at(ms),
            at(ms)
        )
    };
    let mut recs = Vec::new();
    for id in 0..9 {
        // Three streams × (one just before the edge, two exactly on it).
        let ms = if id % 3 == 0 { edge - 1 } else { edge };
        recs.push((id % 3, (ms, event(id, ms))));
    }
    // A message CloudWatch cut: its timestamps are lost, its record time is not.
    let cut = event(99, edge);
    let cut = format!(
        "{}[Truncated...]",
        &cut[..cut.find("\"responseStatus\"").unwrap()]
    );
    recs.push((0, (edge, cut)));
    // A name of its own: a second run against the same moto must not meet this one's group.
    let cluster = moto::unique("cw-edge");
    moto::load(&ep, &format!("/aws/eks/{cluster}/cluster"), &streams(&recs));
    let out = scan(
        &ep,
        &[
            "--cluster",
            &cluster,
            "--since",
            &at(edge - 2 * hour),
            "--slice",
            "1h",
            "--concurrency",
            "3",
        ],
    );
    let r = json(&out);
    assert_eq!(r["summary"]["requests"], 10, "{}", r["summary"]);
    assert_eq!(r["summary"]["truncated"], 1);
    assert_eq!(r["summary"]["untimed"], 0, "the record time stands in");
    assert!(r["summary"]["cloudwatch"]["slices"].as_u64().unwrap() >= 2);
}

#[test]
fn throttling_and_server_errors_are_retried_and_nothing_is_lost() {
    let Some(ep) = moto::endpoint() else { return };
    let recs = records(600_000, 5);
    // A name of its own: a second run against the same moto must not meet this one's group.
    let cluster = moto::unique("cw-faults");
    moto::load(&ep, &format!("/aws/eks/{cluster}/cluster"), &streams(&recs));
    let (proxy, faults) = moto::faulty_proxy(&ep);
    let out = scan(
        &proxy,
        &[
            "--cluster",
            &cluster,
            "--since",
            "4d",
            "--page-limit",
            "50",
            "--max-attempts",
            "12",
        ],
    );
    let r = json(&out);
    let requests = recs
        .iter()
        .filter(|(_, (_, m))| m.contains("\"stage\":\"ResponseComplete\""))
        .count() as u64;
    assert_eq!(r["summary"]["requests"].as_u64().unwrap(), requests);
    let c = &r["summary"]["cloudwatch"];
    assert_eq!(c["events_fetched"].as_u64().unwrap(), recs.len() as u64);
    assert!(faults.load(std::sync::atomic::Ordering::SeqCst) > 3);
    assert!(c["throttles"].as_u64().unwrap() > 0, "{c}");
    assert!(
        c["retries"].as_u64().unwrap() > c["throttles"].as_u64().unwrap(),
        "5xx are retried too: {c}"
    );
}

#[test]
fn errors_are_one_clear_line_and_exit_2() {
    let Some(ep) = moto::endpoint() else { return };
    let out = scan(&ep, &["--cluster", "no-such-cluster", "--since", "1h"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("log group '/aws/eks/no-such-cluster/cluster' not found in region us-east-1"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.contains("error")).count(),
        1,
        "{err}"
    );
    let out = scan("http://127.0.0.1:9", &["--cluster", "x", "--since", "1h"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach CloudWatch Logs at http://127.0.0.1:9"),
        "{err}"
    );
    // Files and CloudWatch never mix.
    let f = common::fixture("realdata/audit2rbac-demo-v1-2022.jsonl");
    let out = scan(&ep, &["--cluster", "x", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be mixed"));
}

#[test]
fn the_bare_incident_command_reads_the_kubeconfig_cluster() {
    let Some(ep) = moto::endpoint() else { return };
    let recs = records(300_000, 9);
    let cluster = moto::unique("cw-kube");
    moto::load(&ep, &format!("/aws/eks/{cluster}/cluster"), &streams(&recs));
    let dir = tempfile::tempdir().unwrap();
    let arn = format!("arn:aws:eks:us-east-1:123456789012:cluster/{cluster}");
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        format!(
            "current-context: {arn}\ncontexts:\n- name: {arn}\n  context: {{cluster: {arn}, user: {arn}}}\nusers:\n- name: {arn}\n  user:\n    exec:\n      command: aws\n      args: [--region, us-east-1, eks, get-token, --cluster-name, {cluster}]\n"
        ),
    )
    .unwrap();
    let run = |kubeconfig: &std::path::Path| {
        let mut cmd = common::bin();
        moto::aws_env(&mut cmd)
            .env("KUBECONFIG", kubeconfig)
            .args([
                "--since",
                "4d",
                "--endpoint-url",
                &ep,
                "--format",
                "json",
                "--rate",
                "1000",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&kc);
    let r = json(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("reading EKS cluster '{cluster}'"))
            && err.contains("region us-east-1"),
        "{err}"
    );
    let requests = recs
        .iter()
        .filter(|(_, (_, m))| m.contains("\"stage\":\"ResponseComplete\""))
        .count() as u64;
    assert_eq!(r["summary"]["requests"].as_u64().unwrap(), requests);
    // `KUBECONFIG` with several paths, merged as kubectl does: a missing path is passed over,
    // the first file's current-context and context win over the second's, and the context's
    // user, defined only in the second file, names the cluster with `aws-iam-authenticator -i`.
    let first = dir.path().join("team");
    std::fs::write(
        &first,
        "current-context: team\ncontexts:\n- name: team\n  context: {cluster: team-endpoint, user: team-user}\n",
    )
    .unwrap();
    let second = dir.path().join("shared");
    std::fs::write(
        &second,
        format!(
            "current-context: kind\ncontexts:\n- name: team\n  context: {{cluster: kind, user: kind}}\n- name: kind\n  context: {{cluster: kind, user: kind}}\nusers:\n- name: team-user\n  user:\n    exec:\n      command: aws-iam-authenticator\n      args: [token, -i, {cluster}]\n"
        ),
    )
    .unwrap();
    let merged = std::env::join_paths([dir.path().join("absent"), first, second]).unwrap();
    let out = run(std::path::Path::new(&merged));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "reading EKS cluster '{cluster}' from kubeconfig context 'team'"
        )),
        "{err}"
    );
    assert_eq!(
        json(&out)["summary"]["requests"].as_u64().unwrap(),
        requests
    );
    std::fs::write(
        &kc,
        "current-context: kind\ncontexts:\n- name: kind\n  context: {cluster: kind, user: kind}\n",
    )
    .unwrap();
    let out = run(&kc);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'kind' is not an EKS cluster") && err.contains("--cluster"),
        "{err}"
    );
}

/// A loopback proxy in front of moto that relays every call and hands each FilterLogEvents
/// call's (arrival time, request body, answer body) to `tap`, which may return a body to answer
/// instead.
fn tapping_proxy(
    upstream: &str,
    tap: impl Fn(std::time::Instant, &[u8], &[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> String {
    use std::io::Write;
    moto::proxy(upstream, move |mut conn, up, _| {
        conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
        let (head, body) = moto::read_message(&mut conn)?;
        if head.is_empty() {
            return Ok(());
        }
        let at = std::time::Instant::now();
        let (rhead, mut rbody) = moto::forward(up, &head, &body)?;
        if head.contains("Logs_20140328.FilterLogEvents")
            && let Some(other) = tap(at, &body, &rbody)
        {
            rbody = other;
        }
        // The answer's own Content-Length no longer fits a replaced body: write it afresh.
        let rhead: Vec<&str> = rhead
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("content-length:"))
            .collect();
        conn.write_all(rhead.join("\r\n").as_bytes())?;
        write!(conn, "\r\nContent-Length: {}\r\n\r\n", rbody.len())?;
        conn.write_all(&rbody)
    })
}

/// `--rate 5` spaces FilterLogEvents calls at least 200 ms apart across concurrent slices,
/// measured where they arrive (a limiter that did nothing would let moto's pages come in a
/// few ms apart).
#[test]
fn the_rate_limit_holds_across_slices() {
    let Some(ep) = moto::endpoint() else { return };
    let recs = records(150_000, 31);
    let cluster = moto::unique("cw-rate");
    moto::load(&ep, &format!("/aws/eks/{cluster}/cluster"), &streams(&recs));
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let proxy = tapping_proxy(&ep, move |at, _, _| {
        seen.lock().unwrap().push(at);
        None
    });
    let mut cmd = common::bin();
    let out = moto::aws_env(&mut cmd)
        .args([
            "--endpoint-url",
            &proxy,
            "--format",
            "json",
            "--no-progress",
        ])
        .args(["--cluster", &cluster, "--since", "4d", "--page-limit", "20"])
        .args(["--rate", "5", "--concurrency", "4", "--slice", "6h"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let r = json(&out);
    let mut at = arrivals.lock().unwrap().clone();
    at.sort();
    assert_eq!(
        at.len() as u64,
        r["summary"]["cloudwatch"]["pages"].as_u64().unwrap()
    );
    assert!(
        at.len() >= 12,
        "{} calls: too few to measure a rate",
        at.len()
    );
    let gaps: Vec<f64> = at.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    // One call per 200 ms, less the scheduling jitter between the limiter and the socket.
    let tight = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(tight >= 0.15, "two calls {tight:.3} s apart under --rate 5");
    let span = (at[at.len() - 1] - at[0]).as_secs_f64();
    let rate = (at.len() - 1) as f64 / span;
    assert!(rate <= 5.2, "{rate:.2} calls/s under --rate 5");
}

/// Events the service serves twice (a page repeated inside the next one) are dropped event by
/// event as duplicates and counted; nothing is lost or counted twice.
#[test]
fn a_replayed_page_is_dropped_and_counted() {
    let Some(ep) = moto::endpoint() else { return };
    // 300 LISTs a second apart: pages of 10 span seconds, as real pages of a busy cluster do,
    // well inside the de-duplication horizon (5 minutes of CloudWatch time).
    let cluster = moto::unique("cw-replay");
    let n = 300;
    moto::load_recent(&ep, &format!("/aws/eks/{cluster}/cluster"), 7, n);
    // The first page that has a next one is kept; the answer to the next page's call comes
    // back with the kept page's events again in front of its own (a page served twice), its
    // own nextToken unchanged, so the chain goes on.
    let state = std::sync::Mutex::new((None::<(String, Vec<Value>)>, false));
    let replayed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = replayed.clone();
    let proxy = tapping_proxy(&ep, move |_, request, answer| {
        let mut s = state.lock().unwrap();
        if s.1 {
            return None;
        }
        let asked: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
        let mut v: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
        if let (Some((token, page)), Some(next)) = (&s.0, asked["nextToken"].as_str())
            && next == token
        {
            count.store(page.len() as u64, std::sync::atomic::Ordering::SeqCst);
            let mut events = page.clone();
            events.extend(v["events"].as_array().cloned().unwrap_or_default());
            v["events"] = Value::Array(events);
            s.1 = true;
            return Some(serde_json::to_vec(&v).unwrap());
        }
        if s.0.is_none()
            && let (Some(token), Some(events)) = (v["nextToken"].as_str(), v["events"].as_array())
            && !events.is_empty()
        {
            s.0 = Some((token.to_owned(), events.clone()));
        }
        None
    });
    let out = scan(
        &proxy,
        &["--cluster", &cluster, "--since", "2h", "--page-limit", "10"],
    );
    let r = json(&out);
    let replayed = replayed.load(std::sync::atomic::Ordering::SeqCst);
    assert!(replayed > 0, "the replay happened");
    let c = &r["summary"]["cloudwatch"];
    assert_eq!(c["duplicates_dropped"].as_u64().unwrap(), replayed, "{c}");
    assert_eq!(
        c["events_fetched"].as_u64().unwrap(),
        n as u64 + replayed,
        "{c}"
    );
    assert_eq!(r["summary"]["requests"].as_u64().unwrap(), n as u64);
}

/// One request of its own client (`edge-NAME`): received at `received_ms`, completed at
/// `stage_ms`, in CloudWatch at `cw_ms`.
fn edge_record(name: &str, verb: &str, received_ms: i64, stage_ms: i64, cw_ms: i64) -> Record {
    let uri = if verb == "watch" {
        "/api/v1/pods?watch=true&timeoutSeconds=600"
    } else {
        "/api/v1/namespaces/ns/pods/p"
    };
    (
        cw_ms,
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{name}","stage":"ResponseComplete","requestURI":"{uri}","verb":"{verb}","user":{{"username":"u"}},"userAgent":"edge-{name}/1.0","objectRef":{{"resource":"pods","namespace":"ns","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}"}}"#,
            moto::rfc3339(received_ms),
            moto::rfc3339(stage_ms)
        ),
    )
}

/// `--since`, `--until` and `--fetch-margin` at their edges, end to end: the window is half-open
/// on the audit time (an event at `--since` counts, one at `--until` does not), the fetch starts
/// a minute before `--since` (clock skew) and runs `--fetch-margin` past `--until`, so a watch
/// received inside the window but logged when it ended is counted when it ends within the margin
/// (exactly at it, too) and missed past it; an event fetched in the margin but received after
/// `--until` is outside the window.
#[test]
fn fetch_margin_and_until_edges() {
    const MIN: i64 = 60_000;
    let Some(ep) = moto::endpoint() else { return };
    let since = (now_ms() - 180 * MIN) / MIN * MIN;
    let until = since + 30 * MIN;
    let recs = vec![
        edge_record("at-since", "get", since, since, since),
        edge_record("before-since", "get", since - 1, since, since),
        edge_record(
            "skewed-clock",
            "get",
            since + 1000,
            since + 1000,
            since - MIN,
        ),
        edge_record(
            "too-skewed",
            "get",
            since + 2000,
            since + 2000,
            since - MIN - 1000,
        ),
        edge_record("last-inside", "get", until - 1, until - 1, until - 1),
        edge_record("at-until", "get", until, until, until),
        edge_record(
            "after-until",
            "get",
            until + 1000,
            until + 1000,
            until + 1000,
        ),
        edge_record(
            "ends-at-margin",
            "watch",
            until - MIN,
            until + 10 * MIN,
            until + 10 * MIN,
        ),
        edge_record(
            "ends-past-margin",
            "watch",
            until - 2 * MIN,
            until + 10 * MIN + 1000,
            until + 10 * MIN + 1000,
        ),
    ];
    let cluster = moto::unique("cw-edges");
    moto::load(
        &ep,
        &format!("/aws/eks/{cluster}/cluster"),
        &[("kube-apiserver-audit-e1".to_owned(), recs)],
    );
    let (s, u) = (moto::rfc3339(since), moto::rfc3339(until));
    let clients = |margin: &str| {
        let r = json(&scan(
            &ep,
            &[
                "--cluster",
                &cluster,
                "--since",
                &s,
                "--until",
                &u,
                "--fetch-margin",
                margin,
            ],
        ));
        let names: std::collections::BTreeSet<String> = r["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c["client"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("edge-")
                    .to_owned()
            })
            .collect();
        (names, r["summary"]["outside_window"].as_u64().unwrap())
    };
    let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
    let inside = ["at-since", "skewed-clock", "last-inside", "ends-at-margin"];
    assert_eq!(clients("10m"), (set(&inside), 3));
    let mut wider = inside.to_vec();
    wider.push("ends-past-margin");
    assert_eq!(clients("15m"), (set(&wider), 3));
    assert_eq!(
        clients("0s").0,
        set(&["at-since", "skewed-clock", "last-inside"])
    );
}

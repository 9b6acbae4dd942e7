//! Logs Insights as the service answers, through the real AWS SDK: a cloud-shaped endpoint
//! (tests/cli/common/insights_service.rs) in front of moto answers StartQuery / GetQueryResults /
//! StopQuery with AWS's result shapes — null fields left out of rows, columns null in every row
//! absent, `@ptr`, Scheduled → Running → Complete, statistics, the 10,000-row cap, `Timeout` —
//! evaluated over the events moto holds. Every template through `queries run`, and the whole
//! `--engine insights` path against the native engine's report of the same log group.

use crate::common;

use std::collections::BTreeMap;
use std::process::Output;

use common::insights_service::Service;
use common::moto::{self, Record, cli, rfc3339, unique};
use common::ok_json;
use serde_json::Value;

const STREAMS: [&str; 2] = ["kube-apiserver-audit-0a1b", "kube-apiserver-audit-2c3d"];
const MINUTE: i64 = 60_000;

/// An audit event of core resources only. LISTs are written as audit.k8s.io/v1beta1 events
/// (one `timestamp`, no latency), so in a sub-window of only these events the latency
/// aggregates are null in every row and the service leaves those columns out.
fn core_event(i: i64, t_ms: i64, verb: &str, resource: &str, name: &str, code: u16) -> String {
    let name_field = if name.is_empty() {
        String::new()
    } else {
        format!(r#","namespace":"default","name":"{name}""#)
    };
    let times = if verb == "list" {
        format!(
            r#""apiVersion":"audit.k8s.io/v1beta1","timestamp":"{}""#,
            rfc3339(t_ms)
        )
    } else {
        format!(
            r#""apiVersion":"audit.k8s.io/v1","requestReceivedTimestamp":"{}","stageTimestamp":"{}""#,
            rfc3339(t_ms - 12),
            rfc3339(t_ms)
        )
    };
    format!(
        r#"{{"kind":"Event",{times},"level":"Metadata","auditID":"core-{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/{resource}","verb":"{verb}","user":{{"username":"probe"}},"userAgent":"audit-probe/v0.1.0 (linux/amd64) kubernetes/abc1234","objectRef":{{"resource":"{resource}","apiVersion":"v1"{name_field}}},"responseStatus":{{"code":{code}}}}}"#
    )
}

/// The log group's content: a generated log with planted problems from `t0 + 5 min`, logged at
/// its stageTimestamp over two audit streams; one minute of core-only traffic at
/// `core_at`; and a non-audit stream both engines must leave out.
struct Loaded {
    group: String,
    /// Every audit message with its CloudWatch time.
    audit: Vec<Record>,
    /// Records and message bytes of the whole group (the other stream's included).
    records: u64,
    bytes: u64,
}

fn load(endpoint: &str, t0: i64, core_at: i64) -> Loaded {
    use audit_scan::synth::{Plant, SynthConfig, generate};
    let group = unique("/aws/eks/service-shaped/cluster");
    let cfg = SynthConfig {
        bytes: 1_500_000,
        seed: 21,
        rate: 10.0,
        start: (t0 + 5 * MINUTE) * 1000,
        plants: vec![
            Plant::ConflictStorm,
            Plant::Throttled,
            Plant::ExpensiveList,
            Plant::ReconcileLoop,
        ],
        ..Default::default()
    };
    let mut buf = Vec::new();
    generate(&cfg, &mut buf).unwrap();
    let mut audit: Vec<Record> = String::from_utf8(buf)
        .unwrap()
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            let t = common::ts(&e["stageTimestamp"])
                .or_else(|| common::event_time(&e))
                .unwrap()
                / 1000;
            (t, l.to_owned())
        })
        .collect();
    for i in 0..30 {
        let t = core_at + i * 1500;
        let (verb, res, name, code) = match i % 3 {
            0 => ("list", "pods", "", 200),
            1 => ("get", "configmaps", "missing", 404),
            _ => ("update", "configmaps", "app", 200),
        };
        audit.push((t, core_event(i, t, verb, res, name, code)));
    }
    let mut streams: Vec<(String, Vec<Record>)> = STREAMS
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let part = audit
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == k)
                .map(|(_, r)| r.clone())
                .collect();
            ((*s).to_owned(), part)
        })
        .collect();
    let other: Vec<Record> = (0..20)
        .map(|i| {
            (
                t0 + 6 * MINUTE + i * 1000,
                format!("authenticator line {i}"),
            )
        })
        .collect();
    streams.push(("authenticator-0a1b".to_owned(), other));
    moto::load(endpoint, &group, &streams);
    let all = streams.iter().flat_map(|(_, r)| r);
    let bytes = all.clone().map(|(_, m)| m.len() as u64).sum();
    Loaded {
        group,
        records: all.count() as u64,
        bytes,
        audit,
    }
}

/// The loaded group, the service in front of moto, when the core-only minute starts, and the
/// window: an hour-aligned `t0` three hours back (inside moto's 14 days, clear of now). The
/// generated log starts with requests received before its first logged event, so the window
/// reaches back 30 minutes: both engines (one by event time, one by CloudWatch time) see all.
struct Setup {
    moto: String,
    data: Loaded,
    service: Service,
    core_at: i64,
    since: String,
    until: String,
}

fn setup() -> Option<Setup> {
    let moto_ep = moto::endpoint()?;
    let t0 = (moto::now_ms() - 3 * 3_600_000) / 3_600_000 * 3_600_000;
    let core_at = t0 + 61 * MINUTE;
    Some(Setup {
        data: load(&moto_ep, t0, core_at),
        service: Service::start(&moto_ep),
        moto: moto_ep,
        core_at,
        since: rfc3339(t0 - 30 * MINUTE),
        until: rfc3339(t0 + 80 * MINUTE),
    })
}

#[test]
fn the_engine_on_the_service_gives_the_native_numbers_with_wholly_null_columns() {
    let Some(Setup {
        moto: moto_ep,
        data,
        service,
        core_at,
        since,
        until,
    }) = setup()
    else {
        return;
    };
    let window = [
        "--log-group",
        &data.group,
        "--since",
        &since,
        "--until",
        &until,
        "--format",
        "json",
        "--no-progress",
    ];
    let mut args = window.to_vec();
    args.extend(["--engine", "insights", "--insights-slice", "10m"]);
    let ins = ok_json(&cli(&service.endpoint, &args), "--engine insights");
    let nat = ok_json(&cli(&moto_ep, &window), "--engine download");
    let compared = common::compare::reports(&ins, &nat, "service", true);
    assert!(compared >= 2, "only {compared} LIST latencies compared");

    // The sub-window of core-only traffic was answered without the null columns at all.
    let answered = service.answered();
    let core_s = core_at / 1000;
    let in_core = |needle: &str| {
        answered
            .iter()
            .filter(|a| a.start_s <= core_s && core_s < a.end_s && a.query.contains(needle))
            .collect::<Vec<_>>()
    };
    let hits = in_core("pct(latency_ms, 50)");
    assert!(
        !hits.is_empty(),
        "no list-latency query over the core minute"
    );
    for absent in ["p50_ms", "max_ms", "avg_ms"] {
        assert!(
            hits.iter()
                .all(|a| a.rows > 0 && a.columns.contains("lists") && !a.columns.contains(absent)),
            "{absent}: {hits:?}"
        );
    }
    // The bill: bytes scanned add up over every query, as the service counts them.
    let billed: u64 = answered.iter().map(|a| a.bytes).sum();
    assert!(billed > 0);
    assert_eq!(
        ins["summary"]["insights"]["bytes_scanned"].as_f64(),
        Some(billed as f64)
    );
    assert_eq!(
        ins["summary"]["insights"]["queries"].as_u64(),
        Some(answered.len() as u64)
    );
    let requests = data
        .audit
        .iter()
        .filter(|(_, m)| common::is_request(&serde_json::from_str(m).unwrap()))
        .count();
    assert_eq!(ins["summary"]["requests"].as_u64(), Some(requests as u64));
}

/// `queries run NAME` through the service, as JSON rows.
fn run_template(
    endpoint: &str,
    group: &str,
    name: &str,
    since: &str,
    until: &str,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "queries",
        "run",
        name,
        "--log-group",
        group,
        "--since",
        since,
        "--until",
        until,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    cli(endpoint, &args)
}

#[test]
fn every_template_answers_in_the_service_shape() {
    let Some(Setup {
        data,
        service,
        core_at,
        since,
        until,
        ..
    }) = setup()
    else {
        return;
    };
    // The same events as a file: the local evaluator's rows are what the service's must be,
    // once null fields are left out (rows are compared as objects: absent key = null).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let lines: Vec<&str> = data.audit.iter().map(|(_, m)| m.as_str()).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    for t in audit_scan::insights::template::all() {
        // Every row, so no tie is cut differently by the two evaluators' input orders.
        let mut args = vec!["--param", "limit=10000"];
        if t.name == "slow-requests" {
            args.extend(["--param", "min_latency_ms=0"]);
        }
        let out = run_template(
            &service.endpoint,
            &data.group,
            &t.name,
            &since,
            &until,
            &args,
        );
        let got = ok_json(&out, &t.name);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("scanned"), "{}: {stderr}", t.name);
        let rows = got["rows"].as_array().unwrap();
        assert!(!rows.is_empty(), "{}: no rows", t.name);
        assert!(rows.iter().all(|r| r.get("@ptr").is_none()), "{}", t.name);
        assert_eq!(got["status"], "Complete");
        // Every record of the log group was scanned (the bill), the other stream's included.
        let stats = &got["statistics"];
        assert_eq!(stats["records_scanned"].as_f64(), Some(data.records as f64));
        assert_eq!(stats["bytes_scanned"].as_f64(), Some(data.bytes as f64));
        if t.name == "log-volume" {
            // Bins are CloudWatch time here, event time in a file: compare the totals.
            let total: u64 = rows
                .iter()
                .map(|r| r["records"].as_str().unwrap().parse::<u64>().unwrap())
                .sum();
            assert_eq!(total, data.records);
            continue;
        }
        let mut local_args = vec![
            "queries",
            "run",
            &t.name,
            "--local",
            file.to_str().unwrap(),
            "--format",
            "json",
        ];
        local_args.extend_from_slice(&args);
        let local = ok_json(&common::run(&local_args), &t.name);
        let key = |v: &Value| {
            let mut m: BTreeMap<String, String> = BTreeMap::new();
            // @timestamp is CloudWatch time on the service, the event's own time in a file.
            for (k, x) in v
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k != "@timestamp")
            {
                m.insert(k.clone(), x.as_str().unwrap().to_owned());
            }
            m
        };
        let mut a: Vec<_> = rows.iter().map(key).collect();
        let mut b: Vec<_> = local["rows"].as_array().unwrap().iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{}", t.name);
    }

    // Over the core-only minute, null columns are absent from every row of the answer.
    let (cs, ce) = (rfc3339(core_at - 1000), rfc3339(core_at + MINUTE));
    let got = ok_json(
        &run_template(
            &service.endpoint,
            &data.group,
            "list-latency",
            &cs,
            &ce,
            &[],
        ),
        "list-latency",
    );
    let answer = service.answered().pop().unwrap();
    assert!(
        answer.rows > 0 && !answer.columns.contains("p50_ms") && !answer.columns.contains("max_ms"),
        "{answer:?}"
    );
    // The output keeps the template's columns, in its order; the absent ones are null.
    let template = audit_scan::insights::template::find("list-latency").unwrap();
    assert_eq!(got["columns"], serde_json::json!(template.columns), "{got}");
    assert!(got["rows"][0].get("p50_ms").is_none(), "{got}");
    assert_eq!(got["rows"][0]["lists"], "10");
    assert_eq!(got["rows"][0]["latency_samples"], "0");
    assert_eq!(got["rows"][0]["resource"], "pods");
}

#[test]
fn raw_records_fail_queries_run_as_they_fail_the_engine() {
    let Some(moto_ep) = moto::endpoint() else {
        return;
    };
    let group = unique("/aws/eks/raw-records/cluster");
    let t0 = moto::load_recent(&moto_ep, &group, 500, 5);
    let (since, until) = (rfc3339(t0 - MINUTE), rfc3339(t0 + MINUTE));
    // moto ignores `stats` and answers with the records themselves.
    let out = run_template(&moto_ep, &group, "client-qps", &since, &until, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("client-qps")
            && errors[0].contains("raw records")
            && errors[0].contains("use --engine download"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    // A template without `stats` is records by design: it runs.
    let out = run_template(&moto_ep, &group, "slow-requests", &since, &until, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_row_cap_and_a_service_timeout() {
    let Some(moto_ep) = moto::endpoint() else {
        return;
    };
    let group = unique("/aws/eks/row-cap/cluster");
    let n = 10_050;
    let t0 = moto::load_recent(&moto_ep, &group, 500, n);
    let service = Service::with_timeout_marker(&moto_ep, Some("as success_rate"));
    let (since, until) = (rfc3339(t0 - MINUTE), rfc3339(t0 + n * 1000 + MINUTE));
    let out = cli(
        &service.endpoint,
        &[
            "queries",
            "run",
            "slow-requests",
            "--param",
            "min_latency_ms=0",
            "--param",
            "limit=20000",
            "--log-group",
            &group,
            "--since",
            &since,
            "--until",
            &until,
            "--format",
            "json",
        ],
    );
    let got = ok_json(&out, "slow-requests");
    assert_eq!(got["rows"].as_array().unwrap().len(), 10_000);
    assert!(String::from_utf8_lossy(&out.stderr).contains("result cap"));
    let out = run_template(
        &service.endpoint,
        &group,
        "success-rate",
        &since,
        &until,
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("timed out on the service"), "{stderr}");

    // In the engine, the failed query names its template and sub-window (the probe hour, from
    // --since), in one line.
    let out = cli(
        &service.endpoint,
        &[
            "--log-group",
            &group,
            "--since",
            &since,
            "--until",
            &until,
            "--engine",
            "insights",
            "--format",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(&format!("success-rate over {since} .. "))
            && errors[0].contains("timed out on the service"),
        "{stderr}"
    );
}

//! `--use-field-indexes` through the real AWS SDK against the cloud-shaped endpoint
//! (tests/cli/common/insights_service.rs), which keeps field index policies and answers
//! `filterIndex` as the AWS pages describe it: a log group not indexed on the field is skipped
//! (nothing scanned, no rows), and an indexed one yields only the events ingested after its
//! policy whose field holds one of the values, billing only those.

use crate::common;

use std::collections::BTreeSet;
use std::process::Output;
use std::time::Duration;

use common::insights_service::Service;
use common::moto::{self, Record, cli, rfc3339, unique};
use common::ok_json;
use serde_json::Value;

const WRITES: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// Fails with exit 2 and exactly one error line, which holds every one of `needles`.
fn fails_in_one_line(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    for n in needles {
        assert!(errors[0].contains(n), "{n}: {stderr}");
    }
    assert!(out.stdout.is_empty());
}

/// `n` audit events from CloudWatch time `from_ms`, 25 ms apart: LISTs, GETs (some 404) and
/// writes of every kind (some 409), by two clients.
fn events(tag: &str, from_ms: i64, n: i64) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let t = from_ms + i * 25;
            let (verb, resource, code) = match i % 7 {
                0 | 1 => ("list", "pods", 200),
                2 => ("get", "configmaps", if i % 3 == 0 { 404 } else { 200 }),
                3 => ("update", "configmaps", if i % 5 == 0 { 409 } else { 200 }),
                4 => ("create", "events", 201),
                5 => ("patch", "leases", 200),
                _ => ("delete", "pods", 200),
            };
            let (user, agent) = if i % 2 == 0 {
                ("system:serviceaccount:team-a:op", "op/v1.2.0 (linux/amd64) kubernetes/abc1234")
            } else {
                ("alice", "kubectl/v1.31.0 (linux/amd64) kubernetes/def5678")
            };
            let name = if verb == "list" { String::new() } else { format!(r#","name":"obj-{}""#, i % 4) };
            let msg = format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{tag}-{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/{resource}","verb":"{verb}","user":{{"username":"{user}"}},"userAgent":"{agent}","objectRef":{{"resource":"{resource}","namespace":"default","apiVersion":"v1"{name}}},"responseStatus":{{"code":{code}}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}"}}"#,
                rfc3339(t - 12),
                rfc3339(t)
            );
            (t, msg)
        })
        .collect()
}

fn verb_of(message: &str) -> String {
    let e: Value = serde_json::from_str(message).unwrap();
    e["verb"].as_str().unwrap().to_owned()
}

/// Puts an index policy on `fields` through the endpoint; its lastUpdateTime.
fn put_policy(endpoint: &str, group: &str, fields: &str) -> i64 {
    let c = moto::client(endpoint);
    moto::runtime().block_on(async {
        let out = c
            .put_index_policy()
            .log_group_identifier(group)
            .policy_document(format!(r#"{{"Fields": [{fields}]}}"#))
            .send()
            .await
            .unwrap();
        out.index_policy().unwrap().last_update_time().unwrap()
    })
}

/// Runs `query` through the SDK until it completes: its rows (field → value) and statistics.
fn query(
    endpoint: &str,
    group: &str,
    text: &str,
    start_ms: i64,
    end_ms: i64,
) -> (Vec<Vec<(String, String)>>, [f64; 2]) {
    use aws_sdk_cloudwatchlogs::types::QueryStatus;
    let c = moto::client(endpoint);
    moto::runtime().block_on(async {
        let id = c
            .start_query()
            .log_group_name(group)
            .start_time(start_ms / 1000)
            .end_time(end_ms / 1000 + 1)
            .query_string(text)
            .send()
            .await
            .unwrap()
            .query_id()
            .unwrap()
            .to_owned();
        loop {
            let out = c.get_query_results().query_id(&id).send().await.unwrap();
            if out.status() == Some(&QueryStatus::Complete) {
                let rows = out
                    .results()
                    .iter()
                    .map(|r| {
                        r.iter()
                            .filter(|f| f.field() != Some("@ptr"))
                            .map(|f| (f.field().unwrap().to_owned(), f.value().unwrap().to_owned()))
                            .collect()
                    })
                    .collect();
                let s = out.statistics().unwrap();
                return (rows, [s.records_scanned(), s.bytes_scanned()]);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// Sleeps until the clock is past `ms` (the engines never read the future).
fn wait_past(ms: i64) {
    while moto::now_ms() <= ms {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn filter_index_on_the_service_skips_unindexed_groups_and_events_before_the_policy() {
    let Some(moto_ep) = moto::endpoint() else {
        return;
    };
    let service = Service::start(&moto_ep);
    let base = moto::now_ms() + 1000;
    // Ingested before the policy (their times lie ahead of it), then the policy, then more.
    let early = events("early", base + 500, 40);
    let late = events("late", base + 1500, 80);
    let (indexed, unindexed) = (
        unique("/aws/eks/indexed/cluster"),
        unique("/aws/eks/unindexed/cluster"),
    );
    moto::load(
        &moto_ep,
        &indexed,
        &[("kube-apiserver-audit-early".to_owned(), early.clone())],
    );
    std::thread::sleep(Duration::from_millis(20));
    put_policy(&service.endpoint, &indexed, r#""verb""#);
    std::thread::sleep(Duration::from_millis(20));
    moto::load(
        &moto_ep,
        &indexed,
        &[("kube-apiserver-audit-late".to_owned(), late.clone())],
    );
    moto::load(
        &moto_ep,
        &unindexed,
        &[("kube-apiserver-audit-0".to_owned(), late.clone())],
    );
    let end = base + 4000;
    wait_past(end);

    let text = "filterIndex verb in [\"update\", \"patch\"]\n| stats count(*) as n";
    let want: Vec<&Record> = late
        .iter()
        .filter(|(_, m)| ["update", "patch"].contains(&verb_of(m).as_str()))
        .collect();
    let bytes: usize = want.iter().map(|(_, m)| m.len()).sum();
    let (rows, [scanned, billed]) = query(&service.endpoint, &indexed, text, base, end);
    assert_eq!(rows, [vec![("n".to_owned(), want.len().to_string())]]);
    assert_eq!((scanned, billed), (want.len() as f64, bytes as f64));
    // A plain filter reads every event, the early ones too.
    let plain = "filter verb in [\"update\", \"patch\"]\n| stats count(*) as n";
    let all = early
        .iter()
        .chain(&late)
        .filter(|(_, m)| ["update", "patch"].contains(&verb_of(m).as_str()))
        .count();
    let (rows, [scanned, _]) = query(&service.endpoint, &indexed, plain, base, end);
    assert_eq!(rows, [vec![("n".to_owned(), all.to_string())]]);
    assert_eq!(scanned, (early.len() + late.len()) as f64);
    // Not indexed on the field: skipped, nothing scanned, no rows (and no error).
    let (rows, [scanned, billed]) = query(&service.endpoint, &unindexed, text, base, end);
    assert!(rows.is_empty());
    assert_eq!((scanned, billed), (0.0, 0.0));
    let on_stage = "filterIndex stage = \"ResponseComplete\"\n| stats count(*) as n";
    assert!(
        query(&service.endpoint, &indexed, on_stage, base, end)
            .0
            .is_empty()
    );
}

#[test]
fn templates_read_through_field_indexes_give_the_same_numbers_for_fewer_bytes() {
    let Some(moto_ep) = moto::endpoint() else {
        return;
    };
    let service = Service::start(&moto_ep);
    let (group, bare) = (
        unique("/aws/eks/with-index/cluster"),
        unique("/aws/eks/no-index/cluster"),
    );
    let policy_at = put_policy(&service.endpoint, &group, r#""verb", "userAgent""#);
    let base = moto::now_ms() + 500;
    assert!(policy_at < base);
    let records = events("ev", base + 500, 200);
    moto::load(
        &moto_ep,
        &group,
        &[("kube-apiserver-audit-0a1b".to_owned(), records.clone())],
    );
    moto::load(
        &moto_ep,
        &bare,
        &[("kube-apiserver-audit-0a1b".to_owned(), records.clone())],
    );
    let end = base + 500 + 200 * 25 + 1000;
    wait_past(end);
    let (since, until) = (rfc3339(base), rfc3339(end));
    let run = |group: &str, name: &str, extra: &[&str]| {
        let mut args = vec![
            "queries",
            "run",
            name,
            "--log-group",
            group,
            "--since",
            &since,
            "--until",
            &until,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        cli(&service.endpoint, &args)
    };
    let rows = |v: &Value| -> BTreeSet<String> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect()
    };
    let writes: Vec<&Record> = records
        .iter()
        .filter(|(_, m)| WRITES.contains(&verb_of(m).as_str()))
        .collect();
    let lists = records.iter().filter(|(_, m)| verb_of(m) == "list").count();
    for (name, matching) in [
        ("write-load", writes.len()),
        ("most-written-objects", writes.len()),
        ("list-latency", lists),
    ] {
        let plain = ok_json(&run(&group, name, &[]), name);
        let via = ok_json(&run(&group, name, &["--use-field-indexes"]), name);
        assert!(!rows(&plain).is_empty(), "{name}");
        assert_eq!(rows(&via), rows(&plain), "{name}");
        assert_eq!(
            plain["statistics"]["records_scanned"].as_f64(),
            Some(records.len() as f64),
            "{name}"
        );
        // Only the events whose verb the template keeps were scanned, and billed.
        assert_eq!(
            via["statistics"]["records_scanned"].as_f64(),
            Some(matching as f64),
            "{name}"
        );
        let billed = via["statistics"]["bytes_scanned"].as_f64().unwrap();
        assert!(
            billed < plain["statistics"]["bytes_scanned"].as_f64().unwrap(),
            "{name}"
        );
    }
    let want_bytes: usize = writes.iter().map(|(_, m)| m.len()).sum();
    let via = ok_json(
        &run(&group, "write-load", &["--use-field-indexes"]),
        "write-load",
    );
    assert_eq!(
        via["statistics"]["bytes_scanned"].as_f64(),
        Some(want_bytes as f64)
    );
    // A template without an index filter runs as it is, index or none.
    ok_json(
        &run(&bare, "client-qps", &["--use-field-indexes"]),
        "client-qps",
    );

    // Without an index on verb, or over a window from before the policy: one line, exit 2,
    // before any query is paid for.
    let before = service.answered().len();
    fails_in_one_line(
        &run(&bare, "write-load", &["--use-field-indexes"]),
        &[
            "no field index on verb",
            "put-index-policy",
            "drop --use-field-indexes",
        ],
    );
    let early = rfc3339(policy_at - 60_000);
    let args = vec![
        "queries",
        "run",
        "list-latency",
        "--log-group",
        &group,
        "--since",
        &early,
        "--until",
        &until,
        "--use-field-indexes",
    ];
    fails_in_one_line(
        &cli(&service.endpoint, &args),
        &[
            "indexes do not cover events ingested before it",
            "later --since",
        ],
    );
    assert_eq!(
        service.answered().len(),
        before,
        "a query ran before the check"
    );

    // The engine: the native download's numbers, for fewer bytes than without the index.
    let window = [
        "--log-group",
        group.as_str(),
        "--since",
        &since,
        "--until",
        &until,
        "--format",
        "json",
        "--no-progress",
    ];
    let engine = |extra: &[&str]| {
        let mut a = window.to_vec();
        a.extend(["--engine", "insights"]);
        a.extend_from_slice(extra);
        ok_json(&cli(&service.endpoint, &a), "--engine insights")
    };
    let nat = ok_json(&cli(&moto_ep, &window), "--engine download");
    let via = engine(&["--use-field-indexes"]);
    let plain = engine(&[]);
    common::compare::reports(&via, &nat, "field indexes", false);
    assert!(
        !via["writes"].as_array().unwrap().is_empty()
            && !via["lists"].as_array().unwrap().is_empty()
    );
    let bill = |r: &Value| r["summary"]["insights"]["bytes_scanned"].as_f64().unwrap();
    assert!(
        bill(&via) < bill(&plain),
        "{} vs {}",
        bill(&via),
        bill(&plain)
    );
    let bare_window = [
        "--log-group",
        bare.as_str(),
        "--since",
        &since,
        "--until",
        &until,
        "--engine",
        "insights",
        "--use-field-indexes",
    ];
    fails_in_one_line(
        &cli(&service.endpoint, &bare_window),
        &["no field index on verb"],
    );

    let shown = common::run(&["queries", "show", "write-load", "--use-field-indexes"]);
    assert!(String::from_utf8_lossy(&shown.stdout).starts_with("filterIndex verb in [\"create\""));
}

//! `audit-scan diff`: a planted regression is reported per client with the right numbers and
//! exit code 1; identical runs report nothing and exit 0; `--client` limits the comparison.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn scan(dir: &Path, log: &Path, name: &str) -> PathBuf {
    let json = dir.join(name);
    let out = common::run(&[
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json
}

fn diff(args: &[&str]) -> (Value, i32) {
    let mut all = vec!["diff", "--format", "json"];
    all.extend_from_slice(args);
    let out = common::run(&all);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

/// BASE: a generated log. CURRENT: the same log, plus a second copy of every request of one
/// client with fresh auditIDs (its load doubles; nothing else changes), plus a new client
/// rewriting one configmap every second for 10 minutes (a reconcile loop, a new finding).
fn logs(dir: &Path) -> (PathBuf, PathBuf) {
    let base = common::generated(dir, 3_000_000, 21);
    let current = dir.join("current.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&current).unwrap());
    for line in std::fs::read_to_string(&base).unwrap().lines() {
        writeln!(out, "{line}").unwrap();
        let mut e: Value = serde_json::from_str(line).unwrap();
        if e["userAgent"]
            .as_str()
            .is_some_and(|u| u.starts_with("kube-scheduler/"))
        {
            let id = format!("{}-again", e["auditID"].as_str().unwrap());
            e["auditID"] = Value::from(id);
            writeln!(out, "{e}").unwrap();
        }
    }
    // Inside the base's own time span (what its requests cover: their stage times), so the span (and
    // every other rate) stays the same.
    let times: Vec<i64> = std::fs::read_to_string(&base)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(common::is_request)
        .filter_map(|e| common::ts(&e["stageTimestamp"]))
        .collect();
    let (start, end) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
    let step = (end - start) / 601;
    for i in 0..600i64 {
        let t = chrono::DateTime::from_timestamp_micros(start + (i + 1) * step)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        writeln!(
            out,
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"loop-{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ops/configmaps/state","verb":"update","user":{{"username":"system:serviceaccount:ops:new-operator"}},"userAgent":"new-operator/v0.1.0","objectRef":{{"resource":"configmaps","namespace":"ops","name":"state","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{t}","stageTimestamp":"{t}"}}"#
        )
        .unwrap();
    }
    out.flush().unwrap();
    (base, current)
}

/// The clients with at least one regression, sorted, each once.
fn regressed(d: &Value) -> Vec<String> {
    let mut v: Vec<String> = d["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["client"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn a_planted_regression_is_reported_and_fails_ci() {
    let dir = tempfile::tempdir().unwrap();
    let (base_log, current_log) = logs(dir.path());
    let base = scan(dir.path(), &base_log, "base.json");
    let current = scan(dir.path(), &current_log, "current.json");
    let (b, c) = (base.to_str().unwrap(), current.to_str().unwrap());
    let base_report: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();

    let (d, code) = diff(&[b, c, "--fail-on-regression", "50"]);
    assert_eq!(code, 1, "{d:#}");
    let regs = d["regressions"].as_array().unwrap();
    let find = |client: &str, metric: &str| {
        regs.iter()
            .find(|r| r["client"].as_str().unwrap().starts_with(client) && r["metric"] == metric)
            .unwrap_or_else(|| panic!("no {metric} regression for {client}: {d:#}"))
    };
    // The scheduler's doubled load: +100% on requests and writes, from the base's own rates.
    let sched_base = base_report["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "kube-scheduler/scheduler")
        .unwrap();
    let r = find("kube-scheduler/scheduler", "requests");
    common::assert_close(
        r["base"].as_f64().unwrap(),
        sched_base["mean_qps"].as_f64().unwrap(),
        "base qps",
    );
    common::assert_close(r["change_pct"].as_f64().unwrap(), 100.0, "requests change");
    let w = find("kube-scheduler/scheduler", "writes");
    common::assert_close(w["change_pct"].as_f64().unwrap(), 100.0, "writes change");
    find("kube-scheduler/scheduler", "writes:create pods/binding");
    // The new operator: a new load (no percentage) and a new finding.
    let n = find("new-operator", "writes");
    assert!(n["change_pct"].is_null());
    let span = serde_json::from_slice::<Value>(&std::fs::read(&current).unwrap()).unwrap()
        ["summary"]["span_seconds"]
        .as_f64()
        .unwrap();
    assert_eq!(
        span,
        base_report["summary"]["span_seconds"].as_f64().unwrap()
    );
    common::assert_close(n["current"].as_f64().unwrap(), 600.0 / span, "new writes/s");
    assert!(
        d["new_findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "AS201"
                && f["client"].as_str().unwrap().starts_with("new-operator")),
        "{d:#}"
    );
    // No other client moved: the rest of the log is the same bytes.
    for r in regs {
        assert!(
            r["client"].as_str().unwrap().starts_with("kube-scheduler/")
                || r["client"].as_str().unwrap().starts_with("new-operator"),
            "unexpected regression {r}"
        );
    }
    assert_eq!(d["improvements"], serde_json::json!([]));

    // Text output names the client and the change.
    let out = common::run(&["diff", b, c]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("kube-scheduler") && text.contains("+100%"),
        "{text}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "no --fail-on-regression: exit 0"
    );

    // A threshold above the rise: the doubled scheduler is not a regression, but the new
    // operator still is (a new load has no percentage; a new finding always counts).
    let (d, code) = diff(&[b, c, "--threshold", "150", "--fail-on-regression", "150"]);
    assert_eq!(code, 1);
    let r = regressed(&d);
    assert!(
        !r.is_empty() && r.iter().all(|c| c.starts_with("new-operator")),
        "{r:?}"
    );

    // --fail-on-regression below --threshold still catches the +100% scheduler.
    let (d, code) = diff(&[
        b,
        c,
        "--client",
        "kube-sched*",
        "--threshold",
        "500",
        "--fail-on-regression",
        "80",
    ]);
    assert_eq!(code, 1, "{d:#}");
    let (_, code) = diff(&[
        b,
        c,
        "--client",
        "kube-sched*",
        "--threshold",
        "500",
        "--fail-on-regression",
        "150",
    ]);
    assert_eq!(code, 0);

    // --client keeps one operator: the scheduler alone regressed; an unrelated glob sees nothing.
    let (d, code) = diff(&[
        b,
        c,
        "--client",
        "kube-sched*",
        "--fail-on-regression",
        "50",
    ]);
    assert_eq!(code, 1);
    let r = regressed(&d);
    assert!(
        !r.is_empty() && r.iter().all(|c| c.starts_with("kube-scheduler/")),
        "{r:?}"
    );
    assert_eq!(d["new_findings"], serde_json::json!([]));
    let (d, code) = diff(&[b, c, "--client", "kubelet", "--fail-on-regression", "50"]);
    assert_eq!(code, 0, "{d:#}");
    assert_eq!(d["regressions"], serde_json::json!([]));

    // Reversed: the loop is resolved and the scheduler improved by half.
    let (d, code) = diff(&[c, b, "--fail-on-regression", "50"]);
    assert_eq!(code, 0, "{d:#}");
    assert!(
        d["resolved_findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "AS201")
    );
    let imp = d["improvements"].as_array().unwrap();
    assert!(imp.iter().any(|r| r["client"] == "kube-scheduler/scheduler"
        && (r["change_pct"].as_f64().unwrap() + 50.0).abs() < 0.5));
}

#[test]
fn identical_runs_report_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = common::generated(dir.path(), 1_000_000, 3);
    let a = scan(dir.path(), &log, "a.json");
    let b = scan(dir.path(), &log, "b.json");
    let (d, code) = diff(&[
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--fail-on-regression",
        "0",
    ]);
    assert_eq!(code, 0);
    for k in [
        "regressions",
        "improvements",
        "new_findings",
        "resolved_findings",
    ] {
        assert_eq!(d[k], serde_json::json!([]), "{k}");
    }
    let out = common::run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("No regression.")
    );
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("x.json");
    std::fs::write(&not_json, "{\"schema\": \"something/else\"}").unwrap();
    let out = common::run(&[
        "diff",
        not_json.to_str().unwrap(),
        not_json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("x.json") && err.contains("not an audit-scan JSON report"),
        "{err}"
    );
    let out = common::run(&["diff", "/nonexistent/a.json", not_json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/a.json"));
}

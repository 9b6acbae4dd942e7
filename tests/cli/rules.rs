//! Detection rules on generated logs: each rule fires on its planted pattern with the right
//! client, resource and object, stays silent on background traffic, and planted problems rank
//! in the top 10 of a mixed log. Exit codes and `--config` suppressions work.

use crate::common;

use std::path::PathBuf;

use audit_scan::synth::{Plant, SynthConfig, generate};
use serde_json::Value;

fn log(dir: &std::path::Path, name: &str, plants: &[Plant]) -> PathBuf {
    let path = dir.join(format!("{name}.jsonl"));
    let cfg = SynthConfig {
        bytes: 4_000_000,
        seed: 17,
        rate: 8.0,
        plants: plants.to_vec(),
        ..Default::default()
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    generate(&cfg, &mut f).unwrap();
    std::io::Write::flush(&mut f).unwrap();
    path
}

fn findings(path: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![path.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::report(&args)["findings"]
        .as_array()
        .unwrap()
        .clone()
}

/// Asserts a finding of `rule` for `client`, with `resource` and `object` when given.
fn assert_fires(
    plant: Plant,
    rule: &str,
    client: &str,
    resource: Option<&str>,
    object: Option<&str>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = log(dir.path(), "hit", &[plant]);
    let f = findings(&path, &[]);
    let hit = f
        .iter()
        .find(|x| x["rule"] == rule && x["client"] == client);
    let Some(hit) = hit else {
        panic!("{rule} did not fire for {client}: {f:#?}")
    };
    if let Some(r) = resource {
        assert_eq!(hit["resource"], r, "{hit:#}");
    }
    if let Some(o) = object {
        assert_eq!(hit["object"], o, "{hit:#}");
    }
    assert!(!hit["remediation"].as_str().unwrap().is_empty());
    assert!(
        hit["score"].as_f64().unwrap() > 0.0,
        "a finding costs something: {hit:#}"
    );
    assert_evidence(&path, hit);
    // Only the planted clients are flagged: the background stays silent. Fighting writers
    // are two clients, each of which may carry the finding.
    let planted: &[&str] = if plant == Plant::FightingWriters {
        &[
            client,
            "kustomize-controller@flux-system/kustomize-controller",
        ]
    } else {
        &[client]
    };
    let others: Vec<&Value> = f
        .iter()
        .filter(|x| !planted.iter().any(|c| x["client"] == *c))
        .collect();
    assert!(others.is_empty(), "background flagged: {others:#?}");
}

/// The evidence stands up: the measured value is past the threshold it names, the window is
/// ordered, and each sample auditID is a request of the log.
fn assert_evidence(log: &std::path::Path, hit: &Value) {
    let e = &hit["evidence"];
    let (value, threshold) = (
        e["value"].as_f64().unwrap(),
        e["threshold"].as_f64().unwrap(),
    );
    assert!(value >= threshold, "value under its threshold: {e:#}");
    if let (Some(first), Some(last)) = (e["first"].as_str(), e["last"].as_str()) {
        assert!(first <= last, "{e:#}");
    }
    let ids: Vec<&str> = e["sample_audit_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!ids.is_empty(), "no sample auditIDs: {e:#}");
    let text = std::fs::read_to_string(log).unwrap();
    for id in ids {
        assert!(
            text.contains(&format!(r#""auditID":"{id}""#)),
            "sample auditID {id} is not in the log"
        );
    }
}

#[test]
fn background_traffic_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let f = findings(&log(dir.path(), "miss", &[]), &[]);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn as101_expensive_list() {
    assert_fires(
        Plant::ExpensiveList,
        "AS101",
        "report-exporter@reporting/exporter",
        Some("pods"),
        None,
    );
}

#[test]
fn as102_watch_relist_storm() {
    assert_fires(
        Plant::RelistStorm,
        "AS102",
        "flaky-informer@edge/flaky",
        Some("secrets"),
        None,
    );
}

#[test]
fn as201_tight_reconcile_loop() {
    assert_fires(
        Plant::ReconcileLoop,
        "AS201",
        "loop-operator@team-a/loop-operator",
        Some("configmaps"),
        Some("team-a/app-state"),
    );
}

#[test]
fn as202_noop_updates() {
    assert_fires(
        Plant::NoopUpdates,
        "AS202",
        "config-syncer@team-n/config-syncer",
        Some("configmaps"),
        None,
    );
}

#[test]
fn as203_write_heavy_client() {
    assert_fires(
        Plant::WriteHeavy,
        "AS203",
        "bulk-writer@data/bulk-writer",
        None,
        None,
    );
}

#[test]
fn as204_conflict_storm() {
    assert_fires(
        Plant::ConflictStorm,
        "AS204",
        "sync-operator@team-b/sync-operator",
        Some("configmaps"),
        Some("team-b/shared-config"),
    );
}

#[test]
fn as205_fighting_writers() {
    assert_fires(
        Plant::FightingWriters,
        "AS205",
        "argocd-application-controller@argocd/argocd-application-controller",
        Some("deployments.apps"),
        Some("team-c/web"),
    );
}

#[test]
fn as301_throttled_client() {
    assert_fires(
        Plant::Throttled,
        "AS301",
        "ci-deployer@ci/deployer",
        None,
        None,
    );
}

#[test]
fn as302_client_side_throttling() {
    assert_fires(
        Plant::ClientThrottling,
        "AS302",
        "batch-sync@jobs/batch-sync",
        None,
        None,
    );
}

#[test]
fn as303_missing_object_hot_loop() {
    assert_fires(
        Plant::MissingObject,
        "AS303",
        "cfg-watcher@team-x/cfg-watcher",
        Some("configmaps"),
        None,
    );
}

#[test]
fn as401_deprecated_api_caller() {
    assert_fires(
        Plant::DeprecatedApi,
        "AS401",
        "legacy-tool@ops/legacy",
        Some("policy/v1beta1/poddisruptionbudgets"),
        None,
    );
}

#[test]
fn as501_slow_requests() {
    assert_fires(
        Plant::SlowRequests,
        "AS501",
        "slow-writer@team-s/slow-writer",
        Some("mutating"),
        None,
    );
}

#[test]
fn planted_problems_rank_in_the_top_10_by_severity_then_score() {
    let dir = tempfile::tempdir().unwrap();
    let plants = [
        (Plant::ExpensiveList, "AS101"),
        (Plant::ReconcileLoop, "AS201"),
        (Plant::WriteHeavy, "AS203"),
        (Plant::ConflictStorm, "AS204"),
        (Plant::MissingObject, "AS303"),
        (Plant::SlowRequests, "AS501"),
        (Plant::DeprecatedApi, "AS401"),
    ];
    let all: Vec<Plant> = plants.iter().map(|p| p.0).collect();
    let f = findings(&log(dir.path(), "mixed", &all), &[]);
    let top: Vec<&Value> = f.iter().take(10).collect();
    for (_, rule) in plants {
        assert!(
            top.iter().any(|x| x["rule"] == rule),
            "{rule} not in the top 10: {top:#?}"
        );
    }
    // Severity first, then score within a severity: a HIGH never sits below a LOW.
    let level = |x: &Value| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|s| x["severity"] == *s)
            .unwrap()
    };
    let keys: Vec<(usize, f64)> = f
        .iter()
        .map(|x| (level(x), x["score"].as_f64().unwrap()))
        .collect();
    assert!(
        keys.windows(2)
            .all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 >= w[1].1)),
        "ranked by severity, then score: {keys:?}"
    );
    assert!(f.iter().enumerate().all(|(i, x)| x["rank"] == i + 1));
}

#[test]
fn fail_on_sets_exit_code_1_and_errors_win_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = log(dir.path(), "fail", &[Plant::ExpensiveList]);
    let p = p.to_str().unwrap();
    assert_eq!(
        common::run(&[p, "--fail-on", "high"]).status.code(),
        Some(1)
    );
    assert_eq!(common::run(&[p]).status.code(), Some(0));
    assert_eq!(
        common::run(&[p, "--fail-on", "high", "--min-severity", "high"])
            .status
            .code(),
        Some(1)
    );
    let clean = log(dir.path(), "clean", &[]);
    assert_eq!(
        common::run(&[clean.to_str().unwrap(), "--fail-on", "info"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        common::run(&[p, "/no/such/file", "--fail-on", "info"])
            .status
            .code(),
        Some(2)
    );
    // An error after the findings exist (the report cannot be written) still wins with 2.
    let out = common::run(&[p, "--fail-on", "high", "-o", "/no/such/dir/report.txt"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dir/report.txt"));
}

#[test]
fn config_thresholds_and_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let p = log(
        dir.path(),
        "cfg",
        &[Plant::ExpensiveList, Plant::MissingObject],
    );
    let cfg = dir.path().join("audit-scan.toml");
    std::fs::write(
        &cfg,
        r#"
[rules.AS303]
per_hour = 100000

[[suppress]]
rule = "expensive-list"
client = "report-*"
reason = "exporter is being replaced in Q1"
expires = "2999-12-31"
"#,
    )
    .unwrap();
    let r = common::report(&[p.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    let f = r["findings"].as_array().unwrap();
    assert!(
        !f.iter().any(|x| x["rule"] == "AS303"),
        "threshold raised: {f:#?}"
    );
    assert!(!f.iter().any(|x| x["rule"] == "AS101"));
    let s = r["suppressed"].as_array().unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0]["suppressed"],
        "exporter is being replaced in Q1 (until 2999-12-31)"
    );
    // An expired suppression no longer applies.
    std::fs::write(&cfg, "[[suppress]]\nrule = \"AS101\"\nclient = \"*\"\nreason = \"old\"\nexpires = \"2000-01-01\"\n").unwrap();
    let r = common::report(&[p.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["rule"] == "AS101")
    );
    // A typo is an error that names it.
    std::fs::write(&cfg, "[rules.AS101]\netcd_list_per_hour = 5\n").unwrap();
    let out = common::run(&[p.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no threshold 'etcd_list_per_hour'"));
}

#[test]
fn rules_subcommand_lists_and_documents() {
    let out = common::run(&["rules"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), audit_scan::rules::RULES.len() + 1);
    let out = common::run(&["rules", "tight-reconcile-loop"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("AS201 tight-reconcile-loop")
            && text.contains("# Remediation")
            && text.contains("writes_per_minute = 10")
    );
    let out = common::run(&["rules", "AS999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn as502_slow_or_failing_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let f = findings(&log(dir.path(), "webhook", &[Plant::SlowWebhook]), &[]);
    let hit = f
        .iter()
        .find(|x| x["rule"] == "AS502")
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(hit["client"], "webhook validate.policy-agent.io");
    assert_eq!(hit["severity"], "high", "it refused requests");
    assert!(
        hit["evidence"]["details"]["failed_closed"]
            .as_u64()
            .unwrap()
            > 10
    );
    // The callers it slows miss their latency SLO, and nothing else is flagged.
    assert!(
        f.iter()
            .all(|x| x["rule"] == "AS502" || x["rule"] == "AS501"),
        "{f:#?}"
    );
}

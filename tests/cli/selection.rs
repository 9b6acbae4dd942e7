//! A filtered scan keeps the cluster's context: `--client X` audits X against the whole
//! cluster. The cluster-wide facts of a filtered scan (version, coverage, span, health, sizing)
//! equal the unfiltered scan's, shares are of the cluster, the selection section's numbers are
//! counted here from the raw lines, and a filter that selects nothing warns (and fails under
//! `--strict`), as does `diff --client` matching no client.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use audit_scan::synth::{Plant, SynthConfig};
use serde_json::Value;

fn log(dir: &Path) -> PathBuf {
    let path = dir.join("cluster.jsonl");
    common::write_generated(
        &path,
        &SynthConfig {
            bytes: 4_000_000,
            seed: 23,
            // The default rate: at a few requests/s heartbeats are most of the traffic and
            // bulk-writer nearly all the other writes.
            rate: 300.0,
            plants: vec![Plant::WriteHeavy, Plant::ExpensiveList],
            ..Default::default()
        },
    );
    path
}

fn scan(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec![path.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::report(&args)
}

/// The userAgent's program: the text before the first `/`.
fn product(e: &Value) -> &str {
    let ua = e["userAgent"].as_str().unwrap_or("");
    ua.split('/').next().unwrap_or("")
}

fn heartbeat(e: &Value) -> bool {
    let r = e["objectRef"]["resource"].as_str().unwrap_or("");
    let sub = e["objectRef"]["subresource"].as_str().unwrap_or("");
    r == "leases" || (r == "nodes" && sub == "status")
}

/// (rule, client, resource, object, severity, score) of the findings of `clients`.
fn findings_of(r: &Value, clients: &BTreeSet<String>) -> BTreeSet<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| clients.contains(f["client"].as_str().unwrap()))
        .map(|f| {
            format!(
                "{} {} {} {} {} {}",
                f["rule"], f["client"], f["resource"], f["object"], f["severity"], f["score"]
            )
        })
        .collect()
}

#[test]
fn a_filtered_scan_keeps_the_cluster_facts() {
    let dir = tempfile::tempdir().unwrap();
    let path = log(dir.path());
    let all = scan(&path, &[]);
    let sel = scan(
        &path,
        &["--client", "bulk-writer", "--client", "report-exporter*"],
    );
    for key in [
        "server_version",
        "consistent_list_from_cache",
        "first_timestamp",
        "last_timestamp",
        "span_seconds",
        "coverage",
    ] {
        assert_eq!(sel["summary"][key], all["summary"][key], "summary.{key}");
    }
    assert!(all["summary"]["server_version"].is_string());
    assert_eq!(sel["sizing"], all["sizing"], "sizing is the cluster's");
    for key in [
        "minutes",
        "below_threshold",
        "slo_windows_checked",
        "slo_violations",
    ] {
        assert_eq!(sel["health"][key], all["health"][key], "health.{key}");
    }

    // The selection: the two planted clients, counted from the raw lines.
    let events = common::events(&path);
    let requests: Vec<&Value> = events.iter().filter(|e| common::is_request(e)).collect();
    let picked = |e: &&Value| matches!(product(e), "bulk-writer" | "report-exporter");
    let chosen: Vec<&Value> = requests.iter().copied().filter(picked).collect();
    let clients: BTreeSet<String> = sel["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        clients,
        BTreeSet::from([
            "bulk-writer@data/bulk-writer".to_owned(),
            "report-exporter@reporting/exporter".to_owned()
        ])
    );
    let s = &sel["summary"]["selection"];
    assert_eq!(
        s["filters"],
        serde_json::json!(["--client 'bulk-writer'", "--client 'report-exporter*'"])
    );
    assert_eq!(s["requests"], chosen.len() as u64);
    assert_eq!(s["cluster_requests"], requests.len() as u64);
    let want = (chosen.len() as f64 / requests.len() as f64 * 1e4).round() / 1e4;
    assert_eq!(s["share_of_requests"].as_f64().unwrap(), want);
    let writes = |v: &[&Value]| v.iter().filter(|e| common::is_write(e)).count() as u64;
    assert_eq!(s["writes"], writes(&chosen));
    assert_eq!(s["cluster_writes"], writes(&requests));
    assert_eq!(
        s["cluster_clients"].as_u64().unwrap(),
        all["clients"].as_array().unwrap().len() as u64
    );
    assert_eq!(s["unmatched"], serde_json::json!([]));
    assert!(
        all["summary"].get("selection").is_none(),
        "absent unfiltered"
    );

    // The timeline is the selection's, per minute.
    let want = common::per_minute(&events, |e| picked(&e));
    let got: std::collections::BTreeMap<i64, u64> = sel["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let t = common::ts(&m["minute"]).unwrap();
            (t.div_euclid(60_000_000), m["requests"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(got, want);

    // Rates are over the cluster's span: the client rows equal the unfiltered ones.
    for c in sel["clients"].as_array().unwrap() {
        let u = all["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["client"] == c["client"])
            .unwrap();
        // Its cost share is of the cluster, estimated in a filtered scan (docs/report-schema.md).
        let (mut c, mut u) = (c.clone(), u.clone());
        let (cs, us) = (
            c["cost_share"].as_f64().unwrap(),
            u["cost_share"].as_f64().unwrap(),
        );
        assert!(
            (cs - us).abs() <= 0.3 * us + 0.002,
            "cost share {cs} vs {us} of {}",
            c["client"]
        );
        c["cost_share"] = Value::Null;
        u["cost_share"] = Value::Null;
        assert_eq!(c, u, "client row of {}", c["client"]);
    }
    // The same findings, scores and severities for the selected clients: no AS203 at 100% of
    // the filtered writes, no AS101 from a forgotten server version.
    assert_eq!(findings_of(&sel, &clients), findings_of(&all, &clients));
    assert_eq!(
        sel["findings"].as_array().unwrap().len(),
        findings_of(&sel, &clients).len()
    );
}

#[test]
fn a_filtered_clients_share_is_its_share_of_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let path = log(dir.path());
    let share = |r: &Value| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "AS203")
            .map(|f| {
                f["evidence"]["details"]["share_of_cluster_writes"]
                    .as_f64()
                    .unwrap()
            })
    };
    let all = share(&scan(&path, &[])).expect("AS203 unfiltered");
    let sel = share(&scan(&path, &["--client", "bulk-writer*"])).expect("AS203 filtered");
    assert_eq!(sel, all);
    // Counted here: bulk-writer's non-heartbeat writes over the cluster's.
    let events = common::events(&path);
    let writes: Vec<&Value> = events
        .iter()
        .filter(|e| common::is_request(e) && common::is_write(e) && !heartbeat(e))
        .collect();
    let mine = writes
        .iter()
        .filter(|e| product(e) == "bulk-writer")
        .count();
    let want = (mine as f64 / writes.len() as f64 * 1000.0 * 10.0).round() / 10.0 / 1000.0;
    assert!((sel - want).abs() < 1e-9, "share {sel}, counted {want}");
    assert!(
        sel < 0.9,
        "a share of the cluster, not of the selection: {sel}"
    );
}

#[test]
fn client_globs_match_the_user_agent_product() {
    let dir = tempfile::tempdir().unwrap();
    let path = log(dir.path());
    let r = scan(&path, &["--client", "karpenter"]);
    let names: Vec<&str> = r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["karpenter@kube-system/karpenter"]);
    let events = common::events(&path);
    let want = events
        .iter()
        .filter(|e| common::is_request(e) && product(e) == "karpenter")
        .count() as u64;
    assert!(want > 0);
    assert_eq!(r["summary"]["requests"], want);
    assert_eq!(
        r["summary"]["selection"]["unmatched"],
        serde_json::json!([])
    );
}

#[test]
fn a_filter_that_selects_nothing_warns_and_fails_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let path = log(dir.path());
    let p = path.to_str().unwrap();
    let out = common::run(&[
        "--format",
        "json",
        "--no-progress",
        p,
        "--client",
        "karpentr",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--client 'karpentr' matched no request in the window")
            && stderr.contains("nearest clients: karpenter@kube-system/karpenter"),
        "{stderr}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &r["summary"];
    assert_eq!(
        s["selection"]["unmatched"],
        serde_json::json!(["--client 'karpentr'"])
    );
    let warnings: Vec<&str> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(warnings.iter().any(|w| w.contains("matched no request")));
    assert!(warnings.iter().any(|w| w.contains("selected none of the")));
    let strict = common::run(&["--no-progress", "--strict", p, "--client", "karpentr"]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("(--strict)"));

    // Each pattern matches, but together they select nothing: karpenter deletes nothing.
    let out = common::run(&[
        "--format",
        "json",
        "--no-progress",
        p,
        "--client",
        "karpenter",
        "--verb",
        "deletecollection",
    ]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = r["summary"]["warnings"].to_string();
    assert!(warnings.contains("selected none of the"), "{warnings}");
    assert!(
        !warnings.contains("karpenter' matched no request"),
        "{warnings}"
    );
    let strict = common::run(&[
        "--no-progress",
        "--strict",
        p,
        "--client",
        "karpenter",
        "--verb",
        "deletecollection",
    ]);
    assert_eq!(strict.status.code(), Some(2));
}

#[test]
fn every_format_states_the_selection() {
    let dir = tempfile::tempdir().unwrap();
    let path = log(dir.path());
    let p = path.to_str().unwrap();
    let events = common::events(&path);
    let requests = events.iter().filter(|e| common::is_request(e));
    let all = requests.clone().count();
    let mine = requests.filter(|e| product(e) == "karpenter").count();
    for (format, want) in [
        (
            "text",
            format!("selection --client 'karpenter': {mine} of the cluster's {all} requests ("),
        ),
        (
            "md",
            format!("**selection --client 'karpenter': {mine} of the cluster's {all} requests ("),
        ),
        (
            "html",
            format!(
                r#"<p class="meta">selection --client &#39;karpenter&#39;: {mine} of the cluster&#39;s {all} requests ("#
            ),
        ),
    ] {
        let out = common::run(&[
            "--no-progress",
            "--format",
            format,
            p,
            "--client",
            "karpenter",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&want), "{format}: no `{want}` in\n{text}");
    }
}

#[test]
fn diff_client_matching_no_client_exits_2_with_the_nearest_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = log(dir.path());
    let json = dir.path().join("r.json");
    let out = common::run(&[
        "--no-progress",
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let j = json.to_str().unwrap();
    let out = common::run(&["diff", j, j, "--client", "karpentr"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--client 'karpentr' matches no client in BASE or CURRENT")
            && stderr.contains("karpenter@kube-system/karpenter"),
        "{stderr}"
    );
    // The product matches, as in the scan.
    let out = common::run(&[
        "diff",
        j,
        j,
        "--client",
        "karpenter",
        "--fail-on-regression",
        "50",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

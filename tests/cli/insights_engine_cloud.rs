//! `--engine insights|auto` and `--dry-run` against moto: the plan printed without running it,
//! auto downloading a small window, and one-line errors (exit 2); the executor's lifecycle with
//! the real CloudWatch runner is in tests/cli/insights_engine_split.rs. moto ignores `stats` (it answers these templates with rows lacking their columns), so
//! report numbers are tested with the local evaluator (tests/cli/insights_engine.rs).

use crate::common;

use std::process::{Output, Stdio};

use common::moto;
use common::moto::{rfc3339, unique};

/// Loads `n` audit events, one per second at .500 (never on a sub-window edge), from an hour
/// ago; returns the first second.
fn load(endpoint: &str, group: &str, n: i64) -> i64 {
    moto::load_recent(endpoint, group, 500, n)
}

fn scan(endpoint: &str, args: &[&str]) -> Output {
    let mut cmd = common::bin();
    moto::aws_env(&mut cmd)
        .args(["--endpoint-url", endpoint, "--no-progress"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing_else() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let group = unique("/aws/eks/engine-dry/cluster");
    let t0 = load(&endpoint, &group, 10);
    let (since, until) = (rfc3339(t0 - 60_000), rfc3339(t0 + 3 * 86_400_000 / 4));
    let out = scan(
        &endpoint,
        &[
            "--log-group",
            &group,
            "--since",
            &since,
            "--until",
            &until,
            "--engine",
            "insights",
            "--dry-run",
            "--insights-slice",
            "6h",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The window runs to now (an hour after t0): one 6 h sub-window... or two across a boundary.
    assert!(stdout.contains("Logs Insights plan for"), "{stdout}");
    assert!(stdout.contains("list-latency-histogram"), "{stdout}");
    assert!(stdout.contains("at most 4 in flight"), "{stdout}");
    assert!(stdout.contains("estimate:"), "{stdout}");
    assert!(!stdout.contains("\"schema\""), "no report on a dry run");
}

#[test]
fn auto_downloads_a_small_window() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let group = unique("/aws/eks/engine-auto/cluster");
    let t0 = load(&endpoint, &group, 30);
    let since = rfc3339(t0 - 60_000);
    let out = scan(
        &endpoint,
        &[
            "--log-group",
            &group,
            "--since",
            &since,
            "--engine",
            "auto",
            "--format",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("--engine auto:") && stderr.contains("download"),
        "{stderr}"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["summary"]["requests"], 30);
    assert!(r["summary"].get("engine").is_none());
}

#[test]
fn insights_on_raw_records_and_misuse_fail_in_one_line() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let group = unique("/aws/eks/engine-run/cluster");
    let t0 = load(&endpoint, &group, 5);
    let since = rfc3339(t0 - 60_000);
    let out = scan(
        &endpoint,
        &[
            "--log-group",
            &group,
            "--since",
            &since,
            "--engine",
            "insights",
            "--format",
            "json",
        ],
    );
    // moto answers a `stats` template with records that lack its columns: one line, exit 2,
    // naming the way out (AWS answers with the aggregates; tests/cli/insights_engine.rs).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // The first query is the window's profile (log-volume, bin(1h)): it fails, nothing else runs.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("log-volume") && errors[0].contains("use --engine download"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("templates, at least"),
        "no plan after a failed profile: {stderr}"
    );
    assert!(out.stdout.is_empty());

    let file = common::fixture("realdata/audit2rbac-demo-v1beta1-2017.jsonl");
    let out = scan(&endpoint, &[file.to_str().unwrap(), "--engine", "insights"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --cluster or --log-group"));
    let out = scan(
        &endpoint,
        &[
            "--log-group",
            &group,
            "--engine",
            "insights",
            "--client",
            "kubectl",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("--engine download"));
    let out = scan(
        &endpoint,
        &[
            "--log-group",
            &group,
            "--engine",
            "insights",
            "--save",
            "/tmp/x.jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("drop --save"));
}

//! `--engine insights|auto` and `--dry-run` against moto: the executor's lifecycle with the real
//! CloudWatch runner (capped sub-windows split and rerun until every record came back once), the
//! plan printed without running it, auto downloading a small window, and one-line errors (exit
//! 2). moto ignores `stats` (it answers these templates with rows lacking their columns), so
//! report numbers are tested with the local evaluator (tests/insights_engine.rs).

#![cfg(feature = "cloudwatch")]

mod common;

use std::process::{Output, Stdio};

use audit_scan::insights::engine::{CloudRunner, Job, Limits, execute};
use common::moto;
use common::moto::{now_ms, unique};

fn rfc3339(ms: i64) -> String {
    audit_scan::timefmt::format_rfc3339(ms * 1000)
}

/// Loads `n` audit events, one per second at .500 (never on a sub-window edge), from an hour
/// ago; returns the first second.
fn load(endpoint: &str, group: &str, n: i64) -> i64 {
    let t0 = (now_ms() - 3_600_000) / 1000 * 1000;
    moto::load_lists(endpoint, group, t0, 500, n);
    t0
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
fn capped_sub_windows_are_split_and_rerun_on_the_service() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let group = unique("/aws/eks/engine-split/cluster");
    let t0 = load(&endpoint, &group, 40);
    // SAFETY: set before any thread of this test reads the environment; every value is the
    // same static test credential the other tests use.
    unsafe {
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            ),
        ] {
            std::env::set_var(k, v);
        }
    }
    let runner = CloudRunner {
        spec: audit_scan::insights::cloud::Spec {
            log_group: group.clone(),
            region: Some("us-east-1".into()),
            profile: None,
            endpoint_url: Some(endpoint.clone()),
            max_attempts: 3,
            timeout: std::time::Duration::from_secs(30),
        },
        stream_prefix: Some("kube-apiserver-audit".into()),
    };
    let limits = Limits {
        concurrency: 2,
        row_limit: 8,
        min_window_ms: 1000,
    };
    let jobs = vec![Job {
        template: 0,
        start_ms: t0,
        end_ms: t0 + 40_000,
    }];
    let run = execute(
        &["fields @message | limit 8".into()],
        jobs,
        &runner,
        &limits,
    )
    .unwrap();
    assert!(run.queries > run.done.len(), "capped answers were rerun");
    let done = run.done;
    let rows: usize = done.iter().map(|d| d.answer.result.rows.len()).sum();
    assert_eq!(rows, 40, "every record comes back exactly once");
    assert!(
        done.len() >= 6,
        "40 rows in pages under 8 need 6 sub-windows at least"
    );
    assert!(
        done.iter()
            .all(|d| !d.cut && d.answer.result.rows.len() < 8)
    );
    assert!(
        done.windows(2)
            .all(|p| p[0].job.end_ms == p[1].job.start_ms)
    );
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
    // naming the way out (AWS answers with the aggregates; tests/insights_engine.rs).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("9 templates over 1 sub-window(s)"),
        "{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("client-qps") && errors[0].contains("use --engine download"),
        "{stderr}"
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

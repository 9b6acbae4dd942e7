//! The Logs Insights executor with the real CloudWatch runner against moto: capped sub-windows
//! are split and rerun on the service until every record came back exactly once. The in-process
//! SDK reads its credentials from the environment, which no test may set while other test threads
//! run: the test runs itself again in a child process of this binary whose environment holds them.

use crate::common;

use audit_scan::insights::engine::{CloudRunner, Job, Limits, Named, execute};
use common::moto;
use common::moto::unique;

/// Set in the child run, whose environment holds the static test credentials of `aws_env`.
const CHILD: &str = "AUDIT_SCAN_TEST_SDK_ENV";

#[test]
fn capped_sub_windows_are_split_and_rerun_on_the_service() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    if std::env::var_os(CHILD).is_none() {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        let out = moto::aws_env(&mut child)
            .args([
                "--exact",
                "insights_engine_split::capped_sub_windows_are_split_and_rerun_on_the_service",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "the child run failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let group = unique("/aws/eks/engine-split/cluster");
    // 40 events one a second at .500: never on a sub-window edge.
    let t0 = moto::load_recent(&endpoint, &group, 500, 40);
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
        field_indexes: false,
    };
    let jobs = vec![Job {
        template: 0,
        start_ms: t0,
        end_ms: t0 + 40_000,
    }];
    let run = execute(
        &[Named::new("records", "fields @message | limit 8".into())],
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

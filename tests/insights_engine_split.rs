//! The Logs Insights executor with the real CloudWatch runner against moto: capped sub-windows
//! are split and rerun on the service until every record came back exactly once. Alone in its
//! test binary because the in-process SDK reads its credentials from the environment, which it
//! sets (no other test thread may touch the environment meanwhile).

#![cfg(feature = "cloudwatch")]

mod common;

use audit_scan::insights::engine::{CloudRunner, Job, Limits, execute};
use common::moto;
use common::moto::unique;

#[test]
fn capped_sub_windows_are_split_and_rerun_on_the_service() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let group = unique("/aws/eks/engine-split/cluster");
    // 40 events one a second at .500: never on a sub-window edge.
    let t0 = moto::load_recent(&endpoint, &group, 500, 40);
    // SAFETY: this test is alone in its binary, so no other thread reads or writes the
    // environment while it is set; the values are the static test credentials of `aws_env`.
    unsafe {
        for (k, v) in moto::TEST_ENV {
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

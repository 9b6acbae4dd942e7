//! `--engine insights` end to end without AWS: the report's templates run through the executor
//! with the LOCAL evaluator as the runner (small sub-windows and a small row limit, so results
//! are capped and split), and the report built from the merged rows has the native engine's
//! counts on the same events; LIST percentiles within 2% (histogram bin plus sketch).

use crate::common;

use std::path::{Path, PathBuf};

use audit_scan::aggregate::filter::Window;
use audit_scan::insights::engine::{Limits, LocalRunner};
use audit_scan::insights::scan::run_report;
use common::*;
use serde_json::Value;

fn synthetic(dir: &Path) -> PathBuf {
    use audit_scan::synth::Plant;
    midnight_log(
        dir,
        1_000_000,
        11,
        &[
            Plant::ConflictStorm,
            Plant::Throttled,
            Plant::ExpensiveList,
            Plant::ReconcileLoop,
        ],
    )
}

/// The insights report of `input`, built with the local evaluator as runner.
fn insights_report(
    input: &Path,
    slice_ms: i64,
    row_limit: usize,
) -> audit_scan::model::report::Report {
    let lines: Vec<String> = events(input)
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let runner = LocalRunner { lines };
    let times: Vec<i64> = runner
        .lines
        .iter()
        .filter_map(|l| audit_scan::insights::local::event_of_line(l).timestamp)
        .collect();
    let (lo, hi) = (
        *times.iter().min().unwrap(),
        *times.iter().max().unwrap() + 1,
    );
    let limits = Limits {
        concurrency: 3,
        row_limit,
        min_window_ms: 1000,
        field_indexes: false,
    };
    run_report(
        &runner,
        "local",
        Window::default(),
        lo,
        hi,
        slice_ms,
        &limits,
        None,
    )
    .unwrap()
}

/// The insights report of `input` (via the local evaluator) and the native one.
fn both(input: &Path, slice_ms: i64, row_limit: usize) -> (Value, Value) {
    (
        serde_json::to_value(insights_report(input, slice_ms, row_limit)).unwrap(),
        report(&[input.to_str().unwrap()]),
    )
}

/// Compares every counted table; with `rich`, each must hold rows (no vacuous equality).
fn compare(input: &Path, slice_ms: i64, row_limit: usize, rich: bool) -> usize {
    let (ins, nat) = both(input, slice_ms, row_limit);
    common::compare::reports(&ins, &nat, &input.display().to_string(), rich)
}

#[test]
fn insights_report_counts_equal_the_native_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for (input, slice) in [
        (
            fixture("realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl"),
            60_000,
        ),
        (
            fixture("realdata/audit2rbac-demo-v1beta1-2017.jsonl"),
            3_600_000,
        ),
        (
            fixture("realdata/hkerma-perfspec-derived-partial-events.jsonl.gz"),
            600_000,
        ),
        (synthetic(dir.path()), 120_000),
    ] {
        let rich = input.starts_with(dir.path());
        compared += compare(&input, slice, 300, rich);
    }
    assert!(compared >= 5, "only {compared} LIST latencies compared");
}

#[test]
fn capped_results_are_split_and_still_add_up() {
    // A row limit of 20 caps most first answers: the executor halves them until they fit.
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic(dir.path());
    let (ins, _) = both(&input, 86_400_000, 20);
    let facts = &ins["summary"]["insights"];
    let kept: u64 = facts["sub_windows"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    // One sub-window per template when nothing is split (the span is under one slice).
    let templates = audit_scan::build::insights::TEMPLATES.len() as u64;
    assert!(kept > templates, "nothing was split: {facts}");
    assert!(
        facts["queries"].as_u64().unwrap() > kept,
        "capped answers were rerun"
    );
    compare(&input, 86_400_000, 20, true);
}

#[test]
fn rules_run_on_the_insights_report_as_on_the_native_one() {
    // Conflicts (AS204) and APF throttling (AS301) are judged from the errors table, which this
    // engine fills: both engines find them on a log with both planted.
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic(dir.path());
    let r = insights_report(&input, 3_600_000, 10_000);
    let (findings, _) =
        audit_scan::rules::run(&r, &audit_scan::rules::Config::default(), "2024-05-02");
    let codes: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    let nat = report(&[input.to_str().unwrap()]);
    let native_codes: Vec<&str> = nat["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for code in ["AS204", "AS301"] {
        assert!(native_codes.contains(&code), "native: {native_codes:?}");
        assert!(codes.contains(&code), "insights: {codes:?}");
    }
}

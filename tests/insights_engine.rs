//! `--engine insights` end to end without AWS: the report's templates run through the executor
//! with the LOCAL evaluator as the runner (small sub-windows and a small row limit, so results
//! are capped and split), and the report built from the merged rows has the native engine's
//! counts on the same events; LIST percentiles within 2% (histogram bin plus sketch).

mod common;

use std::collections::BTreeMap;
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
) -> audit_scan::report::model::Report {
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
    };
    run_report(
        &runner,
        "local",
        Window::default(),
        lo,
        hi,
        slice_ms,
        &limits,
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

fn table<K: Ord>(
    r: &Value,
    section: &str,
    key: impl Fn(&Value) -> K,
    val: &str,
) -> BTreeMap<K, u64> {
    let mut m = BTreeMap::new();
    for row in r[section].as_array().unwrap() {
        let v = row[val].as_u64().unwrap();
        if v > 0 {
            *m.entry(key(row)).or_default() += v;
        }
    }
    m
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

/// Compares every counted table; with `rich`, each must hold rows (no vacuous equality).
fn compare(input: &Path, slice_ms: i64, row_limit: usize, rich: bool) -> usize {
    let (ins, nat) = both(input, slice_ms, row_limit);
    if rich {
        for t in [
            "clients", "lists", "writes", "errors", "timeline", "objects",
        ] {
            assert!(!ins[t].as_array().unwrap().is_empty(), "{t} is empty");
        }
        assert!(ins["summary"]["requests"].as_u64().unwrap() > 1000);
    }
    let n = input.display().to_string();
    let facts = &ins["summary"]["insights"];
    assert_eq!(ins["summary"]["engine"], "insights");
    assert_eq!(facts["cut"], 0, "{n}: a sub-window stayed capped");
    assert!(
        nat["summary"].get("engine").is_none(),
        "native reports carry no engine"
    );
    assert_eq!(
        ins["summary"]["requests"], nat["summary"]["requests"],
        "{n}"
    );
    assert!(!ins["summary"]["coverage"].as_array().unwrap().is_empty());

    let by_client = |r: &Value| table(r, "clients", |c| s(c, "client"), "requests");
    assert_eq!(by_client(&ins), by_client(&nat), "clients {n}");
    let writes_of = |r: &Value| table(r, "clients", |c| s(c, "client"), "writes");
    assert_eq!(writes_of(&ins), writes_of(&nat), "client writes {n}");

    let lists = |r: &Value| {
        table(
            r,
            "lists",
            |l| (s(l, "user_agent"), s(l, "resource")),
            "count",
        )
    };
    assert_eq!(lists(&ins), lists(&nat), "lists {n}");

    let writes = |r: &Value| {
        table(
            r,
            "writes",
            |w| {
                (
                    s(w, "client"),
                    s(w, "resource"),
                    s(w, "subresource"),
                    s(w, "verb"),
                )
            },
            "count",
        )
    };
    assert_eq!(writes(&ins), writes(&nat), "writes {n}");

    let crds = |r: &Value, v: &str| {
        table(
            r,
            "crds",
            |c| {
                (
                    s(c, "group"),
                    s(c, "resource"),
                    s(c, "verb"),
                    s(c, "client"),
                )
            },
            v,
        )
    };
    assert_eq!(crds(&ins, "count"), crds(&nat, "count"), "crds {n}");
    assert_eq!(crds(&ins, "errors"), crds(&nat, "errors"), "crd errors {n}");

    let errors = |r: &Value| {
        let mut m = table(
            r,
            "errors",
            |e| {
                (
                    s(e, "client"),
                    e["code"].as_u64().unwrap(),
                    s(e, "reason"),
                    s(e, "verb"),
                    s(e, "resource"),
                )
            },
            "count",
        );
        m.retain(|k, _| matches!(k.1, 404 | 409 | 429) || k.1 >= 500);
        m
    };
    assert_eq!(errors(&ins), errors(&nat), "errors {n}");

    let timeline = |r: &Value, v: &str| table(r, "timeline", |m| s(m, "minute"), v);
    for v in ["requests", "short", "server_errors", "throttled"] {
        assert_eq!(timeline(&ins, v), timeline(&nat, v), "timeline {v} {n}");
    }

    let object = |o: &Value| {
        (
            s(o, "group"),
            s(o, "resource"),
            s(o, "namespace"),
            s(o, "name"),
        )
    };
    let objects = table(&ins, "objects", object, "writes");
    for (k, w) in table(&nat, "objects", object, "writes") {
        assert_eq!(objects.get(&k), Some(&w), "object {k:?} {n}");
    }

    // Percentiles: keys with one native row (the native key also holds the client).
    let mut native_rows: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for l in nat["lists"].as_array().unwrap() {
        native_rows
            .entry((s(l, "user_agent"), s(l, "resource")))
            .or_default()
            .push(l);
    }
    let mut compared = 0;
    for l in ins["lists"].as_array().unwrap() {
        let Some([want]) = native_rows
            .get(&(s(l, "user_agent"), s(l, "resource")))
            .map(Vec::as_slice)
        else {
            continue;
        };
        let (got, want) = (&l["latency_ms"], &want["latency_ms"]);
        assert_eq!(got.is_null(), want.is_null(), "{n}");
        if want.is_null() {
            continue;
        }
        assert_eq!(got["samples"], want["samples"]);
        for f in ["p50", "p90", "p99"] {
            let (g, w) = (got[f].as_f64().unwrap(), want[f].as_f64().unwrap());
            assert!((g - w).abs() <= w * 0.0201 + 0.002, "{n} {f}: {g} vs {w}");
        }
        for f in ["max", "mean"] {
            let (g, w) = (got[f].as_f64().unwrap(), want[f].as_f64().unwrap());
            assert!((g - w).abs() <= w * 0.01 + 0.002, "{n} {f}: {g} vs {w}");
        }
        compared += 1;
    }
    compared
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
    let templates = audit_scan::insights::report::TEMPLATES.len() as u64;
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

//! The JSON Schemas under docs/schema/ are the ones the types generate (a stale file fails), and
//! real reports validate against them: every fixture, both engines (the Logs Insights engine
//! through the local evaluator), findings and suppressions, and a diff. Every report a test reads
//! through `common::report` is validated too.

use crate::common;

use std::path::{Path, PathBuf};

use audit_scan::aggregate::filter::Window;
use audit_scan::insights::engine::{Limits, LocalRunner};
use clap::ValueEnum;
use common::*;
use serde_json::Value;

fn schema_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schema")
        .join(name)
}

/// Compares (or, with AUDIT_SCAN_UPDATE_DOCS, rewrites) a checked-in schema.
fn fresh(name: &str, generated: &Value) {
    let text = serde_json::to_string_pretty(generated).unwrap() + "\n";
    let path = schema_path(name);
    if std::env::var_os("AUDIT_SCAN_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == text,
        "docs/schema/{name} is stale: the report types changed. Run `AUDIT_SCAN_UPDATE_DOCS=1 cargo test --test cli schema::` and document the change in docs/report-schema.md"
    );
}

#[test]
fn the_checked_in_schemas_are_the_generated_ones() {
    fresh("report-v1.json", &audit_scan::render::schema::report());
    fresh("diff-v1.json", &audit_scan::render::schema::diff());
}

#[test]
fn the_schema_rejects_what_the_types_do_not_declare() {
    let r = report(&[fixture("realdata/audit2rbac-demo-v1-2022.jsonl")
        .to_str()
        .unwrap()]);
    let v = jsonschema::validator_for(&audit_scan::render::schema::report()).unwrap();
    assert!(v.is_valid(&r));
    let mut extra = r.clone();
    extra["summary"]["surprise"] = Value::from(1);
    assert!(!v.is_valid(&extra), "an undeclared field fails");
    let mut wrong = r;
    wrong["summary"]["requests"] = Value::from("many");
    assert!(!v.is_valid(&wrong), "a wrong type fails");
}

/// The realdata logs, by name (PROVENANCE.md lists them).
fn realdata_logs() -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(fixture("realdata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".jsonl") || n.ends_with(".jsonl.gz")
        })
        .collect();
    logs.sort();
    assert!(logs.len() >= 5, "{logs:?}");
    logs
}

/// A generated log with every planted problem, so that findings of every rule are in it.
fn planted(dir: &Path) -> PathBuf {
    let plants = audit_scan::synth::Plant::value_variants().to_vec();
    // Every plant together sends about 26 requests/s beside the 10/s background (write-heavy
    // alone 16/s), about 28 kB/s: 9 MB is over 5 minutes, past AS201's 3 sustained minutes.
    midnight_log(dir, 9_000_000, 5, &plants)
}

#[test]
fn native_reports_of_every_fixture_validate() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = realdata_logs();
    inputs.push(fixture("realdata"));
    inputs.push(planted(dir.path()));
    for input in &inputs {
        // `report` validates; the findings must be there for the planted log.
        let r = report(&[input.to_str().unwrap()]);
        if input.ends_with("midnight.jsonl") {
            assert!(
                r["findings"].as_array().unwrap().len() >= 5,
                "planted findings"
            );
        }
    }
    // Suppressed findings, a window and a filter.
    let config = dir.path().join("audit-scan.toml");
    std::fs::write(
        &config,
        "[[suppress]]\nrule = \"AS201\"\nclient = \"*\"\nreason = \"known\"\n",
    )
    .unwrap();
    let planted = planted(dir.path());
    let r = report(&[
        "--config",
        config.to_str().unwrap(),
        planted.to_str().unwrap(),
    ]);
    assert!(!r["suppressed"].as_array().unwrap().is_empty());
    report(&[
        "--since",
        "2024-05-01T23:59:00Z",
        "--code",
        "4xx",
        planted.to_str().unwrap(),
    ]);
}

#[test]
fn insights_engine_reports_of_every_fixture_validate() {
    let v = jsonschema::validator_for(&audit_scan::render::schema::report()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = realdata_logs();
    inputs.push(planted(dir.path()));
    let mut built = 0;
    for input in &inputs {
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
        let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) else {
            continue;
        };
        let limits = Limits {
            concurrency: 2,
            row_limit: 10_000,
            min_window_ms: 1000,
            field_indexes: false,
        };
        let mut r = audit_scan::insights::scan::run_report(
            &runner,
            "local",
            Window::default(),
            *lo,
            hi + 1,
            86_400_000,
            &limits,
            None,
        )
        .unwrap();
        let (findings, suppressed) =
            audit_scan::rules::run(&r, &audit_scan::rules::Config::default(), "2024-01-01");
        r.findings = findings;
        r.suppressed = suppressed;
        let json = serde_json::to_value(&r).unwrap();
        let errors: Vec<String> = v
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(5)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", input.display());
        built += 1;
    }
    assert!(built >= 4, "insights reports built: {built}");
}

#[test]
fn diffs_validate() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    let current = dir.path().join("current.json");
    let log = planted(dir.path());
    let ocp = fixture("realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl");
    for (out, input) in [(&base, ocp.as_path()), (&current, log.as_path())] {
        let o = run(&[
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        assert!(o.status.success());
    }
    let o = run(&[
        "diff",
        base.to_str().unwrap(),
        current.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!d["regressions"].as_array().unwrap().is_empty());
    let v = jsonschema::validator_for(&audit_scan::render::schema::diff()).unwrap();
    let errors: Vec<String> = v.iter_errors(&d).map(|e| e.to_string()).take(5).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

//! `--export DIR --export-format csv|parquet|ndjson`: every table reads back with the columns
//! `docs/exports.md` documents and the JSON report's numbers — CSV and NDJSON with polars' own
//! readers, Parquet with pyarrow (an independent reader, which also checks the Arrow types).
use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

/// `docs/exports.md`: table → its documented columns, in order.
fn documented() -> BTreeMap<String, Vec<String>> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exports.md")).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("### `") {
            current = Some(rest.trim_end_matches('`').to_owned());
            out.entry(current.clone().unwrap()).or_default();
        } else if let (Some(t), Some(rest)) = (&current, line.strip_prefix("| `")) {
            let col = rest.split('`').next().unwrap().to_owned();
            out.get_mut(t).unwrap().push(col);
        }
    }
    out
}

fn read(path: &Path, format: &str) -> DataFrame {
    match format {
        "csv" => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.into()))
            .unwrap()
            .finish()
            .unwrap(),
        "ndjson" => JsonReader::new(std::fs::File::open(path).unwrap())
            .with_json_format(JsonFormat::JsonLines)
            .infer_schema_len(None)
            .finish()
            .unwrap(),
        _ => unreachable!(),
    }
}

fn floats(df: &DataFrame, col: &str) -> Vec<Option<f64>> {
    let c = df.column(col).unwrap().cast(&DataType::Float64).unwrap();
    let ca = c.f64().unwrap();
    (0..ca.len()).map(|i| ca.get(i)).collect()
}

fn strings(df: &DataFrame, col: &str) -> Vec<Option<String>> {
    let c = df.column(col).unwrap().cast(&DataType::String).unwrap();
    let ca = c.str().unwrap();
    (0..ca.len())
        .map(|i| ca.get(i).map(str::to_owned))
        .collect()
}

fn sum(df: &DataFrame, col: &str) -> f64 {
    floats(df, col).into_iter().flatten().sum()
}

fn json_sum(v: &Value, table: &str, field: &str) -> f64 {
    v[table]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_f64().unwrap())
        .sum()
}

/// Scans `input` into a JSON report and exports its tables into `out_dir` as `format`; returns
/// the report.
fn export(input: &Path, out_dir: &Path, format: &str) -> Value {
    let json = out_dir.with_extension("json");
    let out = common::run(&[
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
        "--export",
        out_dir.to_str().unwrap(),
        "--export-format",
        format,
        input.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

#[test]
fn every_table_reads_back_with_documented_columns_and_the_reports_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = audit_scan::synth::SynthConfig {
        bytes: 2_000_000,
        seed: 5,
        rate: 30.0,
        plants: vec![
            audit_scan::synth::Plant::ConflictStorm,
            audit_scan::synth::Plant::ExpensiveList,
            audit_scan::synth::Plant::DeprecatedApi,
            audit_scan::synth::Plant::SlowWebhook,
            audit_scan::synth::Plant::SlowRequests,
        ],
        ..Default::default()
    };
    let input = dir.path().join("in.jsonl");
    common::write_generated(&input, &cfg);
    let docs = documented();
    assert_eq!(docs.len(), 18, "documented tables: {:?}", docs.keys());

    // Parquet is read back by pyarrow below: its timestamp columns need a polars built with
    // datetime support, which this crate's polars (writing only) leaves out.
    for format in ["csv", "ndjson"] {
        let out_dir = dir.path().join(format);
        let report = export(&input, &out_dir, format);
        let mut frames = BTreeMap::new();
        for (table, columns) in &docs {
            let path = out_dir.join(format!("{table}.{format}"));
            // NDJSON has no header: a table without rows is an empty file.
            if format == "ndjson" && std::fs::metadata(&path).unwrap().len() == 0 {
                frames.insert(table.as_str(), DataFrame::empty());
                continue;
            }
            let df = read(&path, format);
            let names: Vec<String> = df
                .get_column_names()
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(
                &names, columns,
                "{format} {table}: columns differ from docs/exports.md"
            );
            frames.insert(table.as_str(), df);
        }
        // Row counts: every row of the JSON report's tables.
        for (table, rows) in [
            ("lists", "/lists"),
            ("clients", "/clients"),
            ("crds", "/crds"),
            ("writes", "/writes"),
            ("objects", "/objects"),
            ("errors", "/errors"),
            ("watches", "/watches"),
            ("findings", "/findings"),
            ("timeline", "/timeline"),
            ("calls", "/calls"),
            ("slo", "/slo"),
            ("deprecated", "/deprecated"),
            ("webhooks", "/webhooks"),
            ("health", "/health/minutes"),
            ("slo_violations", "/health/slo_violations"),
            ("sizing_clients", "/sizing/top_clients"),
            ("suppressed", "/suppressed"),
        ] {
            assert_eq!(
                frames[table].height(),
                report.pointer(rows).unwrap().as_array().unwrap().len(),
                "{format} {table} rows"
            );
        }
        // The tables this issue added carry the report's numbers too.
        assert!(frames["calls"].height() > 0 && frames["health"].height() > 0);
        assert_eq!(
            sum(&frames["calls"], "count"),
            json_sum(&report, "calls", "count")
        );
        let minutes = report["health"]["minutes"].as_array().unwrap();
        let workload: f64 = minutes
            .iter()
            .map(|m| m["workload"]["requests"].as_f64().unwrap_or(0.0))
            .sum();
        assert_eq!(sum(&frames["health"], "workload_requests"), workload);
        let slo = &frames["slo"];
        assert!(slo.height() > 0);
        for (i, row) in report["slo"].as_array().unwrap().iter().enumerate() {
            assert_eq!(floats(slo, "p99_ms")[i], row["latency_ms"]["p99"].as_f64());
        }
        // The numbers.
        let lists = &frames["lists"];
        assert_eq!(sum(lists, "count"), json_sum(&report, "lists", "count"));
        let p99: Vec<Option<f64>> = floats(lists, "p99_ms");
        let user_agents = strings(lists, "user_agent");
        assert!(lists.height() > 0, "the planted LISTs");
        for (i, row) in report["lists"].as_array().unwrap().iter().enumerate() {
            assert_eq!(
                p99[i],
                row["latency_ms"]["p99"].as_f64(),
                "{format} lists[{i}].p99_ms"
            );
            assert_eq!(user_agents[i].as_deref(), row["user_agent"].as_str());
        }
        assert_eq!(
            sum(&frames["clients"], "requests"),
            json_sum(&report, "clients", "requests")
        );
        assert_eq!(
            sum(&frames["writes"], "count"),
            json_sum(&report, "writes", "count")
        );
        assert_eq!(
            sum(&frames["errors"], "count"),
            json_sum(&report, "errors", "count")
        );
        assert_eq!(
            sum(&frames["timeline"], "requests"),
            report["summary"]["requests"].as_f64().unwrap()
        );
        assert_eq!(
            sum(&frames["objects"], "writes"),
            json_sum(&report, "objects", "writes")
        );
        let approximate = strings(&frames["objects"], "minutes_approximate");
        assert!(!approximate.is_empty(), "the planted objects");
        for (i, o) in report["objects"].as_array().unwrap().iter().enumerate() {
            let want = o["minutes_approximate"].as_bool().unwrap().to_string();
            assert_eq!(
                approximate[i].as_deref(),
                Some(want.as_str()),
                "{format} objects[{i}]"
            );
        }
        // The cost ledger rides along with each client: row for row, as the JSON has it.
        let clients = &frames["clients"];
        let (shares, seats) = (floats(clients, "cost_share"), floats(clients, "apf_seats"));
        let (dominant, pods) = (
            strings(clients, "dominant_cost"),
            strings(clients, "top_pod"),
        );
        // Each share is rounded to 0.001 (the ledger's rounding), so their sum is within half
        // of that per client of 1.
        let total_share: f64 = shares.iter().map(|s| s.unwrap()).sum();
        let slack = 0.0005 * shares.len() as f64 + 1e-9;
        assert!(
            (total_share - 1.0).abs() <= slack,
            "{format}: {} shares sum to {total_share}",
            shares.len()
        );
        for (i, c) in report["clients"].as_array().unwrap().iter().enumerate() {
            assert_eq!(shares[i], c["cost_share"].as_f64(), "{format} clients[{i}]");
            assert_eq!(seats[i], c["apf_seats"].as_f64(), "{format} clients[{i}]");
            assert_eq!(dominant[i].as_deref(), c["dominant_cost"].as_str());
            assert_eq!(pods[i].as_deref(), c["top_pods"][0]["name"].as_str());
        }
        let series: f64 = report["clients"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["per_minute"]["counts"].as_array().unwrap())
            .map(|n| n.as_f64().unwrap())
            .sum();
        assert!(series > 0.0);
        assert_eq!(sum(&frames["client_minutes"], "requests"), series);
        let findings = &frames["findings"];
        assert!(findings.height() >= 2, "the planted findings");
        let (rules, scores) = (strings(findings, "rule"), floats(findings, "score"));
        for (i, f) in report["findings"].as_array().unwrap().iter().enumerate() {
            assert_eq!(rules[i].as_deref(), f["rule"].as_str());
            assert_eq!(scores[i], f["score"].as_f64());
        }
    }
}

/// The Parquet files read by pyarrow: text is plain UTF-8 (`large_string`, never
/// `string_view`), times are `timestamp[us, tz=UTC]` holding the report's instants, counts
/// `uint64`, and the values are the JSON report's.
#[test]
fn parquet_reads_back_in_pyarrow_with_utc_timestamps_and_plain_strings() {
    let Some(python) = common::external(
        "AUDIT_SCAN_PYTHON",
        "a Python with pyarrow (`pip install pyarrow`) reads the Parquet exports back",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = audit_scan::synth::SynthConfig {
        bytes: 1_000_000,
        seed: 9,
        rate: 30.0,
        plants: vec![
            audit_scan::synth::Plant::ConflictStorm,
            audit_scan::synth::Plant::DeprecatedApi,
            audit_scan::synth::Plant::SlowWebhook,
        ],
        ..Default::default()
    };
    let input = dir.path().join("in.jsonl");
    common::write_generated(&input, &cfg);
    let out_dir = dir.path().join("pq");
    let report = export(&input, &out_dir, "parquet");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/parquet/read_back.py");
    let read = std::process::Command::new(&python)
        .arg(script)
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "pyarrow could not read the export: {}",
        String::from_utf8_lossy(&read.stderr)
    );
    let got: Value = serde_json::from_slice(&read.stdout).unwrap();
    let tables = got["tables"].as_object().unwrap();
    let docs = documented();
    assert_eq!(
        tables.keys().collect::<Vec<_>>(),
        docs.keys().collect::<Vec<_>>(),
        "every documented table, read by pyarrow {}",
        got["pyarrow"]
    );
    // Every column's Arrow type from its documented type, in the documented order.
    for (table, t) in tables {
        let names: Vec<&str> = t["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        let want: Vec<&str> = docs[table.as_str()].iter().map(String::as_str).collect();
        assert_eq!(names, want, "{table}: columns differ from docs/exports.md");
        for (col, ty) in t["types"].as_object().unwrap() {
            let documented = documented_type(table, col);
            let want = match documented.as_str() {
                "timestamp" => "timestamp[us, tz=UTC]",
                "string" => "large_string",
                "u64" => "uint64",
                "bool" => "bool",
                t if t.starts_with("f64") => "double",
                other => panic!("{table}.{col}: undocumented type {other}"),
            };
            assert_eq!(ty, want, "{table}.{col}");
        }
    }
    // The instants are the report's (RFC 3339 → µs since the epoch, computed here).
    let micros = |v: &Value| {
        v.as_str().map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .timestamp_micros()
        })
    };
    let column = |table: &str, col: &str| tables[table]["columns"][col].as_array().unwrap().clone();
    for (table, col, field) in [
        ("timeline", "minute", "minute"),
        ("clients", "first", "first"),
        ("clients", "peak_minute", "peak_minute"),
        ("lists", "last", "last"),
        ("objects", "first", "first"),
        ("findings", "first", "first"),
    ] {
        let rows = report[table].as_array().unwrap();
        assert!(!rows.is_empty(), "{table}");
        let got: Vec<Option<i64>> = column(table, col).iter().map(Value::as_i64).collect();
        let want: Vec<Option<i64>> = rows
            .iter()
            .map(|r| {
                if table == "findings" {
                    micros(&r["evidence"][field])
                } else {
                    micros(&r[field])
                }
            })
            .collect();
        assert_eq!(got, want, "{table}.{col}");
    }
    let minutes = report["health"]["minutes"].as_array().unwrap();
    let got: Vec<Option<i64>> = column("health", "minute")
        .iter()
        .map(Value::as_i64)
        .collect();
    let want: Vec<Option<i64>> = minutes.iter().map(|m| micros(&m["minute"])).collect();
    assert_eq!(got, want, "health.minute");
    // Strings and counts as the report has them.
    let agents: Vec<Value> = report["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["user_agent"].clone())
        .collect();
    assert_eq!(column("lists", "user_agent"), agents);
    let counts: Vec<Value> = report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].clone())
        .collect();
    assert_eq!(column("calls", "count"), counts);
    let p99: Vec<Value> = report["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["latency_ms"]["p99"].clone())
        .collect();
    assert_eq!(column("lists", "p99_ms"), p99);
    let scores: Vec<Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["score"].clone())
        .collect();
    assert_eq!(column("findings", "score"), scores);
    // A table without rows still has its columns.
    let empty = tables.iter().find(|(_, t)| t["rows"] == 0);
    if let Some((name, t)) = empty {
        assert_eq!(
            t["types"].as_object().unwrap().len(),
            docs[name.as_str()].len()
        );
    }
}

/// The `type` cell of `table`.`col` in docs/exports.md.
fn documented_type(table: &str, col: &str) -> String {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exports.md")).unwrap();
    let mut current = String::new();
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("### `") {
            rest.trim_end_matches('`').clone_into(&mut current);
        } else if current == table
            && let Some(rest) = line.strip_prefix(&format!("| `{col}` | "))
        {
            return rest.split(" |").next().unwrap().trim().to_owned();
        }
    }
    panic!("{table}.{col} is not in docs/exports.md")
}

//! `--export DIR --export-format csv|parquet|ndjson`: every table reads back (with polars'
//! own readers) with the columns `docs/exports.md` documents and the JSON report's numbers.
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
        "parquet" => ParquetReader::new(std::fs::File::open(path).unwrap())
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
        ],
        ..Default::default()
    };
    let input = dir.path().join("in.jsonl");
    common::write_generated(&input, &cfg);
    let docs = documented();
    assert_eq!(docs.len(), 10, "documented tables: {:?}", docs.keys());

    for format in ["csv", "parquet", "ndjson"] {
        let out_dir = dir.path().join(format);
        let json = dir.path().join(format!("{format}.json"));
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
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let mut frames = BTreeMap::new();
        for (table, columns) in &docs {
            let path = out_dir.join(format!("{table}.{format}"));
            let df = read(&path, format);
            let names: Vec<String> = df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(
                &names, columns,
                "{format} {table}: columns differ from docs/exports.md"
            );
            frames.insert(table.as_str(), df);
        }
        // Row counts: every row of the JSON report's tables.
        for table in [
            "lists", "clients", "crds", "writes", "objects", "errors", "watches", "findings",
            "timeline",
        ] {
            assert_eq!(
                frames[table].height(),
                report[table].as_array().unwrap().len(),
                "{format} {table} rows"
            );
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

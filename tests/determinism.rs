//! The same events give the same report whatever the thread count, the chunk size, or how the
//! events are split across files and in which order.

mod common;

use audit_scan::aggregate::Scope;
use audit_scan::pipeline::{self, Options};
use audit_scan::report::build::{Inputs, build};
use audit_scan::source::Input;
use serde_json::Value;

fn scan(paths: &[std::path::PathBuf], threads: usize, chunk_size: usize) -> Value {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::file(p)).collect();
    let opts = Options {
        threads,
        chunk_size,
        ..Options::default()
    };
    let out = pipeline::run(&inputs, &Scope::default(), &opts).unwrap();
    let r = build(&Inputs {
        aggregates: &out.aggregates,
        inputs: &out.inputs,
        window: Default::default(),
        warnings: vec![],
        cloudwatch: None,
    });
    let mut v = serde_json::to_value(&r).unwrap();
    v["summary"]["inputs"] = Value::Null;
    v
}

#[test]
fn threads_chunks_and_file_splits_do_not_change_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::generated(dir.path(), 3_000_000, 11);
    let one = scan(std::slice::from_ref(&path), 1, 4 << 20);
    assert!(one["summary"]["requests"].as_u64().unwrap() > 2000);
    assert_eq!(
        scan(std::slice::from_ref(&path), 2, 4 << 20),
        one,
        "--threads 2"
    );
    assert_eq!(
        scan(std::slice::from_ref(&path), 2, 16 << 10),
        one,
        "small chunks, 2 threads"
    );
    assert_eq!(
        scan(std::slice::from_ref(&path), 4, 3 << 10),
        one,
        "tiny chunks, 4 threads"
    );

    // The same lines split across five files, read in reverse order.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut parts = Vec::new();
    for (i, part) in lines.chunks(lines.len() / 5 + 1).enumerate() {
        let p = dir.path().join(format!("part-{i}.jsonl"));
        std::fs::write(&p, part.join("\n")).unwrap();
        parts.push(p);
    }
    parts.reverse();
    assert_eq!(scan(&parts, 2, 64 << 10), one, "split across files");
}

//! The same events give the same report whatever the thread count, the chunk size, or how the
//! events are split across files and in which order.

use crate::common;

use std::path::{Path, PathBuf};

use audit_scan::aggregate::objects::MAX_MINUTES_PER_OBJECT;
use audit_scan::pipeline::Options;
use serde_json::Value;

fn scan(paths: &[std::path::PathBuf], threads: usize, chunk_size: usize) -> Value {
    let opts = Options {
        threads,
        chunk_size,
        ..Options::default()
    };
    let mut v = common::report_in_process(paths, &opts);
    v["summary"]["inputs"] = Value::Null;
    v
}

#[test]
fn threads_chunks_and_file_splits_do_not_change_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::generated(dir.path(), 3_000_000, 11);
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    let one = scan(std::slice::from_ref(&path), 1, 4 << 20);
    assert!(one["summary"]["requests"].as_u64().unwrap() > 2000);
    // Chunks small enough that both workers get several: a one-chunk run compares with itself.
    assert!(size / (256 << 10) >= 8, "{size} bytes");
    assert_eq!(
        scan(std::slice::from_ref(&path), 2, 256 << 10),
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

/// An object written in more minutes than it keeps (`MAX_MINUTES_PER_OBJECT`) keeps its last
/// ones and folds the rest. The workers share one object table, so a time-ordered log keeps its
/// minute figures exact at any thread count, even with every minute's writes split between the
/// workers; files of one time range read one after the other reopen folded minutes, which may
/// then be counted in two parts, and the report says so (writes stay exact).
#[test]
fn long_lived_objects_say_when_their_minute_counts_are_approximate() {
    let dir = tempfile::tempdir().unwrap();
    let line = |id: usize, minute: usize, second: usize| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"hb-{id}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/configmaps/hb","verb":"update","user":{{"username":"system:serviceaccount:a:hb"}},"userAgent":"heartbeat/v1","objectRef":{{"resource":"configmaps","namespace":"a","name":"hb","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2024-05-01T{:02}:{:02}:{second:02}.000000Z","stageTimestamp":"2024-05-01T{:02}:{:02}:{second:02}.001000Z"}}"#,
            minute / 60,
            minute % 60,
            minute / 60,
            minute % 60
        )
    };
    // More minutes than an object keeps, so its oldest ones fold.
    let minutes = MAX_MINUTES_PER_OBJECT + 88;
    let (mut ordered, mut early, mut late) = (Vec::new(), Vec::new(), Vec::new());
    for m in 0..minutes {
        ordered.push(line(2 * m, m, 10));
        ordered.push(line(2 * m + 1, m, 40));
        early.push(line(2 * m, m, 10));
        late.push(line(2 * m + 1, m, 40));
    }
    let write = |name: &str, lines: &[String]| {
        let p = dir.path().join(name);
        std::fs::write(&p, lines.join("\n")).unwrap();
        p
    };
    let note = format!("objects were written in more than {MAX_MINUTES_PER_OBJECT} minutes");
    let has_note = |r: &Value| {
        r["summary"]["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains(&note))
    };

    let one = scan(&[write("ordered.jsonl", &ordered)], 1, 4 << 20);
    let o = &one["objects"][0];
    assert_eq!(o["writes"], 2 * minutes);
    assert_eq!(o["active_minutes"], minutes);
    assert_eq!(o["peak_writes"], 2);
    assert_eq!(o["minutes_approximate"], false);
    assert!(!has_note(&one));
    // Chunks of one or two lines: the two writes of nearly every minute go to different
    // workers, and each worker alone sees more minutes than an object keeps.
    let ordered_path = dir.path().join("ordered.jsonl");
    for threads in [2, 4] {
        assert_eq!(
            scan(std::slice::from_ref(&ordered_path), threads, 1 << 10),
            one,
            "--threads {threads}, 1 KiB chunks"
        );
    }

    // The first write of every minute in one file, the second in another: one worker reads
    // all of the first (folding its oldest minutes), then reopens every minute from the start.
    let files = [write("early.jsonl", &early), write("late.jsonl", &late)];
    let split = scan(&files, 1, 16 << 10);
    let o = &split["objects"][0];
    assert_eq!(o["writes"], 2 * minutes, "writes stay exact");
    assert_eq!(o["minutes_approximate"], true);
    assert!(
        o["active_minutes"].as_u64().unwrap() > minutes as u64,
        "the reopened minutes are counted twice: {o}"
    );
    assert!(has_note(&split), "{}", split["summary"]["coverage"]);
    // Two workers: exact, or said to be approximate.
    let two = scan(&files, 2, 16 << 10);
    let o = &two["objects"][0];
    assert_eq!(o["writes"], 2 * minutes);
    assert!(
        o["minutes_approximate"] == true || o["active_minutes"] == minutes,
        "{o}"
    );
    assert_eq!(o["minutes_approximate"] == true, has_note(&two));
}

/// A log with findings of several rules, big enough to be cut into hundreds of chunks.
fn incident_log(dir: &Path) -> PathBuf {
    use audit_scan::synth::{Plant, SynthConfig, generate};
    let path = dir.join("incident.jsonl");
    let cfg = SynthConfig {
        bytes: 4_000_000,
        seed: 7,
        rate: 20.0,
        plants: vec![
            Plant::ReconcileLoop,
            Plant::ExpensiveList,
            Plant::ConflictStorm,
            Plant::Throttled,
        ],
        ..Default::default()
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    generate(&cfg, &mut f).unwrap();
    std::io::Write::flush(&mut f).unwrap();
    path
}

/// The CLI's own bytes, in every format, for one set of inputs and a thread/chunk setting.
fn cli_bytes(inputs: &[PathBuf], threads: usize, chunk: Option<usize>, format: &str) -> Vec<u8> {
    let mut args = vec![
        "--no-progress".to_owned(),
        "--format".to_owned(),
        format.to_owned(),
        "--threads".to_owned(),
        threads.to_string(),
    ];
    if let Some(c) = chunk {
        args.extend(["--chunk-size".to_owned(), c.to_string()]);
    }
    if format == "html" {
        args.extend([
            "--mark".to_owned(),
            "2024-05-01T10:02:00Z..2024-05-01T10:04:00Z".to_owned(),
        ]);
    }
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let out = common::bin()
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    out.stdout
}

/// Every export file of a run, by name, as bytes.
fn export_bytes(
    inputs: &[PathBuf],
    threads: usize,
    chunk: usize,
    format: &str,
) -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::bin();
    cmd.args(["--no-progress", "--format", "json", "--export"])
        .arg(dir.path())
        .args(["--export-format", format, "--threads", &threads.to_string()])
        .args(["--chunk-size", &chunk.to_string()])
        .args(inputs)
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    files
}

/// The same bytes out of the CLI whatever the thread count and chunk size, in every format
/// (what a nightly job diffs and what a reviewer reads), and for the same lines split across
/// files once the input list is set aside.
#[test]
fn the_cli_writes_the_same_bytes_for_any_threads_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let log = incident_log(dir.path());
    let size = std::fs::metadata(&log).unwrap().len() as usize;
    let small = 16 << 10;
    assert!(size / small > 200, "many chunks: {size} bytes");
    let one = std::slice::from_ref(&log);
    for format in ["json", "text", "md", "html"] {
        let base = cli_bytes(one, 1, None, format);
        for (threads, chunk) in [(2, Some(64 << 10)), (8, Some(small)), (2, None)] {
            assert!(
                cli_bytes(one, threads, chunk, format) == base,
                "{format}: --threads {threads} --chunk-size {chunk:?} changed the output"
            );
        }
    }
    let json: Value = serde_json::from_slice(&cli_bytes(one, 1, None, "json")).unwrap();
    assert!(
        json["findings"].as_array().unwrap().len() >= 4,
        "the plants fire"
    );
    for format in ["csv", "ndjson", "parquet"] {
        assert_eq!(
            export_bytes(one, 1, 1 << 20, format),
            export_bytes(one, 8, small, format),
            "{format} exports"
        );
    }

    // The same lines in four files, listed in reverse: only the input list may differ.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut parts: Vec<PathBuf> = lines
        .chunks(lines.len() / 4 + 1)
        .enumerate()
        .map(|(i, part)| {
            let p = dir.path().join(format!("part-{i}.jsonl"));
            std::fs::write(&p, part.join("\n") + "\n").unwrap();
            p
        })
        .collect();
    parts.reverse();
    let strip = |bytes: Vec<u8>| {
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        v["summary"]["inputs"] = Value::Null;
        serde_json::to_vec(&v).unwrap()
    };
    assert!(
        strip(cli_bytes(&parts, 2, Some(small), "json")) == strip(cli_bytes(one, 1, None, "json")),
        "split across files"
    );
}

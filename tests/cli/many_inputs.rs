//! Many inputs are read at once (up to one reader per worker), and read as if in turn: twelve
//! gzip, zstd, plain and stdin inputs of different sizes give the report that one file of the same
//! lines gives, with rows in argument order holding each input's own counts, and `--strict`
//! names the first bad line in argument order whichever reader met a bad line first.

use crate::common;

use std::io::Write;
use std::path::Path;

use common::*;
use serde_json::Value;

/// Lines per input, relative: the second input has one line, the sixth the most.
const WEIGHTS: [usize; 12] = [4, 0, 7, 3, 5, 9, 6, 2, 8, 3, 5, 4];
/// The input read from stdin (the fifth).
const STDIN: usize = 4;
/// A small chunk size, so that every input but the smallest is several chunks.
const CHUNK: &str = "4096";

/// One input as the test wrote it, with what the program must find in it, counted here.
struct Part {
    /// The argument: a path, or `-`.
    arg: String,
    /// The name the report gives it.
    name: String,
    /// Bytes on disk or through the pipe.
    raw: Vec<u8>,
    /// The plain bytes.
    text: Vec<u8>,
    /// 1-based line numbers of the lines that are not audit events.
    bad: Vec<u64>,
}

impl Part {
    fn requests(&self) -> u64 {
        String::from_utf8_lossy(&self.text)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(is_request)
            .count() as u64
    }
}

fn gzip(members: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(m).unwrap();
        out.extend(e.finish().unwrap());
    }
    out
}

/// Bad lines for input `i` (0-based), as (index among its lines, line): none before the seventh,
/// the seventh's late in it, the ninth's near its start, so a reader of a later input meets one
/// first.
fn bad_lines(i: usize, n: usize) -> Vec<(usize, &'static str)> {
    match i {
        6 => vec![
            (n * 7 / 10, "{not json"),
            (n * 9 / 10, r#"{"hello":"world"}"#),
        ],
        8 => vec![(0, "{not json at the start"), (n / 2, "\u{1}binary")],
        11 => vec![(1, "{"), (2, "[1,"), (n, "{truncated")],
        _ => vec![],
    }
}

/// Twelve inputs cut from one generated log, in `dir`.
fn parts(dir: &Path) -> Vec<Part> {
    let log = std::fs::read_to_string(generated(dir, 1_500_000, 15)).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let per = lines.len() / WEIGHTS.iter().sum::<usize>();
    let mut rest = &lines[..];
    let mut out = Vec::new();
    for (i, w) in WEIGHTS.iter().enumerate() {
        let take = if i == WEIGHTS.len() - 1 {
            rest.len()
        } else {
            (w * per).max(1)
        };
        let (mine, after) = rest.split_at(take);
        rest = after;
        let mut mine: Vec<&str> = mine.to_vec();
        for (at, bad) in bad_lines(i, mine.len()) {
            mine.insert(at, bad);
        }
        if i == 8 {
            // A blank line counts in the line numbers after it, and in nothing else.
            mine.insert(0, "");
        }
        let bad = mine
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                !l.is_empty()
                    && serde_json::from_str::<Value>(l)
                        .ok()
                        .is_none_or(|v| v["kind"] != "Event")
            })
            .map(|(n, _)| n as u64 + 1)
            .collect();
        let mut text = mine.join("\n").into_bytes();
        // The fourth input ends without a newline.
        if i != 3 {
            text.push(b'\n');
        }
        let raw = match i % 3 {
            0 => gzip(&[&text[..text.len() / 2], &text[text.len() / 2..]]),
            1 => zstd::encode_all(&text[..], 3).unwrap(),
            _ => text.clone(),
        };
        let path = dir.join(format!("part-{i:02}.log"));
        std::fs::write(&path, &raw).unwrap();
        let (arg, name) = if i == STDIN {
            ("-".to_owned(), "<stdin>".to_owned())
        } else {
            let p = path.display().to_string();
            (p.clone(), p)
        };
        out.push(Part {
            arg,
            name,
            raw,
            text,
            bad,
        });
    }
    out
}

/// Runs the CLI over all the parts with `extra` flags.
fn scan(parts: &[Part], extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--format", "json", "--no-progress", "--chunk-size", CHUNK];
    args.extend_from_slice(extra);
    args.extend(parts.iter().map(|p| p.arg.as_str()));
    run_stdin(&args, &parts[STDIN].raw)
}

/// The report without what depends on how the lines were split into inputs.
fn essence(r: &Value) -> Value {
    let mut r = r.clone();
    r["summary"]["inputs"] = Value::Null;
    r["summary"]["skipped"]["examples"] = Value::Null;
    r
}

#[test]
fn many_compressed_inputs_equal_one_file_of_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let parts = parts(dir.path());
    assert_eq!(String::from_utf8_lossy(&parts[1].text).lines().count(), 1);
    let many = ok_json(&scan(&parts, &["--threads", "3"]), "twelve inputs");
    assert_valid_report(&many);

    let one_path = dir.path().join("all.jsonl");
    let all: Vec<u8> = parts
        .iter()
        .flat_map(|p| {
            let mut t = p.text.clone();
            if !t.ends_with(b"\n") {
                t.push(b'\n');
            }
            t
        })
        .collect();
    std::fs::write(&one_path, all).unwrap();
    let one = report(&["--chunk-size", CHUNK, one_path.to_str().unwrap()]);
    assert_eq!(essence(&many), essence(&one));

    let rows = many["summary"]["inputs"].as_array().unwrap();
    assert_eq!(rows.len(), parts.len());
    for (i, (row, p)) in rows.iter().zip(&parts).enumerate() {
        assert_eq!(row["name"], p.name.as_str(), "input {i}");
        assert_eq!(row["raw_bytes"], p.raw.len() as u64, "input {i}");
        assert_eq!(row["bytes"], p.text.len() as u64, "input {i}");
        assert_eq!(row["requests"], p.requests(), "input {i}");
        assert_eq!(row["document"], false, "input {i}");
        assert!(row["error"].is_null(), "input {i}: {}", row["error"]);
    }
    let requests: u64 = parts.iter().map(Part::requests).sum();
    assert_eq!(many["summary"]["requests"], requests);

    // The first five bad lines in argument order, each named by its own input and line.
    let bad: Vec<(String, u64)> = parts
        .iter()
        .flat_map(|p| p.bad.iter().map(|l| (p.name.clone(), *l)))
        .collect();
    assert_eq!(bad.len(), 7);
    assert_eq!(many["summary"]["skipped"]["total"], bad.len());
    let examples: Vec<(String, u64)> = many["summary"]["skipped"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["input"].as_str().unwrap().to_owned(),
                e["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(examples, bad[..5]);
}

#[test]
fn one_two_or_many_threads_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let parts = parts(dir.path());
    let reports: Vec<Value> = ["1", "2", "5", "16"]
        .iter()
        .map(|t| ok_json(&scan(&parts, &["--threads", t]), &format!("--threads {t}")))
        .collect();
    for (r, t) in reports.iter().zip(["1", "2", "5", "16"]).skip(1) {
        assert_eq!(r, &reports[0], "--threads {t} against --threads 1");
    }
}

#[test]
fn strict_names_the_first_bad_line_in_argument_order() {
    let dir = tempfile::tempdir().unwrap();
    let parts = parts(dir.path());
    let seventh = &parts[6];
    let want = format!("{}:{}: invalid JSON", seventh.name, seventh.bad[0]);
    for threads in ["1", "2", "4"] {
        let out = scan(&parts, &["--strict", "--threads", threads]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--threads {threads}: {stderr}");
        assert!(stderr.contains(&want), "--threads {threads}: {stderr}");
        assert!(stderr.contains("(--strict)"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

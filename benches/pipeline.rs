//! End to end: source (a page-cached file) → decode → aggregate → report → a null writer, with 1
//! and 2 threads, on the same bytes as `benches/decode.rs` (a Metadata-level log and one with
//! bodies); and per-event throughput on seeded 10k and 100k event corpora.

use std::io::Write;

use audit_scan::aggregate::Scope;
use audit_scan::aggregate::filter::{Filters, Window};
use audit_scan::build::native::{Inputs, build};
use audit_scan::pipeline::{self, Options};
use audit_scan::render::{Format, TextStyle, render};
use audit_scan::source::Input;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

#[path = "corpus.rs"]
mod corpus;

fn scan(input: &Input, threads: usize) -> u64 {
    let opts = Options {
        threads,
        ..Options::default()
    };
    let out = pipeline::run(std::slice::from_ref(input), &Scope::default(), &opts).unwrap();
    let report = build(&Inputs {
        aggregates: &out.aggregates,
        inputs: &out.inputs,
        window: Window::default(),
        filters: &Filters::default(),
        warnings: vec![],
        cloudwatch: None,
    });
    let style = TextStyle {
        width: 120,
        top: 10,
        color: false,
        mark: None,
        fail_on: None,
    };
    render(&report, Format::Json, style, &mut std::io::sink()).unwrap();
    report.summary.requests
}

fn write_corpus(dir: &tempfile::TempDir, data: &[u8], name: &str) -> Input {
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(data)
        .unwrap();
    Input::file(&path)
}

fn pipeline_bytes(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for (shape, data) in corpus::shapes(64 << 20) {
        let input = write_corpus(&dir, &data, &format!("{shape}.jsonl"));
        let mut g = c.benchmark_group(format!("pipeline_{shape}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(10);
        for threads in [1, 2] {
            g.bench_with_input(
                BenchmarkId::new("full_aggregation", threads),
                &input,
                |b, input| {
                    b.iter(|| scan(input, threads));
                },
            );
        }
        g.finish();
    }
}

fn pipeline_events(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("pipeline_events");
    g.sample_size(10);
    for events in [10_000u64, 100_000] {
        // The generator writes ~910 bytes per event; cut to exactly `events` lines.
        let data = corpus::corpus(events * 1000);
        let end = memchr::memchr_iter(b'\n', &data)
            .nth(events as usize - 1)
            .map_or(data.len(), |i| i + 1);
        let input = write_corpus(&dir, &data[..end], &format!("events-{events}.jsonl"));
        g.throughput(Throughput::Elements(events));
        g.bench_with_input(BenchmarkId::new("events", events), &input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |input| scan(&input, 2),
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline_bytes, pipeline_events);
criterion_main!(benches);

//! The most-written-objects table alone: the successful writes of the generated Metadata log,
//! queued in batches as the workers queue them and applied in order to a fresh shared table. Its working set (~20,000 objects) outgrows the L2
//! cache, so this measures the cache misses a write costs, which the pipeline's instruction
//! counts do not show (docs/performance.md, "Where the time goes").

use audit_scan::aggregate::interner::Interner;
use audit_scan::aggregate::objects::{ObjectWrite, object_key};
use audit_scan::aggregate::shared_objects::{ObjectBatch, SharedObjects};
use audit_scan::aggregate::tables::BodyBytes;
use audit_scan::source::chunk::CHUNK_SIZE;
use audit_scan::timefmt::{Micros, parse_rfc3339};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

#[path = "corpus.rs"]
mod corpus;

/// A write; its key and auditID are ranges of one text, as a worker's batch queues them.
struct Write {
    key: (usize, usize),
    client: u32,
    time: Option<Micros>,
    status: bool,
    audit_id: (usize, usize),
}

fn push(text: &mut String, s: &str) -> (usize, usize) {
    text.push_str(s);
    (text.len() - s.len(), text.len())
}

/// The log's successful writes to named objects, read with serde_json (not the tool's
/// decoder), and the text they point into.
fn writes(data: &[u8]) -> (String, Vec<Write>, Interner) {
    const MUTATING: [&str; 4] = ["create", "update", "patch", "delete"];
    let mut names = Interner::default();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut key = String::new();
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let ev: Value = serde_json::from_slice(line).expect("generated JSON");
        let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let code = ev["responseStatus"]["code"].as_u64().unwrap_or(0);
        let verb = s(&ev["verb"]);
        let r = &ev["objectRef"];
        if !MUTATING.contains(&verb.as_str())
            || !(200..300).contains(&code)
            || s(&r["name"]).is_empty()
        {
            continue;
        }
        object_key(
            &mut key,
            &s(&r["apiGroup"]),
            &s(&r["resource"]),
            &s(&r["namespace"]),
            &s(&r["name"]),
        );
        let client = names.id(&s(&ev["user"]["username"]));
        out.push(Write {
            key: push(&mut text, &key),
            client,
            time: parse_rfc3339(&s(&ev["requestReceivedTimestamp"])),
            status: s(&r["subresource"]) == "status",
            audit_id: push(&mut text, &s(&ev["auditID"])),
        });
    }
    (text, out, names)
}

/// The writes queued as workers queue them: one batch per chunk of the log.
fn batches(text: &str, writes: &[Write], per_chunk: usize) -> Vec<ObjectBatch> {
    writes
        .chunks(per_chunk)
        .map(|chunk| {
            let mut batch = ObjectBatch::default();
            for w in chunk {
                batch.write(&ObjectWrite {
                    key: &text[w.key.0..w.key.1],
                    client: w.client,
                    time: w.time,
                    status: w.status,
                    noop: false,
                    audit_id: &text[w.audit_id.0..w.audit_id.1],
                    bodies: BodyBytes::default(),
                });
            }
            batch
        })
        .collect()
}

fn object_table(c: &mut Criterion) {
    let data = corpus::corpus(1 << 30);
    let (text, writes, names) = writes(&data);
    // As many writes as a chunk of this log holds.
    let per_chunk = writes.len() * CHUNK_SIZE / data.len();
    drop(data);
    let batches = batches(&text, &writes, per_chunk.max(1));
    let mut g = c.benchmark_group("object_table");
    g.throughput(Throughput::Elements(writes.len() as u64));
    g.sample_size(20);
    g.bench_function("apply", |b| {
        b.iter_batched(
            || (SharedObjects::default(), batches.clone()),
            |(shared, mut batches)| {
                for (seq, batch) in batches.iter_mut().enumerate() {
                    shared.apply(0, seq as u64, batch, &names);
                }
                shared
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, object_table);
criterion_main!(benches);

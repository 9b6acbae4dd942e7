//! The most-written-objects table alone: the successful writes of the generated Metadata log,
//! queued in batches as the workers queue them and applied in order to a fresh shared table.
//! Its working set (~20,000 objects) outgrows the L2 cache, so this measures the cache misses a
//! write costs, which the pipeline's instruction counts do not show (docs/performance.md,
//! "Where the time goes").

use audit_scan::aggregate::interner::Interner;
use audit_scan::aggregate::is_write_verb;
use audit_scan::aggregate::objects::{ObjectWrite, object_key};
use audit_scan::aggregate::shared_objects::{ObjectBatch, SharedObjects};
use audit_scan::aggregate::tables::BodyBytes;
use audit_scan::source::chunk::CHUNK_SIZE;
use audit_scan::timefmt::parse_rfc3339;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

#[path = "corpus.rs"]
mod corpus;

/// The log's successful writes to named objects, read with serde_json (not the tool's
/// decoder) and queued as the workers queue them: one batch per chunk of the log.
fn batches(data: &[u8]) -> (Vec<ObjectBatch>, Interner) {
    let mut names = Interner::default();
    let mut batches = vec![ObjectBatch::default()];
    let mut key = String::new();
    let mut offset = 0;
    for line in data.split_inclusive(|&b| b == b'\n') {
        offset += line.len();
        if offset / CHUNK_SIZE >= batches.len() {
            batches.push(ObjectBatch::default());
        }
        let ev: Value = serde_json::from_slice(line).expect("generated JSON");
        let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let code = ev["responseStatus"]["code"].as_u64().unwrap_or(0);
        let r = &ev["objectRef"];
        if !is_write_verb(&s(&ev["verb"]))
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
        let batch = batches.last_mut().expect("one batch at least");
        batch.write(&ObjectWrite {
            key: &key,
            client: names.id(&s(&ev["user"]["username"])),
            time: parse_rfc3339(&s(&ev["requestReceivedTimestamp"])),
            status: s(&r["subresource"]) == "status",
            noop: false,
            audit_id: &s(&ev["auditID"]),
            bodies: BodyBytes::default(),
        });
    }
    (batches, names)
}

fn object_table(c: &mut Criterion) {
    let (batches, names) = batches(&corpus::corpus(1 << 30));
    let writes: usize = batches.iter().map(ObjectBatch::len).sum();
    let mut g = c.benchmark_group("object_table");
    g.throughput(Throughput::Elements(writes as u64));
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

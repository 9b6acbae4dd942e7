//! The decoders side by side, on the same bytes as `benches/pipeline.rs` (a Metadata-level log,
//! and one whose writes carry whole bodies), 64 MiB each, cut into 4 MiB chunks decoded on 1 and
//! 2 threads. Nothing is aggregated. docs/performance.md records a run and the choice it made.
//!
//! - `skim`: audit-scan's decoder: every line through the skim (reads the members the tables
//!   use, steps over the rest), simd-json for a line it leaves alone.
//! - `simd_json_typed`: the decoder before it — simd-json's tape, then serde into the same
//!   typed event (the bare typed parse of the Done-when figures).
//! - `simd_json_tape`: simd-json's tape alone, no typed event (a floor for simd-json).
//! - `sonic_rs_typed`: sonic-rs' serde parse into a struct of the same members (unknown members
//!   are skipped by its SIMD skipper).
//! - `sonic_rs_get_many`: sonic-rs' lazy access to the same member paths (`get_many`).

use std::borrow::Cow;

use audit_scan::decode::event::{DecodePath, LINE_PADDING, LineDecoder};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use serde::Deserialize;

#[path = "corpus.rs"]
mod corpus;

/// Decodes every line of `chunk` (copied, as the pipeline owns its chunk) with `f`; returns how
/// many decoded.
fn each_line(
    chunk: &[u8],
    scratch: &mut Vec<u8>,
    mut f: impl FnMut(&mut [u8], usize) -> bool,
) -> usize {
    scratch.clear();
    scratch.extend_from_slice(chunk);
    let len = scratch.len();
    scratch.resize(len + LINE_PADDING, b' ');
    let mut n = 0;
    let mut start = 0;
    while start < len {
        let end = memchr::memchr(b'\n', &scratch[start..len]).map_or(len, |i| start + i);
        if end > start && f(&mut scratch[start..], end - start) {
            n += 1;
        }
        start = end + 1;
    }
    n
}

fn line_decoder(decoder: &mut LineDecoder) -> impl FnMut(&mut [u8], usize) -> bool + '_ {
    move |buf, len| {
        decoder
            .decode(buf, len, |ev| {
                std::hint::black_box((ev.verb, ev.request_rv, ev.response_rv));
            })
            .is_ok()
    }
}

/// The members audit-scan reads, as a serde struct for sonic-rs (strings may be escaped, so
/// they are `Cow`).
#[derive(Deserialize)]
#[allow(dead_code)] // parsed for the measurement, never read
struct SonicEvent<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    level: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "auditID")]
    audit_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stage: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "requestURI")]
    request_uri: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    verb: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user: Option<SonicUser<'a>>,
    #[serde(borrow, default, rename = "userAgent")]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "objectRef")]
    object_ref: Option<SonicRef<'a>>,
    #[serde(borrow, default, rename = "responseStatus")]
    status: Option<SonicStatus<'a>>,
    #[serde(borrow, default, rename = "requestObject")]
    request_object: Option<SonicBody<'a>>,
    #[serde(borrow, default, rename = "responseObject")]
    response_object: Option<SonicBody<'a>>,
    #[serde(borrow, default, rename = "requestReceivedTimestamp")]
    received: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "stageTimestamp")]
    stage_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    annotations: Option<SonicAnnotations<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // parsed for the measurement, never read
struct SonicUser<'a> {
    #[serde(borrow, default)]
    username: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // parsed for the measurement, never read
struct SonicRef<'a> {
    #[serde(borrow, default)]
    resource: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subresource: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "apiGroup")]
    api_group: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "apiVersion")]
    api_version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // parsed for the measurement, never read
struct SonicStatus<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // parsed for the measurement, never read
struct SonicBody<'a> {
    #[serde(borrow, default)]
    metadata: Option<SonicMeta<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // parsed for the measurement, never read
struct SonicMeta<'a> {
    #[serde(borrow, default, rename = "resourceVersion")]
    resource_version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // parsed for the measurement, never read
struct SonicAnnotations<'a> {
    #[serde(borrow, default, rename = "apiserver.latency.k8s.io/etcd")]
    etcd: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "k8s.io/deprecated")]
    deprecated: Option<Cow<'a, str>>,
}

/// The same member paths for `get_many`.
fn sonic_tree() -> sonic_rs::PointerTree {
    let mut tree = sonic_rs::PointerTree::new();
    for top in [
        "kind",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "userAgent",
        "requestReceivedTimestamp",
        "stageTimestamp",
    ] {
        tree.add_path(&[top]);
    }
    tree.add_path(&["user", "username"]);
    for member in [
        "resource",
        "subresource",
        "namespace",
        "name",
        "apiGroup",
        "apiVersion",
    ] {
        tree.add_path(&["objectRef", member]);
    }
    tree.add_path(&["responseStatus", "code"]);
    tree.add_path(&["responseStatus", "reason"]);
    tree.add_path(&["requestObject", "metadata", "resourceVersion"]);
    tree.add_path(&["responseObject", "metadata", "resourceVersion"]);
    tree.add_path(&["annotations", "apiserver.latency.k8s.io/etcd"]);
    tree.add_path(&["annotations", "k8s.io/deprecated"]);
    tree
}

fn decoders(c: &mut Criterion) {
    use sonic_rs::JsonValueTrait;
    let tree = sonic_tree();
    for (shape, data) in corpus::shapes(64 << 20) {
        let chunks = corpus::line_chunks(&data);
        let mut g = c.benchmark_group(format!("decode_{shape}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        // Short, so a run holds a shared machine for a few minutes only.
        g.sample_size(10)
            .warm_up_time(std::time::Duration::from_secs(1))
            .measurement_time(std::time::Duration::from_secs(3));
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let run = |f: &(dyn Fn(&[u8], &mut Vec<u8>) -> usize + Sync)| {
                pool.install(|| {
                    chunks
                        .par_iter()
                        .map_init(Vec::new, |scratch, chunk| f(chunk, scratch))
                        .sum::<usize>()
                })
            };
            g.bench_function(BenchmarkId::new("skim", threads), |b| {
                b.iter(|| {
                    run(&|chunk, scratch| {
                        let mut d = LineDecoder::new(DecodePath::Skim);
                        each_line(chunk, scratch, line_decoder(&mut d))
                    })
                });
            });
            g.bench_function(BenchmarkId::new("simd_json_typed", threads), |b| {
                b.iter(|| {
                    run(&|chunk, scratch| {
                        let mut d = LineDecoder::simd_json_only();
                        each_line(chunk, scratch, line_decoder(&mut d))
                    })
                });
            });
            if threads == 1 {
                continue;
            }
            g.bench_function(BenchmarkId::new("simd_json_tape", threads), |b| {
                b.iter(|| {
                    run(&|chunk, scratch| {
                        let mut buffers = simd_json::Buffers::new(64 * 1024);
                        each_line(chunk, scratch, |buf, len| {
                            simd_json::to_tape_with_buffers(&mut buf[..len], &mut buffers)
                                .map(|t| std::hint::black_box(t.0.len()))
                                .is_ok()
                        })
                    })
                });
            });
            g.bench_function(BenchmarkId::new("sonic_rs_typed", threads), |b| {
                b.iter(|| {
                    run(&|chunk, scratch| {
                        each_line(chunk, scratch, |buf, len| {
                            sonic_rs::from_slice::<SonicEvent>(&buf[..len])
                                .map(|e| std::hint::black_box(e.verb.is_some()))
                                .is_ok()
                        })
                    })
                });
            });
            g.bench_function(BenchmarkId::new("sonic_rs_get_many", threads), |b| {
                b.iter(|| {
                    run(&|chunk, scratch| {
                        each_line(chunk, scratch, |buf, len| {
                            sonic_rs::get_many(&buf[..len], &tree)
                                .map(|vals| {
                                    for v in vals.iter().flatten() {
                                        std::hint::black_box(v.as_str());
                                    }
                                })
                                .is_ok()
                        })
                    })
                });
            });
        }
        g.finish();
    }
}

criterion_group!(benches, decoders);
criterion_main!(benches);

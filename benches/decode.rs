//! The floor: a bare simd-json parse of every line into audit-scan's typed event, on the same
//! bytes as `benches/pipeline.rs`, with 1 and 2 threads. Nothing is aggregated.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

#[path = "corpus.rs"]
mod corpus;

fn parse_chunk(chunk: &[u8], scratch: &mut Vec<u8>, buffers: &mut simd_json::Buffers) -> usize {
    scratch.clear();
    scratch.extend_from_slice(chunk);
    let mut n = 0;
    for line in scratch.split_mut(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if audit_scan::decode::decode_in_place(line, buffers, |ev| {
            std::hint::black_box(ev.verb);
        })
        .is_ok()
        {
            n += 1;
        }
    }
    n
}

fn bare_parse(c: &mut Criterion) {
    let data = corpus::corpus(64 << 20);
    let chunks = corpus::line_chunks(&data);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        g.bench_with_input(
            BenchmarkId::new("simd_json_typed", threads),
            &chunks,
            |b, chunks| {
                b.iter(|| {
                    pool.install(|| {
                        chunks
                            .par_iter()
                            .map_init(
                                || (Vec::new(), simd_json::Buffers::new(64 * 1024)),
                                |(scratch, buffers), chunk| parse_chunk(chunk, scratch, buffers),
                            )
                            .sum::<usize>()
                    })
                });
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bare_parse);
criterion_main!(benches);

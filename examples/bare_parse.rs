//! A bare parse of audit logs, for `benches/ratio.sh`: reads each file in 4 MiB pieces cut at
//! line ends and parses every line with simd-json into audit-scan's typed event (the decoder
//! before the fast path), on `--threads N` (default 2). Nothing is aggregated; it prints the
//! bytes, events and seconds.
//!
//! Usage: `bare_parse [--threads N] [--fast] FILE...` (`--fast`: audit-scan's own decoder).

use std::io::{Read, Write};
use std::time::Instant;

use audit_scan::decode::event::{LINE_PADDING, LineDecoder};
use rayon::prelude::*;

fn main() {
    let mut threads = 2;
    let mut fast = false;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(2),
            "--fast" => fast = true,
            _ => files.push(a),
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("threads");
    let started = Instant::now();
    let (mut bytes, mut events) = (0u64, 0u64);
    for file in &files {
        let mut f = std::fs::File::open(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(threads * 2);
        let reader = std::thread::spawn(move || {
            let mut carry = Vec::new();
            let mut total = 0u64;
            loop {
                let mut buf = std::mem::take(&mut carry);
                let start = buf.len();
                buf.resize(start + (4 << 20), 0);
                let n = f.read(&mut buf[start..]).expect("read");
                buf.truncate(start + n);
                total += n as u64;
                if n == 0 {
                    if !buf.is_empty() {
                        let _ = tx.send(buf);
                    }
                    return total;
                }
                if let Some(cut) = memchr::memrchr(b'\n', &buf) {
                    carry = buf[cut + 1..].to_vec();
                    buf.truncate(cut + 1);
                    let _ = tx.send(buf);
                } else {
                    carry = buf;
                }
            }
        });
        events += pool.install(|| {
            rx.into_iter()
                .par_bridge()
                .map_init(
                    || {
                        if fast {
                            LineDecoder::default()
                        } else {
                            LineDecoder::simd_json_only()
                        }
                    },
                    |decoder, mut chunk| {
                        let len = chunk.len();
                        chunk.resize(len + LINE_PADDING, b' ');
                        let (mut n, mut start) = (0u64, 0);
                        while start < len {
                            let end = memchr::memchr(b'\n', &chunk[start..len])
                                .map_or(len, |i| start + i);
                            if end > start {
                                let _ = decoder.decode(&mut chunk[start..], end - start, |ev| {
                                    std::hint::black_box(ev.verb);
                                    n += 1;
                                });
                            }
                            start = end + 1;
                        }
                        n
                    },
                )
                .sum::<u64>()
        });
        bytes += reader.join().expect("reader");
    }
    let s = started.elapsed().as_secs_f64();
    let _ = writeln!(
        std::io::stdout().lock(),
        "bytes={bytes} events={events} seconds={s:.3} gb_per_s={:.2}",
        bytes as f64 / s / 1e9
    );
}

//! Shared by the benches: a seeded synthetic corpus (see `audit-scan generate`).
#![allow(dead_code)] // each bench uses part of it

use audit_scan::synth::{SynthConfig, generate};

/// `bytes` of generated audit log at Metadata level, always the same for the same size.
#[must_use]
pub fn corpus(bytes: u64) -> Vec<u8> {
    generated(bytes, false)
}

/// `bytes` of generated audit log whose writes are logged at RequestResponse level with whole
/// objects as bodies (`generate --bodies`, EKS' policy).
#[must_use]
pub fn corpus_bodies(bytes: u64) -> Vec<u8> {
    generated(bytes, true)
}

/// About `bytes` of the writes that carry a response body, alone: the issue's
/// RequestResponse-heavy shape (bodies ~85% of the bytes), as `benches/writes-log.sh` cuts it.
#[must_use]
pub fn corpus_writes(bytes: u64) -> Vec<u8> {
    let all = generated(bytes * 5 / 2, true);
    let mut out = Vec::with_capacity(bytes as usize + 4096);
    let writes = all
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| memchr::memmem::find(line, br#""responseObject":{"#).is_some());
    for line in writes {
        if out.len() + line.len() > bytes as usize {
            break;
        }
        out.extend_from_slice(line);
    }
    out
}

/// The three shapes the benches measure: (name, bytes).
#[must_use]
pub fn shapes(bytes: u64) -> [(&'static str, Vec<u8>); 3] {
    [
        ("metadata", corpus(bytes)),
        ("bodies", corpus_bodies(bytes)),
        ("writes", corpus_writes(bytes)),
    ]
}

fn generated(bytes: u64, bodies: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes as usize + 4096);
    generate(
        &SynthConfig {
            bytes,
            seed: 5,
            bodies,
            ..SynthConfig::default()
        },
        &mut out,
    )
    .expect("generate");
    out
}

/// The corpus cut into ~4 MiB pieces at line ends, as the reader would send them.
#[must_use]
pub fn line_chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let target = (start + (4 << 20)).min(data.len());
        let end = memchr::memchr(b'\n', &data[target..]).map_or(data.len(), |i| target + i + 1);
        out.push(&data[start..end]);
        start = end;
    }
    out
}

//! The generator's random numbers: xorshift64*, seeded, so a seed gives the same bytes.

use crate::timefmt::Micros;

/// xorshift64*: small, fast, and enough for synthetic traffic.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// A log-normal-ish latency around `median_ms`, in µs.
    pub fn latency_us(&mut self, median_ms: f64) -> Micros {
        let z: f64 = (0..4).map(|_| self.f64()).sum::<f64>() - 2.0; // ~N(0, 0.58)
        (median_ms * 1000.0 * (z * 1.2).exp()) as Micros
    }
    /// One of `xs`, each as likely as its weight.
    pub(super) fn weighted<'a, T>(&mut self, xs: &'a [(u64, T)]) -> &'a T {
        let total: u64 = xs.iter().map(|(w, _)| w).sum();
        let mut roll = self.below(total);
        for (w, x) in xs {
            if roll < *w {
                return x;
            }
            roll -= w;
        }
        &xs[xs.len() - 1].1
    }
    pub(super) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

pub(super) fn uuid(r: &mut Rng) -> String {
    let (a, b) = (r.next_u64(), r.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

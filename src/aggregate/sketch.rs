//! Aggregate: mergeable building blocks — a latency sketch, a time span, and a few sample
//! auditIDs per key. All merge exactly regardless of order, so any thread count gives the same
//! report.

use sketches_ddsketch::{Config, DDSketch};
use smallvec::SmallVec;

use crate::timefmt::Micros;

/// The DDSketch relative accuracy: every reported percentile is within 1% of a value whose rank
/// is the requested one (DDSketch guarantee; bins never collapse at this bin limit for latencies
/// from 1 µs to years).
pub const RELATIVE_ERROR: f64 = 0.01;

fn config() -> Config {
    Config::new(RELATIVE_ERROR, 4096, 1e-3)
}

/// Latency distribution of one key: DDSketch for percentiles, exact count, sum and max.
#[derive(Clone)]
pub struct LatencySketch {
    sketch: DDSketch,
    /// Samples added.
    pub count: u64,
    /// Exact sum in µs (integer, so merge order does not change the mean).
    pub sum_us: u64,
    /// Exact maximum in µs.
    pub max_us: u64,
    /// Exact minimum in µs.
    pub min_us: u64,
}

impl std::fmt::Debug for LatencySketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencySketch")
            .field("count", &self.count)
            .field("sum_us", &self.sum_us)
            .field("max_us", &self.max_us)
            .field("min_us", &self.min_us)
            .finish_non_exhaustive()
    }
}

impl Default for LatencySketch {
    fn default() -> Self {
        Self {
            sketch: DDSketch::new(config()),
            count: 0,
            sum_us: 0,
            max_us: 0,
            min_us: u64::MAX,
        }
    }
}

impl LatencySketch {
    /// Adds a latency in µs.
    pub fn add(&mut self, us: Micros) {
        let us = u64::try_from(us).unwrap_or(0);
        self.sketch.add(us as f64 / 1000.0);
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
        self.min_us = self.min_us.min(us);
    }

    /// Merges another sketch in.
    ///
    /// # Panics
    /// When the sketches have different configs, which [`config`] rules out.
    pub fn merge(&mut self, other: &Self) {
        if other.count == 0 {
            return;
        }
        self.sketch
            .merge(&other.sketch)
            .expect("sketches share one config");
        self.count += other.count;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.max_us = self.max_us.max(other.max_us);
        self.min_us = self.min_us.min(other.min_us);
    }

    /// The `q` quantile in ms by nearest rank (the ⌈q·n⌉-th smallest sample, so the p99 of two
    /// samples is the larger), within [`RELATIVE_ERROR`] and clamped to the exact min and max.
    #[must_use]
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let (min, max) = (self.min_us as f64 / 1000.0, self.max_us as f64 / 1000.0);
        let rank = nearest_rank(q, self.count);
        if rank + 1 >= self.count {
            return Some(max);
        }
        if rank == 0 {
            return Some(min);
        }
        // The crate ranks by ⌊q'·(n−1)⌋: aim q' at the middle of the wanted rank.
        let q_crate = (rank as f64 + 0.5) / (self.count - 1) as f64;
        let v = self.sketch.quantile(q_crate.min(1.0)).ok().flatten()?;
        Some(v.clamp(min, max))
    }

    /// Exact mean in ms.
    #[must_use]
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_us as f64 / self.count as f64 / 1000.0)
    }
}

/// The 0-based nearest rank of quantile `q` among `n` samples: ⌈q·n⌉ − 1.
#[must_use]
pub fn nearest_rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).clamp(1, n.max(1)) - 1
}

/// First and last event time of a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Earliest time seen.
    pub first: Option<Micros>,
    /// Latest time seen.
    pub last: Option<Micros>,
}

impl Span {
    /// Widens the span to include `t`.
    pub fn observe(&mut self, t: Option<Micros>) {
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    /// Merges another span in.
    pub fn merge(&mut self, o: Span) {
        self.observe(o.first);
        self.observe(o.last);
    }
}

/// How many sample auditIDs a key keeps.
pub const SAMPLES: usize = 3;

/// The earliest few auditIDs of a key (by event time, then id), so the choice does not depend
/// on which thread saw what.
#[derive(Debug, Clone, Default)]
pub struct Samples(SmallVec<[(Micros, Box<str>); SAMPLES]>);

impl Samples {
    /// Offers an auditID; allocates only when it is kept.
    pub fn offer(&mut self, t: Option<Micros>, id: &str) {
        if id.is_empty() {
            return;
        }
        let t = t.unwrap_or(Micros::MAX);
        if self.0.len() == SAMPLES {
            let (lt, lid) = &self.0[SAMPLES - 1];
            if (t, id) >= (*lt, &**lid) {
                return;
            }
        }
        if self.0.iter().any(|(_, s)| &**s == id) {
            return;
        }
        // Inline, never on the heap: make room before the insert (the one dropped is the
        // latest, which the new id precedes).
        if self.0.len() == SAMPLES {
            self.0.pop();
        }
        let at = self.0.partition_point(|(st, sid)| (*st, &**sid) < (t, id));
        self.0.insert(at, (t, id.into()));
    }

    /// Merges another set in.
    pub fn merge(&mut self, o: &Samples) {
        for (t, id) in &o.0 {
            self.offer(Some(*t), id);
        }
    }

    /// The kept auditIDs, earliest first.
    #[must_use]
    pub fn ids(&self) -> Vec<String> {
        self.0.iter().map(|(_, s)| s.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketch_merge_is_order_free() {
        let mut a = LatencySketch::default();
        let mut b = LatencySketch::default();
        let mut all = LatencySketch::default();
        for i in 0..1000 {
            let v = (i * 7919) % 100_000;
            if i % 3 == 0 {
                a.add(v);
            } else {
                b.add(v);
            }
            all.add(v);
        }
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        for q in [0.5, 0.9, 0.99] {
            assert_eq!(ab.quantile_ms(q), all.quantile_ms(q));
            assert_eq!(ba.quantile_ms(q), all.quantile_ms(q));
        }
        assert_eq!(ab.sum_us, all.sum_us);
    }

    #[test]
    fn samples_keep_earliest() {
        let mut s = Samples::default();
        for (t, id) in [(5, "e"), (1, "a"), (3, "c"), (2, "b"), (4, "d"), (1, "a")] {
            s.offer(Some(t), id);
        }
        assert_eq!(s.ids(), ["a", "b", "c"]);
        assert!(
            !s.0.spilled(),
            "room is made before an insert: never on the heap"
        );
    }
}

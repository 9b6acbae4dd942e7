//! Pipeline: when a run stops early. Under `--strict` the report names the first skipped line in
//! input order, so files stop *after* the earliest chunk known to hold one: several readers and
//! workers meet the chunks out of order, and a chunk before that one may still hold an earlier
//! bad line, so it is read and decoded to its end. The CloudWatch download stops all at once, as
//! it always has (its error is the run's error).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// No chunk has had a skipped line.
const NOT_MARKED: u64 = u64::MAX;

/// A chunk's place in input order, as one number: input, then chunk. Chunk numbers past
/// `u32::MAX` share the last key, so such chunks are kept rather than wrongly dropped.
fn key(origin: u32, seq: u64) -> u64 {
    (u64::from(origin) << 32) | seq.min(u64::from(u32::MAX))
}

/// The shared stop signal of one run.
#[derive(Debug)]
pub(crate) struct Halt {
    /// Set at the first skipped line under `--strict`; the CloudWatch download's tasks and the
    /// workers of a download stop on it.
    pub(crate) any: AtomicBool,
    /// The earliest chunk (as a [`key`]) in which a line was skipped under `--strict`.
    first: AtomicU64,
    /// Stop by position (files) rather than all at once (a CloudWatch download).
    by_position: bool,
}

impl Halt {
    /// A signal that stops files after the earliest bad chunk (`by_position`) or a download at
    /// once.
    pub(crate) fn new(by_position: bool) -> Self {
        Self {
            any: AtomicBool::new(false),
            first: AtomicU64::new(NOT_MARKED),
            by_position,
        }
    }

    /// Records that chunk `seq` of input `origin` had a skipped line under `--strict`; the
    /// earliest such chunk is kept.
    pub(crate) fn mark(&self, origin: u32, seq: u64) {
        self.first.fetch_min(key(origin, seq), Ordering::Relaxed);
        self.any.store(true, Ordering::Relaxed);
    }

    /// Whether chunk `seq` of input `origin` need not be read or decoded. The mark only moves
    /// earlier, so a stale read of it keeps a chunk, never drops one that is needed.
    pub(crate) fn skips(&self, origin: u32, seq: u64) -> bool {
        if self.by_position {
            key(origin, seq) > self.first.load(Ordering::Relaxed)
        } else {
            self.any.load(Ordering::Relaxed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_stop_after_the_earliest_bad_chunk() {
        let h = Halt::new(true);
        assert!(!h.skips(11, 7));
        h.mark(6, 3);
        // A later mark moves it back, an earlier one does not.
        h.mark(8, 0);
        assert!(h.skips(6, 4) && h.skips(7, 0) && h.skips(8, 0));
        assert!(!h.skips(6, 3) && !h.skips(6, 0) && !h.skips(5, 900));
        h.mark(2, 1);
        assert!(h.skips(2, 2) && h.skips(6, 0));
        assert!(!h.skips(2, 1) && !h.skips(1, u64::MAX));
        assert!(h.any.load(Ordering::Relaxed));
    }

    #[test]
    fn a_download_stops_at_once() {
        let h = Halt::new(false);
        assert!(!h.skips(3, 0));
        h.any.store(true, Ordering::Relaxed);
        assert!(h.skips(0, 0));
    }

    #[test]
    fn chunk_numbers_past_the_key_are_kept() {
        let h = Halt::new(true);
        h.mark(0, u64::from(u32::MAX) + 5);
        assert!(!h.skips(0, u64::MAX));
        assert!(h.skips(1, 0));
    }
}

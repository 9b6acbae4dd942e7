//! Source/CloudWatch: cutting the fetch window into half-open time slices. FilterLogEvents
//! includes both `startTime` and `endTime` (ms), so slice `[a, b)` is asked as `a ..= b-1`:
//! consecutive slices share no millisecond and miss none.

/// One slice of CloudWatch time, `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// Inclusive start, ms.
    pub start_ms: i64,
    /// Exclusive end, ms.
    pub end_ms: i64,
}

impl Slice {
    /// `endTime` for FilterLogEvents (inclusive).
    #[must_use]
    pub fn end_inclusive(&self) -> i64 {
        self.end_ms - 1
    }
}

/// Cuts `[start_ms, end_ms)` into slices of at most `max_ms` (fewer ms when that gives at least
/// `min_slices` slices to spread over the workers). Inner boundaries fall on multiples of the
/// step in epoch time, so a slice edge is predictable (`--slice 1h`: on the hour).
#[must_use]
pub fn slices(start_ms: i64, end_ms: i64, max_ms: i64, min_slices: usize) -> Vec<Slice> {
    if end_ms <= start_ms {
        return Vec::new();
    }
    let n = min_slices.max(1) as i64;
    let by_count = (end_ms - start_ms + n - 1) / n;
    let step = max_ms.max(1).min(by_count.max(1));
    let mut out = Vec::new();
    let mut a = start_ms;
    while a < end_ms {
        let next_edge = (a.div_euclid(step) + 1) * step;
        let b = next_edge.min(end_ms);
        out.push(Slice {
            start_ms: a,
            end_ms: b,
        });
        a = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_tile_the_window_exactly() {
        for (s, e, max, min) in [
            (0, 10_000, 3_000, 1),
            (5, 6, 1000, 4),
            (0, 7 * 86_400_000, 3_600_000, 16),
            (100, 101_000, 1000, 8),
        ] {
            let v = slices(s, e, max, min);
            assert_eq!(v.first().unwrap().start_ms, s);
            assert_eq!(v.last().unwrap().end_ms, e);
            for w in v.windows(2) {
                assert_eq!(w[0].end_ms, w[1].start_ms, "no gap, no overlap");
            }
            assert!(
                v.iter()
                    .all(|x| x.end_ms - x.start_ms <= max && x.end_ms > x.start_ms)
            );
        }
        assert_eq!(slices(0, 100, 1000, 4).len(), 4);
        let hour = 3_600_000;
        let v = slices(hour / 2, 3 * hour, hour, 1);
        assert_eq!(v[1].start_ms, hour, "edges on the hour");
        assert_eq!(v[0].end_inclusive(), hour - 1);
        assert!(slices(5, 5, 10, 1).is_empty());
    }
}

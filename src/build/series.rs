//! Builder helpers for per-minute series shared by the native and Insights builders and by
//! health.

/// Peak (value, earliest minute) and nearest-rank p99 of per-minute counts over `total` minutes,
/// given only the minutes with a count: the zeros are counted, not stored.
#[must_use]
pub fn sparse_stats(points: &[(i64, u64)], total: u64) -> (u64, Option<i64>, u64) {
    let (peak, at) = points.iter().fold((0, None), |(p, at), (m, c)| {
        if *c > p || (*c == p && *c > 0 && at.is_some_and(|a| *m < a)) {
            (*c, Some(*m))
        } else {
            (p, at)
        }
    });
    let mut sorted: Vec<u64> = points.iter().map(|(_, c)| *c).filter(|c| *c > 0).collect();
    sorted.sort_unstable();
    let total = total.max(sorted.len() as u64);
    let zeros = total - sorted.len() as u64;
    let rank = crate::aggregate::sketch::nearest_rank(0.99, total);
    let p99 = if rank < zeros {
        0
    } else {
        sorted.get((rank - zeros) as usize).copied().unwrap_or(0)
    };
    (peak, at, p99)
}

//! Aggregate: control-plane health and sizing inputs — success per minute by client class,
//! latency-SLO counts per 5-minute window, APF seat-seconds per minute (Little's law), and pod
//! bindings per second. Every table is counts keyed by time, so merging is exact.

use rustc_hash::FxHashMap;

use crate::timefmt::{MINUTE_US, Micros};

/// SLO windows are five minutes, as the upstream SLIs are evaluated.
pub const SLO_WINDOW_US: Micros = 5 * MINUTE_US;

/// Who sends a request: control-plane and node components, or workloads.
#[must_use]
pub fn is_system(username: &str) -> bool {
    match username.strip_prefix("system:serviceaccount:") {
        Some(rest) => rest.starts_with("kube-system:"),
        None => username.starts_with("system:"),
    }
}

/// Health tables.
#[derive(Debug, Clone, Default)]
pub struct HealthAcc {
    /// (minute, 0 = system / 1 = workload) → (short requests, answered 5xx or 429).
    pub class_minutes: FxHashMap<(i64, u8), (u64, u64)>,
    /// Seat-µs in flight per minute (a request's seat time is spread over the minutes it spans).
    pub seat_us: FxHashMap<i64, u64>,
    /// (5-minute window, resource, SLO class) → (calls, calls over the class threshold).
    pub slo_windows: FxHashMap<(i64, u32, u8), (u64, u64)>,
    /// Successful `pods/binding` creates per second.
    pub bindings: FxHashMap<i64, u64>,
}

impl HealthAcc {
    /// Spreads `seat_us` of a request in flight over `[start, end]` across the minutes it spans.
    pub fn add_seats(&mut self, start: Micros, end: Micros, seat_us: u64) {
        let (m0, m1) = (start.div_euclid(MINUTE_US), end.div_euclid(MINUTE_US));
        if m0 == m1 || end <= start {
            *self.seat_us.entry(m0).or_default() += seat_us;
            return;
        }
        let span = (end - start) as f64;
        let mut given = 0u64;
        for m in m0..=m1 {
            let (a, b) = (start.max(m * MINUTE_US), end.min((m + 1) * MINUTE_US));
            let part = if m == m1 {
                seat_us - given
            } else {
                (seat_us as f64 * (b - a) as f64 / span).round() as u64
            };
            let part = part.min(seat_us - given);
            given += part;
            *self.seat_us.entry(m).or_default() += part;
        }
    }

    /// Merges another in (`remap` maps interned resource ids).
    pub fn merge(&mut self, o: &Self, remap: &[u32]) {
        for (k, (a, b)) in &o.class_minutes {
            let e = self.class_minutes.entry(*k).or_default();
            e.0 += a;
            e.1 += b;
        }
        for (k, v) in &o.seat_us {
            *self.seat_us.entry(*k).or_default() += v;
        }
        for ((w, r, c), (a, b)) in &o.slo_windows {
            let e = self
                .slo_windows
                .entry((*w, remap[*r as usize], *c))
                .or_default();
            e.0 += a;
            e.1 += b;
        }
        for (k, v) in &o.bindings {
            *self.bindings.entry(*k).or_default() += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_split_across_minutes_exactly() {
        let mut h = HealthAcc::default();
        // 20 s in flight from 50 s to 70 s: 10 s in each minute.
        h.add_seats(50_000_000, 70_000_000, 20_000_000);
        assert_eq!(h.seat_us[&0], 10_000_000);
        assert_eq!(h.seat_us[&1], 10_000_000);
        h.add_seats(0, 1, 7);
        assert_eq!(h.seat_us[&0], 10_000_007);
    }

    #[test]
    fn system_or_workload() {
        assert!(is_system("system:node:n1"));
        assert!(is_system(
            "system:serviceaccount:kube-system:replicaset-controller"
        ));
        assert!(!is_system("system:serviceaccount:team-a:op"));
        assert!(!is_system("alice@example.com"));
    }
}

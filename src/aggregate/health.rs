//! Aggregate: control-plane health and sizing inputs — success per minute by client class,
//! latency-SLO counts per 5-minute window, APF seat-seconds per minute (Little's law), and pod
//! bindings per second. Every table is counts keyed by time, so merging is exact.

use rustc_hash::FxHashMap;

use super::ids::ResourceId;
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

/// Health tables (success by client class and seat time live in the per-minute totals).
#[derive(Debug, Clone, Default)]
pub struct HealthAcc {
    /// (5-minute window, resource, SLO class) → (calls, calls over the class threshold).
    pub slo_windows: FxHashMap<(i64, ResourceId, u8), (u64, u64)>,
    /// Successful `pods/binding` creates per second.
    pub bindings: FxHashMap<i64, u64>,
}

impl HealthAcc {
    /// Merges another in (`remap` maps interned resource ids).
    pub fn merge(&mut self, o: &Self, remap: &[u32]) {
        for ((w, r, c), (a, b)) in &o.slo_windows {
            let e = self
                .slo_windows
                .entry((*w, r.remap(remap), *c))
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
    fn system_or_workload() {
        assert!(is_system("system:node:n1"));
        assert!(is_system(
            "system:serviceaccount:kube-system:replicaset-controller"
        ));
        assert!(!is_system("system:serviceaccount:team-a:op"));
        assert!(!is_system("alice@example.com"));
    }
}

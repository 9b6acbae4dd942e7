//! Rules: the one cost model every rule scores with, so findings rank on one scale.
//!
//! Unit: **APF seat-seconds per hour** of the log's span — how much of the API server's
//! concurrency the traffic holds. A request holds `seats` for its latency (audit latency is an
//! upper bound: it includes APF queueing). Writes also cost etcd: each successful write is
//! charged [`WRITE_ETCD_SECONDS`] more, standing for the raft commit and the fan-out of the
//! change to every watcher. LIST width follows the APF work estimator's shape (one seat per 100
//! objects, at most 10): the log does not say how many objects a LIST touched, so a
//! cluster-scoped LIST is charged [`CLUSTER_LIST_SEATS`] and a namespaced one 1. A sustained
//! score of 3,600 is one seat busy all the time; kube-apiserver's default total is 600 seats
//! (--max-requests-inflight 400 + --max-mutating-requests-inflight 200), EKS' larger tiers more.

/// Extra seat-seconds charged per successful write (etcd commit + watch fan-out weight).
pub const WRITE_ETCD_SECONDS: f64 = 0.05;

/// Seats charged to a cluster-scoped LIST (the estimator's maximum width).
pub const CLUSTER_LIST_SEATS: f64 = 10.0;

/// Seat-seconds per hour of `count` requests of mean latency `mean_ms` holding `seats`, over a
/// span of `span_s` seconds (at least an hour: [`MIN_WINDOW_S`]).
#[must_use]
pub fn reads(count: u64, mean_ms: f64, seats: f64, span_s: f64) -> f64 {
    count as f64 * mean_ms / 1000.0 * seats * per_hour(span_s)
}

/// Seat-seconds per hour of `count` writes of mean latency `mean_ms`.
#[must_use]
pub fn writes(count: u64, mean_ms: f64, span_s: f64) -> f64 {
    count as f64 * (mean_ms / 1000.0 + WRITE_ETCD_SECONDS) * per_hour(span_s)
}

/// The shortest window a score is spread over: an hour. A burst of seconds is charged the
/// seat-seconds it used, never extrapolated to an hour (30 slow calls in 30 s are not a seat
/// held all hour).
pub const MIN_WINDOW_S: f64 = 3600.0;

/// Factor turning a count over `span_s` into a count per hour (never more than the count).
#[must_use]
pub fn per_hour(span_s: f64) -> f64 {
    3600.0 / span_s.max(MIN_WINDOW_S)
}

/// A score a rule priced over the log's span (`span_s`), re-expressed per hour of the
/// finding's own active window (`window_s`): the same seat-seconds, over the time they were
/// spent.
#[must_use]
pub fn rejudge(score: f64, span_s: f64, window_s: f64) -> f64 {
    score * per_hour(window_s) / per_hour(span_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seat_all_hour_is_3600() {
        // 3,600 one-second reads in an hour.
        assert!((reads(3600, 1000.0, 1.0, 3600.0) - 3600.0).abs() < 1e-9);
        // A write of 10 ms costs 60 ms.
        assert!((writes(1, 10.0, 3600.0) - 0.06).abs() < 1e-9);
        assert!(
            (per_hour(30.0) - 1.0).abs() < 1e-9,
            "a 30 s span is charged what it used, not extrapolated to an hour"
        );
        // 100 seat-s/h over a 2 h log, all spent in 20 minutes: 200 seat-s in its hour.
        assert!((rejudge(100.0, 7200.0, 1200.0) - 200.0).abs() < 1e-9);
        assert!((rejudge(100.0, 7200.0, 7200.0) - 100.0).abs() < 1e-9);
    }
}

//! Report: the `health` and `sizing` sections — success rate per minute by client class, latency
//! SLO violations per 5-minute window, APF seat estimates, and the EKS tier that fits.

use serde::Deserialize;

use crate::aggregate::tables::MinuteTotals;
use crate::aggregate::{Aggregates, SLO_CLASSES};
use crate::model::health::{
    ClassMinute, EtcdGrowth, EtcdRevisions, Health, MAX_REJECTED_MINUTES, RejectedMinute, Sizing,
    SloRow, SloViolation, SuccessMinute, Tier, TierChoice,
};
use crate::model::rows::NameCount;
use crate::timefmt::{MINUTE_US, format_minute, format_rfc3339};

/// Minutes whose success rate falls below this are listed.
pub const SUCCESS_THRESHOLD: f64 = 0.99;

#[derive(Debug, Clone, Deserialize)]
struct TierTable {
    headroom: f64,
    tier: Vec<Tier>,
}

/// The tier table, embedded from `data/eks-tiers.toml`.
pub const TIERS_TOML: &str = include_str!("../../data/eks-tiers.toml");

/// The etcd growth estimate, when the log has the objects to measure.
fn etcd_growth(a: &Aggregates) -> Option<EtcdGrowth> {
    let g = a.cluster.growth;
    if g.creates_measured == 0 && g.deletes_measured == 0 {
        return None;
    }
    let covered = a.cluster.covered;
    let span_s = match (covered.first, covered.last) {
        (Some(f), Some(l)) if l > f => Some((l - f) as f64 / 1e6),
        _ => None,
    };
    let net = g.created_bytes as f64 - g.deleted_bytes as f64;
    Some(EtcdGrowth {
        method: "JSON bytes of the objects returned by successful creates minus those returned by successful deletes, per hour of the span. Only creates and deletes with their responseObject logged count; updates are taken to keep an object's size. etcd stores built-in objects as protobuf (smaller than JSON) and keeps old revisions until compaction, so this is the trend of the live data, not the database file.",
        creates: g.creates,
        creates_measured: g.creates_measured,
        created_bytes: g.created_bytes,
        deletes: g.deletes,
        deletes_measured: g.deletes_measured,
        deleted_bytes: g.deleted_bytes,
        net_bytes_per_hour: span_s.map(|s| (net / s * 3600.0).round()),
    })
}

/// Chooses a tier for `seats` and `pods_per_s` with the table's headroom.
#[must_use]
pub fn choose_tier(seats: f64, pods_per_s: f64, toml_text: &str) -> TierChoice {
    let t: TierTable = toml::from_str(toml_text).unwrap_or(TierTable {
        headroom: 0.2,
        tier: Vec::new(),
    });
    let f = 1.0 + t.headroom;
    let (need_seats, need_pods) = (seats * f, pods_per_s * f);
    let smallest_published = t
        .tier
        .iter()
        .filter_map(|x| x.pods_per_second)
        .fold(f64::INFINITY, f64::min);
    let mut arithmetic = vec![
        format!("seats: peak {seats:.1} × {f} headroom = {need_seats:.1} needed"),
        format!("pod bindings: peak {pods_per_s:.0}/s × {f} = {need_pods:.1}/s needed"),
    ];
    for tier in &t.tier {
        let pods_cap = tier.pods_per_second.unwrap_or(smallest_published);
        // A limit reached exactly fits (with a relative epsilon: 400 / 1.2 × 1.2 is not 400).
        let within = |need: f64, cap: f64| need <= cap * (1.0 + 1e-9);
        let fits_seats = within(need_seats, tier.seats);
        let fits_pods = if tier.pods_per_second.is_some() {
            within(need_pods, pods_cap)
        } else {
            need_pods < pods_cap
        };
        arithmetic.push(format!(
            "{}: {need_seats:.1} {} {} seats, {need_pods:.1}/s {} {} bindings/s{}",
            tier.name,
            if fits_seats { "≤" } else { ">" },
            tier.seats,
            if fits_pods { "within" } else { "over" },
            tier.pods_per_second.map_or_else(
                || format!("{pods_cap} (unpublished; below the smallest published)"),
                |p| p.to_string()
            ),
            if fits_seats && fits_pods {
                " → fits"
            } else {
                ""
            },
        ));
        if fits_seats && fits_pods {
            return TierChoice {
                recommended: tier.name.clone(),
                exceeds_largest: false,
                arithmetic,
                rejected_minutes: 0,
                fits_rejected_minutes: true,
            };
        }
    }
    TierChoice {
        recommended: t.tier.last().map_or_else(String::new, |x| x.name.clone()),
        exceeds_largest: true,
        arithmetic,
        rejected_minutes: 0,
        fits_rejected_minutes: true,
    }
}

/// A minute's (short requests, failed) of the system and the workload class.
fn class_counts(t: &MinuteTotals) -> [(u64, u64); 2] {
    let (wn, wf) = (t.workload, t.workload_failed);
    [
        (
            t.short - wn,
            (t.server_errors + t.throttled).saturating_sub(wf),
        ),
        (wn, wf),
    ]
}

/// The lower success rate of a minute's two classes (unrounded), if it had short requests.
#[must_use]
pub fn worst_success(t: &MinuteTotals) -> Option<f64> {
    class_counts(t)
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, f)| 1.0 - *f as f64 / *n as f64)
        .reduce(f64::min)
}

/// Whether either class of a minute fell below [`SUCCESS_THRESHOLD`]. Compared unrounded:
/// 0.98996 is below 99% even though it prints as 0.99.
#[must_use]
pub fn below_slo(t: &MinuteTotals) -> bool {
    worst_success(t).is_some_and(|r| r < SUCCESS_THRESHOLD)
}

/// Builds `health`, from the cluster scope (a filtered scan's health is the cluster's).
#[must_use]
pub fn health(a: &Aggregates, slo: &[SloRow]) -> Health {
    let mut minutes: Vec<_> = a
        .cluster
        .minutes
        .iter()
        .filter(|(_, t)| t.short > 0)
        .collect();
    minutes.sort_by_key(|(m, _)| **m);
    let class = |n: u64, f: u64| {
        (n > 0).then(|| ClassMinute {
            requests: n,
            failed: f,
            success_rate: ((1.0 - f as f64 / n as f64) * 10_000.0).round() / 10_000.0,
        })
    };
    let (mut below, mut below_minutes) = (Vec::new(), Vec::new());
    let rows: Vec<SuccessMinute> = minutes
        .iter()
        .map(|(m, t)| {
            let [(sn, sf), (wn, wf)] = class_counts(t);
            if below_slo(t) {
                below.push(format_minute(**m));
                below_minutes.push(**m);
            }
            SuccessMinute {
                minute: format_minute(**m),
                system: class(sn, sf),
                workload: class(wn, wf),
            }
        })
        .collect();
    let mut violations: Vec<SloViolation> = a
        .cluster
        .health
        .slo_windows
        .iter()
        .filter(|(_, (n, over))| *over * 100 > *n)
        .map(|((w, r, c), (n, over))| SloViolation {
            window: format_rfc3339(w * crate::aggregate::health::SLO_WINDOW_US),
            resource: a.strings.name(*r).to_owned(),
            class: SLO_CLASSES[usize::from(*c)].0.to_owned(),
            calls: *n,
            over: *over,
            threshold_s: SLO_CLASSES[usize::from(*c)].1,
        })
        .collect();
    violations.sort_by(|x, y| {
        (&x.window, &x.resource, &x.class).cmp(&(&y.window, &y.resource, &y.class))
    });
    Health {
        success_threshold: SUCCESS_THRESHOLD,
        minutes: rows,
        below_threshold: below,
        dips: super::timeline::runs(below_minutes).len() as u64,
        slo_windows_checked: a.cluster.health.slo_windows.len() as u64,
        slo_violations: violations,
        slo_clients_over: slo.iter().filter(|s| s.over).cloned().collect(),
    }
}

/// Builds `sizing`, from the cluster scope.
#[must_use]
pub fn sizing(a: &Aggregates) -> Sizing {
    let span = a.cluster.span;
    // Sparse: a far-future timestamp must not allocate every minute in between.
    let points: Vec<(i64, u64)> = a
        .cluster
        .minutes
        .iter()
        .map(|(m, t)| (*m, t.seat_us))
        .collect();
    let total = match (span.first, span.last) {
        (Some(f), Some(l)) => (l.div_euclid(MINUTE_US) - f.div_euclid(MINUTE_US) + 1) as u64,
        _ => 0,
    };
    let (peak_us, peak_at, p99_us) = super::series::sparse_stats(&points, total);
    let (peak, p99) = (
        peak_us as f64 / MINUTE_US as f64,
        p99_us as f64 / MINUTE_US as f64,
    );
    let mut top: Vec<NameCount> = a
        .cluster
        .clients
        .iter()
        .map(|(id, c)| NameCount {
            name: a.strings.name(*id).to_owned(),
            count: c.seat_us / 1_000_000,
        })
        .filter(|n| n.count > 0)
        .collect();
    top.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.name.cmp(&y.name)));
    top.truncate(10);

    let bindings = a
        .cluster
        .health
        .bindings
        .values()
        .copied()
        .max()
        .unwrap_or(0);
    let writes = a
        .cluster
        .minutes
        .values()
        .map(|m| m.writes)
        .max()
        .unwrap_or(0) as f64
        / 60.0;
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let rejected = rejected_minutes(a);
    let mut tier = choose_tier(peak, bindings as f64, TIERS_TOML);
    judge_rejections(
        &mut tier,
        &rejected,
        a.cluster.minutes.values().map(|m| m.apf_rejected).sum(),
    );
    let etcd = etcd_revisions(round(writes));
    tier.arithmetic.push(format!(
        "etcd revisions: peak {:.2} writes/s × {} s between compactions × {} B a revision = {} revisions, {:.1} MB kept until compaction",
        etcd.peak_writes_per_second,
        etcd.compaction_interval_s,
        etcd.revision_bytes,
        etcd.revisions,
        etcd.bytes as f64 / 1e6
    ));
    Sizing {
        method: "Little's law on the audit log: each short request holds its APF width (1 seat; a cluster-scoped LIST 10, the estimator's maximum, since the log does not say how many objects it read) for its audit latency — an upper bound, as audit latency includes APF queueing — plus 0.05 s per successful write for etcd and watch fan-out; long-running requests hold no seat. Seats per minute = seat-seconds in flight in that minute ÷ 60. APF priority levels are not in the log and are not guessed.",
        peak_seats: round(peak),
        peak_minute: peak_at.map(format_minute),
        p99_seats: round(p99),
        top_clients: top,
        peak_pod_bindings_per_second: bindings,
        peak_writes_per_second: round(writes),
        tier,
        apf_rejected_requests: rejected.iter().map(|r| r.rejected).sum(),
        apf_rejected_minute_count: rejected.len() as u64,
        apf_rejected_minutes: most_rejected(rejected),
        etcd_revisions: etcd,
        etcd_growth: etcd_growth(a),
    }
}

/// kube-apiserver compacts etcd every 5 minutes by default (`--etcd-compaction-interval`).
pub const COMPACTION_INTERVAL_S: u64 = 300;
/// Bytes assumed per etcd revision: a typical serialized object (a Lease or ConfigMap is under
/// 1 KiB, a Pod a few KiB); Metadata-level logs carry no object sizes.
pub const REVISION_BYTES: u64 = 4096;

/// The MVCC overhead at `writes_per_s`: each write is a revision kept until the next compaction.
#[must_use]
pub fn etcd_revisions(writes_per_s: f64) -> EtcdRevisions {
    let revisions = (writes_per_s * COMPACTION_INTERVAL_S as f64).round() as u64;
    EtcdRevisions {
        peak_writes_per_second: writes_per_s,
        compaction_interval_s: COMPACTION_INTERVAL_S,
        revision_bytes: REVISION_BYTES,
        revisions,
        bytes: revisions * REVISION_BYTES,
    }
}

/// Every minute with APF rejections, in time order, with its seats.
fn rejected_minutes(a: &Aggregates) -> Vec<RejectedMinute> {
    let mut v: Vec<(i64, u64, u64)> = a
        .cluster
        .minutes
        .iter()
        .filter(|(_, t)| t.apf_rejected > 0)
        .map(|(m, t)| (*m, t.apf_rejected, t.seat_us))
        .collect();
    v.sort_unstable();
    v.into_iter()
        .map(|(m, n, seat_us)| RejectedMinute {
            minute: format_minute(m),
            rejected: n,
            seats: (seat_us as f64 / MINUTE_US as f64 * 100.0).round() / 100.0,
        })
        .collect()
}

/// The [`MAX_REJECTED_MINUTES`] minutes with the most rejections, back in time order.
fn most_rejected(mut v: Vec<RejectedMinute>) -> Vec<RejectedMinute> {
    if v.len() > MAX_REJECTED_MINUTES {
        v.sort_by(|x, y| {
            y.rejected
                .cmp(&x.rejected)
                .then_with(|| x.minute.cmp(&y.minute))
        });
        v.truncate(MAX_REJECTED_MINUTES);
        v.sort_by(|x, y| x.minute.cmp(&y.minute));
    }
    v
}

/// Minutes with APF rejections held demand above the capacity the cluster had: their seats are
/// a lower bound, so no tier is said to fit them. The verdict names them, and a tier that fits
/// the observed seats fits only the other minutes.
pub fn judge_rejections(tier: &mut TierChoice, rejected: &[RejectedMinute], requests: u64) {
    /// Minutes named in the verdict; the rest are counted.
    const NAMED: usize = 5;
    let Some(worst) = rejected.iter().max_by(|x, y| {
        x.rejected
            .cmp(&y.rejected)
            .then_with(|| y.minute.cmp(&x.minute))
    }) else {
        return;
    };
    for line in &mut tier.arithmetic {
        if let Some(head) = line.strip_suffix(" → fits") {
            *line = format!("{head} → fits only the minutes without APF rejections");
        }
    }
    let mut names: Vec<&str> = rejected
        .iter()
        .take(NAMED)
        .map(|r| r.minute.as_str())
        .collect();
    if rejected.len() > NAMED {
        names.push("…");
    }
    tier.arithmetic.push(format!(
        "APF rejected {requests} request(s) in {} minute(s) ({}; most {} at {} with {:.1} seats observed): demand there was above the capacity the cluster had and its seats are a lower bound, so no tier is judged to fit those minutes",
        rejected.len(),
        names.join(", "),
        worst.rejected,
        worst.minute,
        worst.seats,
    ));
    tier.fits_rejected_minutes = false;
    tier.rejected_minutes = rejected.len() as u64;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every boundary of the published table, with 20% headroom.
    #[test]
    fn tier_boundaries() {
        let pick = |seats: f64, pods: f64| choose_tier(seats, pods, TIERS_TOML).recommended;
        assert_eq!(pick(0.0, 0.0), "Standard");
        assert_eq!(pick(500.0, 0.0), "Standard", "500 × 1.2 = 600 fits exactly");
        assert_eq!(pick(500.1, 0.0), "XL");
        assert_eq!(
            pick(100.0, 139.0),
            "Standard",
            "139 × 1.2 = 166.8 < 167, the smallest published rate"
        );
        assert_eq!(pick(100.0, 140.0), "2XL", "140 × 1.2 = 168 > XL's 167");
        assert_eq!(pick(1700.0 / 1.2, 0.0), "XL");
        assert_eq!(pick(1700.0 / 1.2 + 0.1, 0.0), "2XL");
        assert_eq!(pick(3400.0 / 1.2 + 0.1, 0.0), "4XL");
        assert_eq!(pick(100.0, 283.0 / 1.2 + 0.01), "4XL");
        assert_eq!(pick(6800.0 / 1.2 + 0.1, 0.0), "8XL");
        assert_eq!(pick(100.0, 400.0 / 1.2), "4XL");
        let over = choose_tier(13_600.0 / 1.2 + 1.0, 0.0, TIERS_TOML);
        assert!(over.exceeds_largest && over.recommended == "8XL");
        assert!(
            choose_tier(600.0, 10.0, TIERS_TOML).arithmetic[0]
                .contains("600.0 × 1.2 headroom = 720.0")
        );
    }
}

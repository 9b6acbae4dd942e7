//! AS503 `top-seat-consumer`: a client that holds a large share of the API server's seats,
//! whatever the other rules' conditions say.

use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds, ledger};

/// # What it does
/// Reads the cost ledger (`clients[].seat_seconds_per_hour`: reads, LISTs by scope, persisting
/// writes with their etcd weight, watches) and flags each of the `top` costliest clients holding
/// at least `min_share` of the cluster's seat-seconds and at least `min_seat_seconds_per_hour`,
/// naming the verb × resource that dominates its cost. Heartbeats (Lease renewals and
/// `nodes/status`) are left to `tight-reconcile-loop`, which judges them against their period.
/// When another finding already names the client, this one is dropped (every finding carries
/// its client's dominant cost as `client_dominant_cost`): the point is that the biggest
/// consumer is never silent, not to say it twice.
///
/// # Why is this bad?
/// APF seats are the API server's concurrency; a client holding a large share of them is the
/// first place to look when everyone else's requests queue, even when no fixed pattern (LIST
/// from etcd, tight loop) matched it.
///
/// # Example
/// `node-agent@kube-system/node-agent`: 2,100 seat-seconds an hour, 64% of the cluster's; 98%
/// of it `list pods`.
///
/// # Remediation
/// Cut the dominant call: an informer instead of polling LISTs, `resourceVersion=0` or
/// selectors to narrow a LIST, fewer and smaller writes; if the load is legitimate, give the
/// client its own FlowSchema and PriorityLevel so it cannot starve others.
///
/// # References
/// KEP-1040 API Priority and Fairness (seats, work estimation); the report's `sizing` section.
pub struct TopConsumer;

const T: &[Threshold] = &[
    Threshold {
        name: "top",
        default: 3.0,
        source: "costliest clients of the ledger considered",
    },
    Threshold {
        name: "min_share",
        default: 0.2,
        source: "share of the cluster's seat-seconds",
    },
    Threshold {
        name: "min_seat_seconds_per_hour",
        default: 36.0,
        source: "the floor: 1% of one seat all hour (the medium severity threshold)",
    },
];

/// A heartbeat part of the ledger (`update leases.coordination.k8s.io`, `patch nodes/status`).
fn heartbeat(dominant: &str) -> bool {
    dominant.ends_with(" leases.coordination.k8s.io") || dominant.ends_with(" nodes/status")
}

impl Rule for TopConsumer {
    fn code(&self) -> &'static str {
        "AS503"
    }
    fn slug(&self) -> &'static str {
        "top-seat-consumer"
    }
    fn title(&self) -> &'static str {
        "A client holds a large share of the API server's seats"
    }
    fn doc(&self) -> &'static str {
        include_str!("top_consumer.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        let lines = ledger::ledger(r);
        let mut ranked: Vec<_> = lines.iter().collect();
        ranked.sort_by(|a, b| {
            b.1.seat_seconds_per_hour
                .total_cmp(&a.1.seat_seconds_per_hour)
                .then_with(|| a.0.cmp(b.0))
        });
        let top = t.get("top").max(0.0) as usize;
        for (client, l) in ranked.into_iter().take(top) {
            let Some(dominant) = l.dominant.as_deref() else {
                continue;
            };
            if l.share < t.get("min_share")
                || l.seat_seconds_per_hour < t.get("min_seat_seconds_per_hour")
                || heartbeat(dominant)
            {
                continue;
            }
            let (verb, resource) = dominant.split_once(' ').unwrap_or(("", dominant));
            let mut ev = Evidence {
                metric: "share_of_cluster_seat_seconds".into(),
                value: l.share,
                threshold: t.get("min_share"),
                ..Evidence::default()
            };
            ev.details.insert(
                "seat_seconds_per_hour".into(),
                l.seat_seconds_per_hour.into(),
            );
            ev.details.insert("dominant".into(), dominant.into());
            ev.details
                .insert("dominant_share".into(), l.dominant_share.into());
            out.push(
                crate::rules::finding(
                    self,
                    client,
                    l.seat_seconds_per_hour,
                    format!(
                        "{client} holds {:.0} seat-seconds an hour, {:.0}% of the cluster's; {:.0}% of it {verb} {resource}",
                        l.seat_seconds_per_hour,
                        l.share * 100.0,
                        l.dominant_share * 100.0
                    ),
                    ev,
                    format!("Cut the {verb} {resource} calls first (an informer instead of polling, resourceVersion=0 or selectors on LISTs, fewer writes); if the load is legitimate, give the client its own FlowSchema and PriorityLevel."),
                )
                .resource(resource),
            );
        }
    }
}

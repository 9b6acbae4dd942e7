//! AS301 `throttled-client`: the apiserver answers a client 429 Too Many Requests.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding, Severity};
use crate::rules::{Report, Rule, Threshold, Thresholds};

/// # What it does
/// Flags a client answered 429 at least `per_hour` times an hour and for at least `share` of
/// its requests. A 429 on `pods/eviction` is a PodDisruptionBudget refusing the eviction, not
/// throttling, and is left out.
///
/// # Why is this bad?
/// API Priority and Fairness rejects requests when the client's priority level has no seat and
/// its queues are full: the client is starved, or it is the one flooding its level.
///
/// # Example
/// `sa:ci/deployer`: 900 429s an hour, 12% of its requests, all `list pods`.
///
/// # Remediation
/// Lower the client's request rate (informers, not polling; fewer workers); honour `Retry-After`
/// with backoff; if the traffic is legitimate, give it its own FlowSchema and PriorityLevel
/// rather than sharing `workload-low`/`global-default`.
///
/// # References
/// Kubernetes API Priority and Fairness; `apiserver_flowcontrol_rejected_requests_total`.
pub struct ThrottledClient;

const T: &[Threshold] = &[
    Threshold {
        name: "per_hour",
        default: 30.0,
        source: "429 answers per hour",
    },
    Threshold {
        name: "share",
        default: 0.01,
        source: "share of the client's requests",
    },
];

impl Rule for ThrottledClient {
    fn code(&self) -> &'static str {
        "AS301"
    }
    fn slug(&self) -> &'static str {
        "throttled-client"
    }
    fn title(&self) -> &'static str {
        "The apiserver answers a client 429 Too Many Requests"
    }
    fn doc(&self) -> &'static str {
        include_str!("throttled_client.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        for c in &r.clients {
            let rows: Vec<_> = r
                .errors
                .iter()
                .filter(|e| e.client == c.client && e.code == 429 && e.resource != "pods/eviction")
                .collect();
            let n: u64 = rows.iter().map(|e| e.count).sum();
            let share = n as f64 / c.requests.max(1) as f64;
            let hours = super::window::judged_hours(
                r,
                &c.client,
                rows.iter().filter_map(|e| e.first.as_deref()).min(),
                rows.iter().filter_map(|e| e.last.as_deref()).max(),
            );
            if n == 0 || (n as f64 / hours) < t.get("per_hour") || share < t.get("share") {
                continue;
            }
            let top = rows
                .iter()
                .max_by_key(|e| e.count)
                .map(|e| format!("{} {}", e.verb, e.resource))
                .unwrap_or_default();
            let mut ev = Evidence {
                metric: "throttled_per_hour".into(),
                value: super::r1(n as f64 / hours),
                threshold: t.get("per_hour"),
                first: rows.iter().filter_map(|e| e.first.clone()).min(),
                last: rows.iter().filter_map(|e| e.last.clone()).max(),
                sample_audit_ids: rows
                    .iter()
                    .flat_map(|e| e.sample_audit_ids.iter().cloned())
                    .take(3)
                    .collect(),
                ..Evidence::default()
            };
            ev.details.insert("throttled".into(), n.into());
            ev.details
                .insert("share".into(), (super::r1(share * 1000.0) / 1000.0).into());
            ev.details.insert("top".into(), top.clone().into());
            out.push(
                crate::rules::finding(
                    self,
                    &c.client,
                    cost::reads(n, 1.0, 1.0, r.summary.span_seconds),
                    format!("{} was answered 429 {n} times ({:.1}% of its requests; most: {top})", c.client, share * 100.0),
                    ev,
                    "Lower the request rate (informers instead of polling, fewer workers), back off on 429 honouring Retry-After, and if the load is legitimate give it its own FlowSchema/PriorityLevel.".into(),
                )
                .at_least(Severity::Medium),
            );
        }
    }
}

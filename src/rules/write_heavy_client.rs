//! AS203 `etcd-write-heavy-client`: one client makes a large share of the cluster's etcd writes.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds, client_mean_ms};

/// # What it does
/// Flags a client whose successful writes, heartbeats left out (Leases and `nodes/status`, judged
/// by `tight-reconcile-loop`), exceed `writes_per_second` and `share` of all such writes.
///
/// # Why is this bad?
/// etcd serializes writes through raft; its database grows with every revision until compaction;
/// each write fans out to every watcher. One client's write rate becomes everyone's latency.
///
/// # Example
/// `argocd-application-controller@argocd/argocd-application-controller`: 14 writes/s, 61% of
/// the cluster's writes, 80% of them to `applications/status`.
///
/// # Remediation
/// Batch and debounce status updates; write status only on change; lower the reconcile rate
/// (resync period, worker count); move high-churn data out of the API (metrics, not objects).
///
/// # References
/// etcd performance guide; EKS best practices, control plane ("limit the number of writes").
pub struct WriteHeavyClient;

const T: &[Threshold] = &[
    Threshold {
        name: "writes_per_second",
        default: 1.0,
        source: "sustained writes per second by one client",
    },
    Threshold {
        name: "share",
        default: 0.25,
        source: "share of the cluster's non-heartbeat writes",
    },
];

fn heartbeat(resource: &str, sub: &str) -> bool {
    resource.starts_with("leases.") || (resource == "nodes" && sub == "status")
}

impl Rule for WriteHeavyClient {
    fn code(&self) -> &'static str {
        "AS203"
    }
    fn slug(&self) -> &'static str {
        "etcd-write-heavy-client"
    }
    fn title(&self) -> &'static str {
        "A client makes a large share of etcd writes"
    }
    fn doc(&self) -> &'static str {
        include_str!("write_heavy_client.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        let rows: Vec<_> = r
            .writes
            .iter()
            .filter(|w| !heartbeat(&w.resource, &w.subresource))
            .collect();
        let total = super::cluster_writes(r, |res, sub| !heartbeat(res, sub));
        if total == 0 {
            return;
        }
        let mut by_client: std::collections::BTreeMap<&str, Vec<_>> =
            std::collections::BTreeMap::new();
        for w in &rows {
            by_client.entry(w.client.as_str()).or_default().push(*w);
        }
        for (client, ws) in by_client {
            let n: u64 = ws.iter().map(|w| w.count).sum();
            let span = 3600.0
                * super::window::judged_hours(
                    r,
                    client,
                    ws.iter().filter_map(|w| w.first.as_deref()).min(),
                    ws.iter().filter_map(|w| w.last.as_deref()).max(),
                );
            let (rate, share) = (n as f64 / span, n as f64 / total as f64);
            if rate < t.get("writes_per_second") || share < t.get("share") {
                continue;
            }
            let status: u64 = ws
                .iter()
                .filter(|w| w.subresource == "status")
                .map(|w| w.count)
                .sum();
            let short_lived: u64 = ws
                .iter()
                .filter(|w| {
                    w.verb == "create"
                        && (w.resource == "events"
                            || w.resource.starts_with("events.")
                            || w.resource.starts_with("leases."))
                })
                .map(|w| w.count)
                .sum();
            let top_row = ws.iter().max_by_key(|w| w.count);
            let top = top_row.map(|w| format!("{} {}", w.verb, w.target()));
            // The headline shows the evidence's value: one rounding for both.
            let shown = super::r1(rate);
            let mut ev = Evidence {
                metric: "writes_per_second".into(),
                value: shown,
                threshold: t.get("writes_per_second"),
                first: ws.iter().filter_map(|w| w.first.clone()).min(),
                last: ws.iter().filter_map(|w| w.last.clone()).max(),
                sample_audit_ids: top_row
                    .map(|w| w.sample_audit_ids.clone())
                    .unwrap_or_default(),
                ..Evidence::default()
            };
            ev.details.insert("writes".into(), n.into());
            ev.details.insert(
                "share_of_cluster_writes".into(),
                (super::r1(share * 1000.0) / 1000.0).into(),
            );
            ev.details.insert("status_writes".into(), status.into());
            ev.details
                .insert("short_lived_creates".into(), short_lived.into());
            ev.details.insert("top_write".into(), top.clone().into());
            out.push(crate::rules::finding(
                self,
                client,
                cost::writes(n, client_mean_ms(r, client), r.summary.span_seconds),
                format!("{client} writes {shown:.1}/s, {:.0}% of the cluster's non-heartbeat writes (most: {})", share * 100.0, top.unwrap_or_default()),
                ev,
                "Write status only on change and debounce bursts; lower the reconcile rate (resync period, workers); keep high-churn data (metrics, progress) out of API objects.".into(),
            ));
        }
    }
}

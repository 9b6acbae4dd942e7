//! AS201 `tight-reconcile-loop`: one client writes the same object many times a minute, minute
//! after minute.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds, client_mean_ms};

/// # What it does
/// Flags an object written at least `writes_per_minute` times in a minute, in at least
/// `sustained_minutes` minutes. Heartbeats are judged against their own period, never by the
/// raw count: Leases (leader election renews every 2 s, node leases every 10 s) against
/// `lease_writes_per_minute`, and kubelet `nodes/status` against `node_status_writes_per_minute`.
/// `resourcequotas/status` written by the quota system (`resourcequota-controller`, or the
/// apiserver's quota admission) is accounting, not a loop, while its writes stay within twice
/// the cluster's pod creates and deletes: upstream, quota admission charges each create and the
/// controller recalculates usage on each pod deletion, so churn alone writes it that often.
/// TokenRequests, reviews and dry runs never reach this table (they store nothing).
///
/// # Why is this bad?
/// Every write is an etcd commit, a new resourceVersion, and an event to every watcher of the
/// resource — each informer of it in the cluster wakes up, often to reconcile again.
///
/// # Example
/// `update configmaps/payments/app-state` by `manager@team-a/op-controller-manager`, 40 times a
/// minute for 20 minutes: the status is rewritten on every reconcile even when nothing changed.
///
/// # Remediation
/// Compare desired and observed state before writing; patch only the fields that changed (status
/// via the `status` subresource); do not stamp times or counters into status on every
/// reconcile; requeue with backoff (`RequeueAfter`) instead of writing to trigger the next
/// reconcile; filter your own updates out with predicates (`GenerationChangedPredicate`).
///
/// # References
/// controller-runtime FAQ; Kubernetes API conventions (status, observedGeneration); the rules
/// issue: "> 10 writes of one object within a minute, sustained".
pub struct ReconcileLoop;

const T: &[Threshold] = &[
    Threshold {
        name: "writes_per_minute",
        default: 10.0,
        source: "writes of one object in one minute (the rules issue: > 10 in a minute); rounded up to a counted level: 5, 10, 20, 30, 60 or 120",
    },
    Threshold {
        name: "sustained_minutes",
        default: 3.0,
        source: "minutes at that rate before it is a loop, not a burst",
    },
    Threshold {
        name: "lease_writes_per_minute",
        default: 60.0,
        source: "Lease renewals: leader election retries every 2 s (30/min); twice that",
    },
    Threshold {
        name: "node_status_writes_per_minute",
        default: 20.0,
        source: "kubelet nodeStatusUpdateFrequency 10 s (6/min), rounded up to a counted level",
    },
];

/// The smallest counted level (report `busy_minutes`) at or above `limit`.
fn level(limit: f64) -> Option<&'static str> {
    [
        (5.0, "5"),
        (10.0, "10"),
        (20.0, "20"),
        (30.0, "30"),
        (60.0, "60"),
        (120.0, "120"),
    ]
    .iter()
    .find(|(n, _)| *n >= limit)
    .map(|(_, k)| *k)
}

/// Successful pod creates and deletes (evictions included) in the whole log.
fn pod_churn(r: &Report) -> u64 {
    r.writes
        .iter()
        .filter(|w| {
            w.resource == "pods"
                && matches!(
                    (w.verb.as_str(), w.subresource.as_str()),
                    ("create" | "delete", "") | ("create", "eviction")
                )
        })
        .map(|w| w.count)
        .sum()
}

/// A ResourceQuota's status written only by the quota system, no more often than pod churn
/// explains (see the rule's docs).
fn quota_accounting(o: &crate::model::report::ObjectRow, churn: u64) -> bool {
    o.resource == "resourcequotas"
        && o.group.is_empty()
        && o.status_writes == o.writes
        && o.writers
            .iter()
            .all(|w| w.name.ends_with("/resourcequota-controller") || w.name == "kube-apiserver")
        && o.writes <= 2 * churn
}

impl Rule for ReconcileLoop {
    fn code(&self) -> &'static str {
        "AS201"
    }
    fn slug(&self) -> &'static str {
        "tight-reconcile-loop"
    }
    fn title(&self) -> &'static str {
        "An object is rewritten many times a minute, for minutes"
    }
    fn doc(&self) -> &'static str {
        include_str!("reconcile_loop.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        let span = r.summary.span_seconds;
        let churn = pod_churn(r);
        for o in &r.objects {
            if quota_accounting(o, churn) {
                continue;
            }
            let limit = match (o.resource.as_str(), o.status_writes == o.writes) {
                ("leases", _) => t.get("lease_writes_per_minute"),
                ("nodes", true) => t.get("node_status_writes_per_minute"),
                _ => t.get("writes_per_minute"),
            };
            let Some(key) = level(limit) else { continue };
            let hot = o.busy_minutes.get(key).copied().unwrap_or(0);
            if (hot as f64) < t.get("sustained_minutes") {
                continue;
            }
            let Some(top) = o.writers.first() else {
                continue;
            };
            let object = if o.namespace.is_empty() {
                o.name.clone()
            } else {
                format!("{}/{}", o.namespace, o.name)
            };
            let resource = if o.group.is_empty() {
                o.resource.clone()
            } else {
                format!("{}.{}", o.resource, o.group)
            };
            let score = cost::writes(o.writes, client_mean_ms(r, &top.name), span);
            let mut ev = Evidence {
                metric: "minutes_at_or_above_writes_per_minute".into(),
                value: hot as f64,
                threshold: t.get("sustained_minutes"),
                first: o.first.clone(),
                last: o.last.clone(),
                sample_audit_ids: o.sample_audit_ids.clone(),
                busiest_minute: o.peak_minute.clone(),
                ..Evidence::default()
            };
            ev.details.insert("writes".into(), o.writes.into());
            ev.details
                .insert("peak_writes_per_minute".into(), o.peak_writes.into());
            ev.details
                .insert("peak_minute".into(), o.peak_minute.clone().into());
            ev.details
                .insert("writes_per_minute_level".into(), key.into());
            ev.details
                .insert("status_writes".into(), o.status_writes.into());
            ev.details.insert("noop_writes".into(), o.noop.into());
            ev.details.insert(
                "writers".into(),
                serde_json::to_value(&o.writers).unwrap_or_default(),
            );
            out.push(
                crate::rules::finding(
                    self,
                    &top.name,
                    score,
                    format!("{} writes {resource} {object} ≥{key} times a minute in {hot} minutes ({} writes, peak {}/min)", top.name, o.writes, o.peak_writes),
                    ev,
                    "Write only when desired and observed state differ; patch the changed fields (status via the status subresource); don't stamp times or counters into status each reconcile; requeue with RequeueAfter/backoff instead of writing to trigger reconciles; ignore your own updates with GenerationChangedPredicate.".into(),
                )
                .resource(&resource)
                .object(object),
            );
        }
    }
}

//! AS201 `tight-reconcile-loop`: one client writes the same object many times a minute, minute
//! after minute.

use std::collections::BTreeMap;

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::model::report::ObjectRow;
use crate::rules::object_group;
use crate::rules::{Report, Rule, Threshold, Thresholds, client_mean_ms, object_name, qualified};

/// # What it does
/// Flags an object written at least `writes_per_minute` times in a minute, in at least
/// `sustained_minutes` minutes. Heartbeats are judged against their own period, never by the
/// raw count: Leases (leader election renews every 2 s, node leases every 10 s) against
/// `lease_writes_per_minute`, and kubelet `nodes/status` against `node_status_writes_per_minute`.
/// `resourcequotas/status` written by the quota system (`resourcequota-controller`, or the
/// apiserver's quota admission) is accounting, not a loop, while its writes stay within twice
/// the cluster's pod creates and deletes: upstream, quota admission charges each create and the
/// controller recalculates usage on each pod deletion, so churn alone writes it that often.
/// TokenRequests, reviews and dry runs never reach this table (they store nothing). The objects
/// one client loops on in one resource are one finding: their count, the busiest, the pattern
/// their names share and the complete list are its evidence.
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
fn quota_accounting(o: &ObjectRow, churn: u64) -> bool {
    o.resource == "resourcequotas"
        && o.group.is_empty()
        && o.status_writes == o.writes
        && o.writers
            .iter()
            .all(|w| w.name.ends_with("/resourcequota-controller") || w.name == "kube-apiserver")
        && o.writes <= 2 * churn
}

/// One looped object of a writer × resource group: the object, its level, minutes at it.
type Looped<'a> = (&'a ObjectRow, &'static str, u64);

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
        let mut groups: BTreeMap<(&str, String), Vec<Looped>> = BTreeMap::new();
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
            groups
                .entry((top.name.as_str(), qualified(o)))
                .or_default()
                .push((o, key, hot));
        }
        for ((writer, resource), mut objs) in groups {
            objs.sort_by(|a, b| {
                b.0.writes
                    .cmp(&a.0.writes)
                    .then_with(|| object_name(a.0).cmp(&object_name(b.0)))
            });
            let (o, key, _) = objs[0];
            let hot = objs.iter().map(|x| x.2).max().unwrap_or(0);
            let writes: u64 = objs.iter().map(|x| x.0.writes).sum();
            let peak = objs
                .iter()
                .map(|x| x.0)
                .max_by(|a, b| {
                    a.peak_writes
                        .cmp(&b.peak_writes)
                        .then_with(|| b.peak_minute.cmp(&a.peak_minute))
                })
                .unwrap_or(o);
            let score = cost::writes(writes, client_mean_ms(r, writer), span);
            let mut ev = Evidence {
                metric: "minutes_at_or_above_writes_per_minute".into(),
                value: hot as f64,
                threshold: t.get("sustained_minutes"),
                first: objs.iter().filter_map(|x| x.0.first.clone()).min(),
                last: objs.iter().filter_map(|x| x.0.last.clone()).max(),
                sample_audit_ids: o.sample_audit_ids.clone(),
                busiest_minute: peak.peak_minute.clone(),
                ..Evidence::default()
            };
            let sum = |f: fn(&ObjectRow) -> u64| objs.iter().map(|x| f(x.0)).sum::<u64>();
            ev.details.insert("writes".into(), writes.into());
            ev.details
                .insert("peak_writes_per_minute".into(), peak.peak_writes.into());
            ev.details
                .insert("peak_minute".into(), peak.peak_minute.clone().into());
            ev.details
                .insert("writes_per_minute_level".into(), key.into());
            ev.details
                .insert("status_writes".into(), sum(|o| o.status_writes).into());
            ev.details
                .insert("noop_writes".into(), sum(|o| o.noop).into());
            ev.details.insert(
                "writers".into(),
                serde_json::to_value(&o.writers).unwrap_or_default(),
            );
            let members = object_group::members(
                objs.iter().map(|x| (object_name(x.0), x.0.writes)),
                &mut ev.details,
            );
            let what = object_group::phrase(&members);
            let f = crate::rules::finding(
                self,
                writer,
                score,
                format!("{writer} writes {resource} {what} ≥{key} times a minute in {hot} minutes ({writes} writes, peak {}/min)", peak.peak_writes),
                ev,
                "Write only when desired and observed state differ; patch the changed fields (status via the status subresource); don't stamp times or counters into status each reconcile; requeue with RequeueAfter/backoff instead of writing to trigger reconciles; ignore your own updates with GenerationChangedPredicate.".into(),
            )
            .resource(&resource);
            out.push(object_group::named(f, &members));
        }
    }
}

//! AS204 `conflict-storm`: a large share of a client's writes fail with 409 Conflict.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds, calls, client_mean_ms};

/// # What it does
/// Flags a client × resource whose writes are answered 409 `Conflict` (an optimistic-concurrency
/// failure: the object changed since it was read) at least `conflicts_per_hour`, and for at
/// least `share` of its writes there. A 409 `AlreadyExists` on create is not a conflict.
///
/// # Why is this bad?
/// Each conflict is a wasted write plus the GET and retry that follow; a storm usually means two
/// writers fight over one object, or a client updates from a stale cache in a tight loop.
///
/// # Example
/// `manager@team-b/sync-operator`, `configmaps`: 2,400 conflicts an hour, 45% of its updates; the
/// most-conflicted object `team-b/shared-config`.
///
/// # Remediation
/// Use patches (JSON merge/strategic) or server-side apply for the fields you own instead of full
/// updates; if two controllers own one object, split ownership (field managers) or fix the loop;
/// retry with `retry.RetryOnConflict` and backoff, re-reading from the API, not the cache.
///
/// # References
/// Kubernetes API concepts, "Resource versions / optimistic concurrency"; server-side apply.
pub struct ConflictStorm;

const T: &[Threshold] = &[
    Threshold {
        name: "conflicts_per_hour",
        default: 60.0,
        source: "409 Conflict answers per hour by one client on one resource",
    },
    Threshold {
        name: "share",
        default: 0.05,
        source: "share of that client's writes to the resource",
    },
];

impl Rule for ConflictStorm {
    fn code(&self) -> &'static str {
        "AS204"
    }
    fn slug(&self) -> &'static str {
        "conflict-storm"
    }
    fn title(&self) -> &'static str {
        "Many writes fail with 409 Conflict"
    }
    fn doc(&self) -> &'static str {
        include_str!("conflict_storm.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        let mut seen = std::collections::BTreeMap::<
            (&str, &str),
            (u64, Vec<String>, Option<String>, Option<String>),
        >::new();
        for e in r.errors.iter().filter(|e| e.kind == "conflict") {
            let s = seen
                .entry((e.client.as_str(), e.resource.as_str()))
                .or_default();
            s.0 += e.count;
            s.1.extend(e.sample_audit_ids.iter().cloned());
            s.2 = s.2.take().min(e.first.clone()).or(e.first.clone());
            s.3 = s.3.take().max(e.last.clone());
        }
        for ((client, resource), (n, samples, first, last)) in seen {
            let writes: u64 = ["create", "update", "patch", "delete"]
                .iter()
                .map(|v| calls(r, client, v, resource))
                .sum();
            let share = n as f64 / writes.max(1) as f64;
            let hours = super::window::judged_hours(r, client, first.as_deref(), last.as_deref());
            if (n as f64 / hours) < t.get("conflicts_per_hour") || share < t.get("share") {
                continue;
            }
            let hottest = r
                .objects
                .iter()
                .filter(|o| o.conflicts > 0 && super::qualified(o) == resource)
                .max_by_key(|o| o.conflicts);
            let mut ev = Evidence {
                metric: "conflicts_per_hour".into(),
                value: super::r1(n as f64 / hours),
                threshold: t.get("conflicts_per_hour"),
                first,
                last,
                sample_audit_ids: samples.into_iter().take(3).collect(),
                ..Evidence::default()
            };
            ev.details.insert("conflicts".into(), n.into());
            ev.details.insert("writes".into(), writes.into());
            ev.details
                .insert("share".into(), (super::r1(share * 1000.0) / 1000.0).into());
            let mut f = crate::rules::finding(
                self,
                client,
                cost::writes(n, client_mean_ms(r, client), r.summary.span_seconds),
                format!("{client} gets 409 Conflict on {:.0}% of its {resource} writes ({n} conflicts)", share * 100.0),
                ev,
                "Patch or server-side-apply only the fields you own instead of full updates; split ownership if two controllers write one object; retry with RetryOnConflict and backoff, re-reading from the API.".into(),
            )
            .resource(resource);
            if let Some(o) = hottest {
                f.evidence.details.insert(
                    "most_conflicted_object_conflicts".into(),
                    o.conflicts.into(),
                );
                f = f.object(if o.namespace.is_empty() {
                    o.name.clone()
                } else {
                    format!("{}/{}", o.namespace, o.name)
                });
            }
            out.push(f);
        }
    }
}

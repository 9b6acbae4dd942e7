//! AS205 `fighting-writers`: two clients take turns rewriting one object.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds, client_mean_ms, object_name, qualified};

/// # What it does
/// Flags an object written by two or more clients in the same minute, in at least
/// `multi_writer_minutes` minutes, where the second writer makes at least `minor_share` of the
/// writes. Writes to the object's `status` never make a minute multi-writer: upstream, the
/// controller that owns the status (the deployment controller) updates it after every change
/// of the spec, whoever made it, and the two do not fight.
///
/// # Why is this bad?
/// Two controllers that disagree about an object undo each other forever: each write triggers
/// the other's reconcile, so the pair loops at the speed of the API, with conflicts on the side.
///
/// # Example
/// `deployments.apps team-c/web`: `argocd-application-controller` and `kustomize-controller`
/// both write it in 45 minutes out of 50 (Argo CD and Flux managing the same object).
///
/// # Remediation
/// Give every field one owner: exclude the object (or the field) from one tool's management,
/// use server-side apply field managers, or remove the defaulting controller that fights the
/// GitOps tool (HPA vs `spec.replicas` is the classic).
///
/// # References
/// Server-side apply, field management and conflicts.
pub struct FightingWriters;

const T: &[Threshold] = &[
    Threshold {
        name: "multi_writer_minutes",
        default: 5.0,
        source: "minutes in which two or more clients wrote the object",
    },
    Threshold {
        name: "minor_share",
        default: 0.1,
        source: "share of the writes by the second writer",
    },
];

impl Rule for FightingWriters {
    fn code(&self) -> &'static str {
        "AS205"
    }
    fn slug(&self) -> &'static str {
        "fighting-writers"
    }
    fn title(&self) -> &'static str {
        "Two clients keep rewriting the same object"
    }
    fn doc(&self) -> &'static str {
        include_str!("fighting_writers.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        for o in &r.objects {
            if o.writers.len() < 2
                || (o.multi_writer_minutes as f64) < t.get("multi_writer_minutes")
            {
                continue;
            }
            let second = o.writers[1].count as f64 / o.writes.max(1) as f64;
            if second < t.get("minor_share") {
                continue;
            }
            let (a, b) = (&o.writers[0].name, &o.writers[1].name);
            let mut ev = Evidence {
                metric: "multi_writer_minutes".into(),
                value: o.multi_writer_minutes as f64,
                threshold: t.get("multi_writer_minutes"),
                first: o.first.clone(),
                last: o.last.clone(),
                sample_audit_ids: o.sample_audit_ids.clone(),
                busiest_minute: o.peak_minute.clone(),
                ..Evidence::default()
            };
            ev.details.insert(
                "writers".into(),
                serde_json::to_value(&o.writers).unwrap_or_default(),
            );
            ev.details.insert("writes".into(), o.writes.into());
            ev.details.insert("conflicts".into(), o.conflicts.into());
            out.push(
                crate::rules::finding(
                    self,
                    a,
                    cost::writes(o.writes, client_mean_ms(r, a), r.summary.span_seconds),
                    format!("{a} and {b} both write {} {} in {} minutes ({} writes)", qualified(o), object_name(o), o.multi_writer_minutes, o.writes),
                    ev,
                    format!("Give each field one owner: exclude this object (or field) from {b} or {a}, use server-side apply field managers, or drop the controller that undoes the other's change."),
                )
                .resource(&qualified(o))
                .object(object_name(o)),
            );
        }
    }
}

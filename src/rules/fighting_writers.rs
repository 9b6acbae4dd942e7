//! AS205 `fighting-writers`: two clients take turns rewriting one object.

use std::collections::BTreeMap;

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::model::report::ObjectRow;
use crate::rules::object_group;
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
        // One finding per first writer × resource, over the objects it fights on.
        let mut groups: BTreeMap<(&str, String), Vec<&ObjectRow>> = BTreeMap::new();
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
            groups
                .entry((o.writers[0].name.as_str(), qualified(o)))
                .or_default()
                .push(o);
        }
        for ((a, resource), mut objs) in groups {
            objs.sort_by(|x, y| {
                y.writes
                    .cmp(&x.writes)
                    .then_with(|| object_name(x).cmp(&object_name(y)))
            });
            let o = objs[0];
            let b = &o.writers[1].name;
            let minutes = objs
                .iter()
                .map(|o| o.multi_writer_minutes)
                .max()
                .unwrap_or(0);
            let writes: u64 = objs.iter().map(|o| o.writes).sum();
            let mut ev = Evidence {
                metric: "multi_writer_minutes".into(),
                value: minutes as f64,
                threshold: t.get("multi_writer_minutes"),
                first: objs.iter().filter_map(|o| o.first.clone()).min(),
                last: objs.iter().filter_map(|o| o.last.clone()).max(),
                sample_audit_ids: o.sample_audit_ids.clone(),
                busiest_minute: o.peak_minute.clone(),
                ..Evidence::default()
            };
            ev.details.insert(
                "writers".into(),
                serde_json::to_value(&o.writers).unwrap_or_default(),
            );
            ev.details.insert("writes".into(), writes.into());
            ev.details.insert(
                "conflicts".into(),
                objs.iter().map(|o| o.conflicts).sum::<u64>().into(),
            );
            let members = object_group::members(
                objs.iter().map(|o| (object_name(o), o.writes)),
                &mut ev.details,
            );
            let what = object_group::phrase(&members);
            let f = crate::rules::finding(
                self,
                a,
                cost::writes(writes, client_mean_ms(r, a), r.summary.span_seconds),
                format!("{a} and {b} both write {resource} {what} in {minutes} minutes ({writes} writes)"),
                ev,
                format!("Give each field one owner: exclude this object (or field) from {b} or {a}, use server-side apply field managers, or drop the controller that undoes the other's change."),
            )
            .resource(&resource);
            out.push(object_group::named(f, &members));
        }
    }
}

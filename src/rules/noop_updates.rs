//! AS202 `noop-update`: updates that change nothing (RequestResponse level only).

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds, client_mean_ms};

/// # What it does
/// Flags a client × resource whose judged updates (both bodies logged with a resourceVersion)
/// are mostly no-ops: the object came back at the resourceVersion the client sent.
///
/// # Why is this bad?
/// The apiserver still authenticates, admits (webhooks included), decodes and compares each one;
/// the client holds a seat for the round trip, for nothing.
///
/// # Example
/// `update deployments.apps` by an operator: 900 of 1,000 judged updates returned the same
/// resourceVersion.
///
/// # Remediation
/// Compare before you update (`equality.Semantic.DeepEqual` on the fields you own), or use
/// server-side apply / `CreateOrPatch`, which send nothing when nothing changed.
///
/// # References
/// apiserver's update path short-circuits unchanged objects (no etcd write, same resourceVersion).
pub struct NoopUpdates;

const T: &[Threshold] = &[
    Threshold {
        name: "min_judged",
        default: 20.0,
        source: "updates with both bodies logged, before judging a share",
    },
    Threshold {
        name: "noop_share",
        default: 0.5,
        source: "share of judged updates that changed nothing",
    },
];

impl Rule for NoopUpdates {
    fn code(&self) -> &'static str {
        "AS202"
    }
    fn slug(&self) -> &'static str {
        "noop-update"
    }
    fn title(&self) -> &'static str {
        "Most updates change nothing"
    }
    fn doc(&self) -> &'static str {
        include_str!("noop_updates.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        for w in &r.writes {
            if (w.noop_judged as f64) < t.get("min_judged") {
                continue;
            }
            let share = w.noop as f64 / w.noop_judged as f64;
            if share < t.get("noop_share") {
                continue;
            }
            let resource = w.target();
            let mut ev = Evidence {
                metric: "noop_share".into(),
                value: super::r1(share * 100.0) / 100.0,
                threshold: t.get("noop_share"),
                first: w.first.clone(),
                last: w.last.clone(),
                sample_audit_ids: w.noop_sample_audit_ids.clone(),
                ..Evidence::default()
            };
            ev.details.insert("noop".into(), w.noop.into());
            ev.details.insert("judged".into(), w.noop_judged.into());
            out.push(
                crate::rules::finding(
                    self,
                    &w.client,
                    cost::reads(w.noop, client_mean_ms(r, &w.client), 1.0, r.summary.span_seconds),
                    format!("{} sent {} {} updates that changed nothing ({:.0}% of {} judged)", w.client, w.noop, resource, share * 100.0, w.noop_judged),
                    ev,
                    "Compare with the current object before updating, or use server-side apply / CreateOrPatch, which send nothing when nothing changed.".into(),
                )
                .resource(&resource),
            );
        }
    }
}

//! AS303 `missing-object-hot-loop`: a client keeps asking for objects that do not exist.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::window::judged_hours;
use crate::rules::{Report, Rule, Threshold, Thresholds, calls, client_mean_ms};

/// # What it does
/// Flags a client × resource whose GETs are answered 404 at least `per_hour` times an hour and
/// for at least `share` of its GETs there.
///
/// # Why is this bad?
/// A GET that misses the cache path still costs a seat; a controller that polls a deleted or
/// never-created object, or requeues on NotFound without backoff, does it forever.
///
/// # Example
/// `manager@team-x/cfg-watcher`, `configmaps`: 3,600 GETs an hour, 98% NotFound, one name.
///
/// # Remediation
/// Watch the object through an informer and react to its creation instead of polling; on
/// NotFound, stop reconciling (`client.IgnoreNotFound`) or requeue with exponential backoff;
/// clean up references to deleted objects.
///
/// # References
/// controller-runtime `client.IgnoreNotFound`; workqueue rate limiters.
pub struct MissingObjectLoop;

const T: &[Threshold] = &[
    Threshold {
        name: "per_hour",
        default: 120.0,
        source: "GETs answered 404 per hour",
    },
    Threshold {
        name: "share",
        default: 0.2,
        source: "share of the client's GETs of the resource",
    },
];

impl Rule for MissingObjectLoop {
    fn code(&self) -> &'static str {
        "AS303"
    }
    fn slug(&self) -> &'static str {
        "missing-object-hot-loop"
    }
    fn title(&self) -> &'static str {
        "Repeated GETs of objects that do not exist"
    }
    fn doc(&self) -> &'static str {
        include_str!("missing_object_loop.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        for e in r
            .errors
            .iter()
            .filter(|e| e.kind == "not_found" && e.verb == "get")
        {
            let hours = judged_hours(r, &e.client, e.first.as_deref(), e.last.as_deref());
            let gets = calls(r, &e.client, "get", &e.resource);
            let share = e.count as f64 / gets.max(1) as f64;
            if (e.count as f64 / hours) < t.get("per_hour") || share < t.get("share") {
                continue;
            }
            let mut ev = Evidence {
                metric: "not_found_per_hour".into(),
                value: super::r1(e.count as f64 / hours),
                threshold: t.get("per_hour"),
                first: e.first.clone(),
                last: e.last.clone(),
                sample_audit_ids: e.sample_audit_ids.clone(),
                ..Evidence::default()
            };
            ev.details.insert("not_found".into(), e.count.into());
            ev.details.insert("gets".into(), gets.into());
            out.push(
                crate::rules::finding(
                    self,
                    &e.client,
                    cost::reads(e.count, client_mean_ms(r, &e.client), 1.0, r.summary.span_seconds),
                    format!("{} GETs missing {} {:.0} times an hour ({:.0}% of its GETs answered 404)", e.client, e.resource, e.count as f64 / hours, share * 100.0),
                    ev,
                    "Watch the object with an informer instead of polling; on NotFound stop (client.IgnoreNotFound) or requeue with exponential backoff; drop references to deleted objects.".into(),
                )
                .resource(&e.resource),
            );
        }
    }
}

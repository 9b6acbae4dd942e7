//! AS401 `deprecated-api-caller`: a client calls an API version marked deprecated.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding, Severity};
use crate::rules::{Report, Rule, Threshold, Thresholds};

/// # What it does
/// Flags every client × API the apiserver marked with the `k8s.io/deprecated` audit annotation,
/// with the release that removes it (`k8s.io/removed-release`). High when that release is the
/// next minor (or already past) for the cluster's version, medium otherwise. A call to an API
/// removed at most two minors ahead is an upgrade blocker: the report shows those in their own
/// group whatever `--top` says.
///
/// # Why is this bad?
/// The call will fail with 404 after the upgrade that removes the version: the client breaks on
/// upgrade day.
///
/// # Example
/// `helm` calling `policy/v1beta1/poddisruptionbudgets`, removed in 1.25.
///
/// # Remediation
/// Move the client (and the manifests it applies) to the replacement version; `kubectl convert`
/// and tools such as pluto find the manifests.
///
/// # References
/// Kubernetes deprecated API migration guide; the `k8s.io/deprecated` audit annotation.
pub struct DeprecatedApi;

const T: &[Threshold] = &[Threshold {
    name: "min_calls",
    default: 1.0,
    source: "calls before reporting",
}];

/// A call to an API removed at most this many minors after the cluster's version is an
/// upgrade blocker: the report lists it in its own group, always.
pub const UPGRADE_BLOCKER_MINORS: u32 = 2;

fn minor(v: &str) -> Option<u32> {
    v.trim_start_matches('v').split('.').nth(1)?.parse().ok()
}

impl Rule for DeprecatedApi {
    fn code(&self) -> &'static str {
        "AS401"
    }
    fn slug(&self) -> &'static str {
        "deprecated-api-caller"
    }
    fn title(&self) -> &'static str {
        "A client calls an API version that is deprecated"
    }
    fn doc(&self) -> &'static str {
        include_str!("deprecated_api.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        let server = r.summary.server_version.as_deref().and_then(minor);
        for d in &r.deprecated {
            if (d.count as f64) < t.get("min_calls") {
                continue;
            }
            let removed = d.removed_release.as_deref().and_then(minor);
            let ahead = |n: u32| match (server, removed) {
                (Some(s), Some(rm)) => rm <= s + n,
                (None, Some(_)) => true,
                _ => false,
            };
            let soon = ahead(1);
            let mut ev = Evidence {
                metric: "calls".into(),
                value: d.count as f64,
                threshold: t.get("min_calls"),
                first: d.first.clone(),
                last: d.last.clone(),
                sample_audit_ids: d.sample_audit_ids.clone(),
                ..Evidence::default()
            };
            ev.details
                .insert("removed_release".into(), d.removed_release.clone().into());
            ev.details.insert(
                "server_version".into(),
                r.summary.server_version.clone().into(),
            );
            let when = d.removed_release.as_deref().map_or_else(
                || "a future release".to_owned(),
                |v| format!("Kubernetes {v}"),
            );
            let mut f = crate::rules::finding(
                    self,
                    &d.client,
                    cost::reads(d.count, 5.0, 1.0, r.summary.span_seconds),
                    format!("{} calls deprecated {} ({} times); it is removed in {when}", d.client, d.api, d.count),
                    ev,
                    format!("Move the client and the manifests it applies off {} to the replacement version before {when} (kubectl convert, pluto).", d.api),
                )
                .resource(&d.api)
                .at_least(if soon { Severity::High } else { Severity::Medium });
            f.upgrade_blocker = ahead(UPGRADE_BLOCKER_MINORS);
            out.push(f);
        }
    }
}

//! AS102 `watch-relist-storm`: watches that end long before their own timeout, then relist.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds};

/// # What it does
/// Flags a client × resource whose watches mostly end before half of their own `timeoutSeconds`
/// (informers ask for 5–10 minutes) and that LISTs the resource again about as often (or opens
/// watch-list streams with `sendInitialEvents=true`).
///
/// # Why is this bad?
/// Every relist re-reads the whole collection and every restarted watch re-registers with the
/// watch cache; a storm of them pushes APF seats and apiserver memory up, and under load it
/// feeds itself (slow relists time out, and relist again).
///
/// # Example
/// `karpenter@kube-system/karpenter`, `nodeclaims.karpenter.sh`: 300 watches an hour lasting 20 s
/// median against a 540 s timeout, and 290 LISTs.
///
/// # Remediation
/// Find what closes the watch: a proxy or load-balancer idle timeout under 5 minutes, a client
/// timeout, a crash-looping pod (one new watch per start). Use informers with
/// `allowWatchBookmarks` so a restarted watch resumes from its resourceVersion instead of
/// relisting; on 1.27+ consider the WatchList feature.
///
/// # References
/// client-go reflector (ListAndWatch, bookmarks); KEP-3157 watch-list.
pub struct WatchRelistStorm;

const T: &[Threshold] = &[
    Threshold {
        name: "min_watches",
        default: 10.0,
        source: "watches with a known duration and timeout before judging",
    },
    Threshold {
        name: "early_share",
        default: 0.5,
        source: "share of watches ending before half their timeoutSeconds",
    },
    Threshold {
        name: "relists_per_watch",
        default: 0.5,
        source: "LISTs (or watch-list streams) per watch",
    },
];

impl Rule for WatchRelistStorm {
    fn code(&self) -> &'static str {
        "AS102"
    }
    fn slug(&self) -> &'static str {
        "watch-relist-storm"
    }
    fn title(&self) -> &'static str {
        "Watches end early and are followed by relists"
    }
    fn doc(&self) -> &'static str {
        include_str!("watch_relist_storm.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        for w in &r.watches {
            if (w.timed as f64) < t.get("min_watches") {
                continue;
            }
            let early = w.ended_early as f64 / w.timed as f64;
            let relists = w.lists + w.initial_events;
            let per_watch = relists as f64 / w.count as f64;
            if early < t.get("early_share") || per_watch < t.get("relists_per_watch") {
                continue;
            }
            let list = r
                .lists
                .iter()
                .filter(|l| l.client == w.client && l.resource == w.resource);
            let (n, sum_ms, cluster) = list.fold((0u64, 0.0, false), |(n, s, c), l| {
                (
                    n + l.count,
                    s + l.latency_ms.map_or(0.0, |x| x.mean) * l.count as f64,
                    c || l.cluster_scope > 0,
                )
            });
            let mean = if n > 0 { sum_ms / n as f64 } else { 50.0 };
            let seats = if cluster {
                cost::CLUSTER_LIST_SEATS
            } else {
                1.0
            };
            let median_s = w.duration_ms.map_or(0.0, |d| d.p50 / 1000.0);
            let mut ev = Evidence {
                metric: "early_share".into(),
                value: super::r1(early * 100.0) / 100.0,
                threshold: t.get("early_share"),
                first: w.first.clone(),
                last: w.last.clone(),
                sample_audit_ids: w.sample_audit_ids.clone(),
                ..Evidence::default()
            };
            ev.details.insert("watches".into(), w.count.into());
            ev.details
                .insert("ended_early".into(), w.ended_early.into());
            ev.details
                .insert("median_duration_s".into(), super::r1(median_s).into());
            ev.details
                .insert("mean_timeout_s".into(), w.mean_timeout_s.into());
            ev.details.insert("relists".into(), relists.into());
            out.push(
                crate::rules::finding(
                    self,
                    &w.client,
                    cost::reads(relists, mean, seats, r.summary.span_seconds),
                    format!(
                        "{} watches of {} end after {:.0} s (median) against {:.0} s asked, {:.0}% early, with {} relists",
                        w.client, w.resource, median_s, w.mean_timeout_s.unwrap_or(0.0), early * 100.0, relists
                    ),
                    ev,
                    "Find what closes the watches (an LB/proxy idle timeout under 5 min, a client timeout, a crash-looping pod); use informers with allowWatchBookmarks so restarts resume instead of relisting.".into(),
                )
                .resource(&w.resource)
                .at_least(crate::model::finding::Severity::Low),
            );
        }
    }
}

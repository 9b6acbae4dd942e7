//! AS302 `client-side-throttling`: a client's request rate is flat at a client library's limit.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding, Severity};
use crate::model::limits::LIMITS;
use crate::rules::{Report, Rule, Threshold, Thresholds};

/// # What it does
/// Flags a client whose requests per minute sit, minute after minute, just under a known client
/// rate limit: client-go's default 5 QPS (300/min), controller-runtime's 20 (1,200/min) — also
/// kube-controller-manager's own `--kube-api-qps` default, which all its controllers share —
/// and kubelet's 50 (3,000/min). A flat top means the client's own limiter is queueing requests.
/// A client name several identities share (every kubelet is `kubelet`, each node its own
/// user; humans all run `kubectl`) is skipped: each of them has its own limiter, so their sum
/// says nothing of any one limit.
///
/// # Why is this bad?
/// The apiserver is not hurt, but the client is slowed to its limiter: reconciles lag, queues
/// grow, and the owner may "fix" it by raising QPS into the apiserver. Worth knowing before it
/// becomes the next incident.
///
/// # Example
/// `manager@team-a/op-controller-manager`: 298–300 requests a minute for 40 minutes.
///
/// # Remediation
/// First cut the requests (informer caches instead of GETs, fewer writes); raise the client's
/// QPS/Burst (`rest.Config.QPS`, `--kube-api-qps`) only if the work is needed.
///
/// # References
/// client-go `rest.Config` defaults (QPS 5, Burst 10); controller-runtime defaults (20/30);
/// kube-controller-manager `--kube-api-qps` 20 / `--kube-api-burst` 30; kubelet
/// `--kube-api-qps` (50).
pub struct ClientSideThrottling;

const T: &[Threshold] = &[Threshold {
    name: "flat_minutes",
    default: 5.0,
    source: "minutes at 90–102% of a known limit",
}];

impl Rule for ClientSideThrottling {
    fn code(&self) -> &'static str {
        "AS302"
    }
    fn slug(&self) -> &'static str {
        "client-side-throttling"
    }
    fn title(&self) -> &'static str {
        "Requests are flat at a client library's rate limit"
    }
    fn doc(&self) -> &'static str {
        include_str!("client_side_throttling.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        for c in r.clients.iter().filter(|c| c.distinct_users <= 1) {
            for ((qps, what), (flat, above)) in LIMITS.into_iter().zip(c.limit_minutes) {
                let cap = qps * 60.0;
                if (flat as f64) < t.get("flat_minutes") || above > 0 {
                    continue;
                }
                let mut ev = Evidence {
                    metric: "minutes_at_limit".into(),
                    value: flat as f64,
                    threshold: t.get("flat_minutes"),
                    first: c.first.clone(),
                    last: c.last.clone(),
                    sample_audit_ids: c.sample_audit_ids.clone(),
                    ..Evidence::default()
                };
                ev.details.insert("limit_per_minute".into(), cap.into());
                ev.details
                    .insert("peak_per_minute".into(), c.peak_qpm.into());
                // kube-controller-manager's controllers share its own flag, not a library default.
                let what = if (qps - 20.0).abs() < f64::EPSILON
                    && c.client.starts_with("kube-controller-manager/")
                {
                    "kube-controller-manager --kube-api-qps default 20"
                } else {
                    what
                };
                // Its cost is the client's own traffic: the load that sits at the limit.
                let mean_ms = c.latency_ms.map_or(0.0, |l| l.mean);
                let score = cost::reads(c.requests, mean_ms, 1.0, r.summary.span_seconds);
                out.push(
                    crate::rules::finding(
                        self,
                        &c.client,
                        score,
                        format!("{} runs flat at ~{cap:.0} requests/min for {flat} minutes: the {what} is queueing its requests", c.client),
                        ev,
                        "Cut requests first (informer caches instead of GETs, fewer writes); raise QPS/Burst only if the work is needed.".into(),
                    )
                    .at_least(Severity::Low),
                );
                break;
            }
        }
    }
}

//! AS302 `client-side-throttling`: a client's request rate is flat at a client library's limit.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding, Severity};
use crate::rules::{Report, Rule, Threshold, Thresholds};

/// # What it does
/// Flags a client whose requests per minute sit, minute after minute, just under a known client
/// rate limit: client-go's default 5 QPS (300/min), controller-runtime's 20 (1,200/min) — also
/// kube-controller-manager's own `--kube-api-qps` default, which all its controllers share —
/// and kubelet's 50 (3,000/min). A flat top means the client's own limiter is queueing requests.
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

/// Known client limits, requests per second.
const LIMITS: [(f64, &str); 3] = [
    (5.0, "client-go default QPS 5"),
    (20.0, "controller-runtime default QPS 20"),
    (50.0, "kubelet kube-api-qps 50"),
];

/// For each of [`LIMITS`]: (minutes at 90–102% of it, minutes above 110% of it), from a
/// client's requests per minute (minutes without requests never count). The report computes it
/// for every client, so clients whose series the report omits are judged too.
#[must_use]
pub fn limit_minutes(per_minute: impl IntoIterator<Item = u64>) -> [(u64, u64); 3] {
    let mut out = [(0, 0); 3];
    for n in per_minute {
        let n = n as f64;
        for ((flat, above), (qps, _)) in out.iter_mut().zip(LIMITS) {
            let cap = qps * 60.0;
            *flat += u64::from(n >= 0.9 * cap && n <= 1.02 * cap);
            *above += u64::from(n > 1.1 * cap);
        }
    }
    out
}

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
        for c in &r.clients {
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

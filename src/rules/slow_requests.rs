//! AS501 `slow-requests-slo`: a client's calls miss the upstream latency SLO.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds, symptoms};

/// # What it does
/// Flags a client × call class whose P99 latency exceeds the upstream Kubernetes SLO:
/// single-object mutating and read-only calls 1 s, namespace LISTs 5 s, cluster LISTs 30 s
/// (`slo[]` in the report). Audit latency includes APF queue wait and admission webhooks, which
/// the upstream SLI excludes, so a miss here is an upper bound: the
/// `apiserver.latency.k8s.io/*` annotations of the sample requests (logged only for requests
/// over 500 ms) say where the time went — etcd, APF queueing, or a webhook — and the finding
/// says it (`latency_breakdown[]`). When one webhook, the APF queue or etcd explains at least
/// half of the slow calls' mean time, the calls are a symptom: with a webhook's AS502 finding
/// they fold into it (its `symptoms`), otherwise the finding stays, ranked low at most.
///
/// # Why is this bad?
/// Slow calls hold their seats longer, so everyone else queues; a slow webhook or a slow etcd
/// shows up here first.
///
/// # Example
/// `kubectl`, mutating: P99 2.4 s over 300 calls.
///
/// # Remediation
/// Read the latency annotations of the slow requests: `etcd` (etcd disk or size), `apf-queue-wait`
/// (overloaded priority level), webhook entries (a slow admission webhook: set a short timeout,
/// scope it with namespace/object selectors, use `failurePolicy: Ignore` where safe).
///
/// # References
/// sig-scalability SLOs, "API call latency"; apiserver latency tracker annotations.
pub struct SlowRequests;

const T: &[Threshold] = &[
    Threshold {
        name: "min_calls",
        default: 20.0,
        source: "calls of the class before judging its P99",
    },
    Threshold {
        name: "slo_factor",
        default: 1.0,
        source: "multiplier on the upstream SLO thresholds",
    },
];

impl Rule for SlowRequests {
    fn code(&self) -> &'static str {
        "AS501"
    }
    fn slug(&self) -> &'static str {
        "slow-requests-slo"
    }
    fn title(&self) -> &'static str {
        "Calls miss the upstream latency SLO"
    }
    fn doc(&self) -> &'static str {
        include_str!("slow_requests.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        for s in &r.slo {
            let Some(l) = s.latency_ms else { continue };
            let limit_ms = s.threshold_s * 1000.0 * t.get("slo_factor");
            if (l.samples as f64) < t.get("min_calls") || l.p99 <= limit_ms {
                continue;
            }
            let seats = if s.class == "list-cluster" {
                cost::CLUSTER_LIST_SEATS
            } else {
                1.0
            };
            let mut ev = Evidence {
                metric: "p99_ms".into(),
                value: l.p99,
                threshold: limit_ms,
                sample_audit_ids: s.sample_audit_ids.clone(),
                ..Evidence::default()
            };
            ev.details.insert("calls".into(), l.samples.into());
            ev.details.insert("p50_ms".into(), l.p50.into());
            ev.details.insert("max_ms".into(), l.max.into());
            let split = symptoms::split(r, &s.client, &s.class);
            let mut went = String::new();
            if let Some(sp) = &split {
                ev.details
                    .insert("annotated_calls".into(), sp.requests.into());
                ev.details.insert(
                    "time_went_to_ms".into(),
                    serde_json::to_value(&sp.parts_ms).unwrap_or_default(),
                );
                if let Some((cause, _)) = sp.explained_by() {
                    ev.details.insert("explained_by".into(), cause.into());
                }
                went = format!("; {}", sp.sentence());
            }
            out.push(
                crate::rules::finding(
                    self,
                    &s.client,
                    cost::reads(l.samples, l.mean, seats, r.summary.span_seconds),
                    format!("{}'s {} calls have P99 {:.2} s, over the {} s SLO ({} calls){went}", s.client, s.class, l.p99 / 1000.0, s.threshold_s, l.samples),
                    ev,
                    "Look at the apiserver.latency.k8s.io annotations of its slow requests: etcd time points at etcd, apf-queue-wait at an overloaded priority level, webhook time at an admission webhook (short timeout, selectors, failurePolicy Ignore where safe).".into(),
                )
                .resource(&s.class),
            );
        }
    }
}

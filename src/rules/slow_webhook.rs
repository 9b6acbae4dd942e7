//! AS502 `slow-or-failing-webhook`: an admission webhook slows requests down or fails them.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding, Severity};
use crate::rules::{Report, Rule, Threshold, Thresholds};

/// # What it does
/// Flags an admission webhook, named by the audit annotations (`mutation.webhook.admission.k8s.io/*`,
/// `failed-open.*`) or by a refused request's status (`failed calling webhook "…"`), whose time
/// in slow requests has a P99 over `p99_s`, or that failed at least `failures` times (open:
/// the request went on without it; closed: the request was refused). A kind's webhook time
/// (`apiserver.latency.k8s.io/mutating-webhook`, `validating-webhook`) is charged to a webhook of
/// that kind the request names, never to another one (report-schema.md, `webhooks[]`). The
/// latency annotations exist only for requests slower than 500 ms, so the latency covers slow
/// requests only. The finding says how many clients waited on the webhook: their slow calls are
/// its symptoms.
///
/// # Why is this bad?
/// Admission runs inside the request: a slow webhook holds an APF seat for its whole call and
/// slows every matching write; a failing one either refuses writes (failurePolicy Fail) or
/// silently skips its policy (Ignore).
///
/// # Example
/// `validate.policy-agent.io`: P99 1.9 s in 120 slow requests, 40 requests refused with
/// "context deadline exceeded".
///
/// # Remediation
/// Give the webhook a short `timeoutSeconds` (1–5 s); scope it with `namespaceSelector`,
/// `objectSelector` and `matchConditions` so it sees only what it must; exclude kube-system and
/// high-churn resources (leases, events); run enough replicas near the API server; choose the
/// failurePolicy deliberately.
///
/// # References
/// Kubernetes "Dynamic Admission Control" best practices; apiserver latency tracker annotations.
pub struct SlowWebhook;

const T: &[Threshold] = &[
    Threshold {
        name: "p99_s",
        default: 1.0,
        source: "webhook time P99 in slow requests (a 1 s call budget)",
    },
    Threshold {
        name: "min_slow",
        default: 10.0,
        source: "slow requests with a webhook latency before judging P99",
    },
    Threshold {
        name: "failures",
        default: 10.0,
        source: "failed-open plus failed-closed calls",
    },
];

impl Rule for SlowWebhook {
    fn code(&self) -> &'static str {
        "AS502"
    }
    fn slug(&self) -> &'static str {
        "slow-or-failing-webhook"
    }
    fn title(&self) -> &'static str {
        "An admission webhook is slow or failing"
    }
    fn doc(&self) -> &'static str {
        include_str!("slow_webhook.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        for w in &r.webhooks {
            let failures = w.failed_open + w.failed_closed;
            let slow = w.latency_ms.filter(|l| {
                l.samples as f64 >= t.get("min_slow") && l.p99 > t.get("p99_s") * 1000.0
            });
            if slow.is_none() && (failures as f64) < t.get("failures") {
                continue;
            }
            let (n, mean) = w.latency_ms.map_or((0, 0.0), |l| (l.samples, l.mean));
            let mut ev = Evidence {
                metric: if slow.is_some() {
                    "webhook_p99_ms"
                } else {
                    "failures"
                }
                .into(),
                value: slow.map_or(failures as f64, |l| l.p99),
                threshold: if slow.is_some() {
                    t.get("p99_s") * 1000.0
                } else {
                    t.get("failures")
                },
                first: w.first.clone(),
                last: w.last.clone(),
                sample_audit_ids: w.sample_audit_ids.clone(),
                ..Evidence::default()
            };
            ev.details.insert("requests".into(), w.requests.into());
            ev.details.insert("slow_requests".into(), n.into());
            ev.details
                .insert("failed_open".into(), w.failed_open.into());
            ev.details
                .insert("failed_closed".into(), w.failed_closed.into());
            ev.details
                .insert("clients_waited".into(), w.clients_waited.into());
            if let Some(top) = w.waited.first() {
                ev.details
                    .insert("most_waited_client".into(), top.name.clone().into());
            }
            let what = match (slow, failures) {
                (Some(l), 0) => format!(
                    "takes P99 {:.2} s in {} slow requests",
                    l.p99 / 1000.0,
                    l.samples
                ),
                (Some(l), f) => format!(
                    "takes P99 {:.2} s in {} slow requests and failed {f} times",
                    l.p99 / 1000.0,
                    l.samples
                ),
                (None, f) => format!(
                    "failed {f} times ({} closed, {} open)",
                    w.failed_closed, w.failed_open
                ),
            };
            let waited = match w.clients_waited {
                0 => String::new(),
                1 => "; 1 client waited on it".to_owned(),
                c => format!("; {c} clients waited on it"),
            };
            out.push(
                crate::rules::finding(
                    self,
                    &format!("webhook {}", w.webhook),
                    cost::reads(n, mean, 1.0, r.summary.span_seconds),
                    format!("admission webhook {} {what}{waited}", w.webhook),
                    ev,
                    "Set a short timeoutSeconds (1–5 s); scope the webhook with namespaceSelector/objectSelector/matchConditions; exclude kube-system, leases and events; run enough replicas close to the API server; choose failurePolicy deliberately.".into(),
                )
                .at_least(if w.failed_closed > 0 { Severity::High } else { Severity::Medium }),
            );
        }
    }
}

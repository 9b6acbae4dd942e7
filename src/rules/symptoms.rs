//! Causes above symptoms: a slow call whose time the `apiserver.latency.k8s.io/*` annotations put
//! mostly in an admission webhook, the APF queue or etcd is a symptom of that wait. An AS501
//! finding explained by a webhook folds into that webhook's AS502 finding as evidence; one
//! explained by the APF queue or etcd (whose cause the log cannot name) stays, ranked as low,
//! so it never sits above a cause.

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::finding::{Finding, Severity};
use crate::model::report::Report;

/// The share of the slow calls' mean latency one wait must explain to make them its symptom.
pub const EXPLAINED_SHARE: f64 = 0.5;

/// Where one client × SLO class's annotated (slow) calls spent their time.
#[derive(Debug, Clone, Default)]
pub struct TimeSplit {
    /// Calls with a latency annotation.
    pub requests: u64,
    /// Their mean latency, ms.
    pub mean_ms: f64,
    /// Mean ms per annotation (`etcd`, `apf-queue-wait`, `mutating-webhook` …).
    pub parts_ms: BTreeMap<String, f64>,
}

impl TimeSplit {
    /// The wait (`webhook` for both webhook kinds, `apf-queue-wait`, `etcd`) that explains at
    /// least [`EXPLAINED_SHARE`] of the mean latency, with its mean ms.
    #[must_use]
    pub fn explained_by(&self) -> Option<(&'static str, f64)> {
        let part = |k: &str| self.parts_ms.get(k).copied().unwrap_or(0.0);
        [
            (
                "webhook",
                part("mutating-webhook") + part("validating-webhook"),
            ),
            ("apf-queue-wait", part("apf-queue-wait")),
            ("etcd", part("etcd")),
        ]
        .into_iter()
        .filter(|(_, ms)| self.mean_ms > 0.0 && *ms >= EXPLAINED_SHARE * self.mean_ms)
        .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// `2.1 s went 1.9 s to mutating-webhook, 0.1 s to etcd` (the two largest parts).
    #[must_use]
    pub fn sentence(&self) -> String {
        let mut parts: Vec<(&String, &f64)> = self.parts_ms.iter().collect();
        parts.sort_by(|a, b| b.1.total_cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let went: Vec<String> = parts
            .iter()
            .take(2)
            .map(|(k, ms)| format!("{:.2} s to {k}", *ms / 1000.0))
            .collect();
        format!(
            "the slow calls' mean {:.2} s went {}",
            self.mean_ms / 1000.0,
            went.join(", ")
        )
    }
}

/// The time split of `client`'s annotated calls of SLO `class`, over all resources.
#[must_use]
pub fn split(report: &Report, client: &str, class: &str) -> Option<TimeSplit> {
    let mut s = TimeSplit::default();
    let (mut total, mut parts) = (0.0, BTreeMap::<String, f64>::new());
    for row in report
        .latency_breakdown
        .iter()
        .filter(|r| r.client == client && r.class == class)
    {
        let n = row.requests as f64;
        s.requests += row.requests;
        total += row.mean_ms * n;
        for (k, ms) in &row.parts_ms {
            *parts.entry(k.clone()).or_default() += ms * n;
        }
    }
    if s.requests == 0 {
        return None;
    }
    let n = s.requests as f64;
    s.mean_ms = total / n;
    s.parts_ms = parts.into_iter().map(|(k, v)| (k, v / n)).collect();
    Some(s)
}

/// The webhook `client` waited on most, from `webhooks[].waited`.
fn webhook_waited_on(report: &Report, client: &str) -> Option<String> {
    report
        .webhooks
        .iter()
        .filter_map(|w| {
            let n = w.waited.iter().find(|v| v.name == client)?.count;
            Some((n, &w.webhook))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, w)| w.clone())
}

/// Folds AS501 findings into their cause (see the module docs).
pub fn fold(all: &mut Vec<Finding>, report: &Report) {
    let causes: std::collections::BTreeSet<String> = all
        .iter()
        .filter(|c| c.rule == "AS502")
        .map(|c| c.client.clone())
        .collect();
    let mut folded: Vec<Finding> = Vec::new();
    let mut keep = Vec::with_capacity(all.len());
    for f in std::mem::take(all) {
        if f.rule != "AS501" {
            keep.push(f);
            continue;
        }
        let cause = f
            .evidence
            .details
            .get("explained_by")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let webhook = cause
            .as_deref()
            .filter(|c| *c == "webhook")
            .and_then(|_| webhook_waited_on(report, &f.client))
            .map(|w| format!("webhook {w}"))
            .filter(|name| causes.contains(name));
        match (cause, webhook) {
            (_, Some(name)) => folded.push(f.with_cause(&name)),
            (Some(_), None) => keep.push(f.ranked_as_symptom()),
            (None, None) => keep.push(f),
        }
    }
    for victim in folded {
        let cause = victim.evidence.details["folded_into"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(c) = keep
            .iter_mut()
            .find(|c| c.rule == "AS502" && c.client == cause)
        {
            let entry = c
                .evidence
                .details
                .entry("symptoms".to_owned())
                .or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!({
                    "rule": victim.rule,
                    "client": victim.client,
                    "class": victim.resource,
                    "p99_ms": victim.evidence.value,
                    "calls": victim.evidence.details.get("calls"),
                    "headline": victim.headline,
                }));
            }
        }
    }
    *all = keep;
}

impl Finding {
    fn with_cause(mut self, cause: &str) -> Self {
        self.evidence
            .details
            .insert("folded_into".into(), cause.into());
        self
    }

    /// A symptom whose cause has no finding: kept, but ranked as low at most.
    fn ranked_as_symptom(mut self) -> Self {
        self.severity = self.severity.min(Severity::Low.max(self.floor));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(mean_ms: f64, parts: &[(&str, f64)]) -> TimeSplit {
        TimeSplit {
            requests: 10,
            mean_ms,
            parts_ms: parts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }

    #[test]
    fn the_wait_that_explains_half_is_the_cause() {
        // Both webhook kinds add up: 0.6 + 0.5 of 2 s.
        let s = split(
            2000.0,
            &[
                ("mutating-webhook", 600.0),
                ("validating-webhook", 500.0),
                ("etcd", 300.0),
            ],
        );
        assert_eq!(s.explained_by(), Some(("webhook", 1100.0)));
        assert!(s.sentence().contains("0.60 s to mutating-webhook"));
        assert_eq!(split(2000.0, &[("etcd", 999.0)]).explained_by(), None);
        assert_eq!(
            split(2000.0, &[("apf-queue-wait", 1500.0), ("etcd", 100.0)]).explained_by(),
            Some(("apf-queue-wait", 1500.0))
        );
    }
}

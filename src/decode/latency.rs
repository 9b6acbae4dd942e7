//! Decode: what a request's annotations say about where its time went
//! (`apiserver.latency.k8s.io/*`, logged by the apiserver's latency trackers for requests slower
//! than 500 ms) and which admission webhooks it met (`mutation.webhook.admission.k8s.io/*`,
//! `patch.webhook…`, `failed-open.{mutating,validating}.webhook…`).

use crate::timefmt::Micros;

/// The latency-tracker annotations audit-scan reads, in report order. `total` is left out: the
/// request's own timestamps give it, and 1.34 logs it negative.
pub const LATENCY_PARTS: [&str; 9] = [
    "etcd",
    "apf-queue-wait",
    "mutating-webhook",
    "validating-webhook",
    "transform-response-object",
    "serialize-response-object",
    "response-write",
    "authentication",
    "authorization",
];

/// Index of `etcd` in [`LATENCY_PARTS`].
pub const ETCD: usize = 0;
/// Index of `apf-queue-wait`.
pub const APF_QUEUE_WAIT: usize = 1;
/// Index of `mutating-webhook`.
pub const MUTATING_WEBHOOK: usize = 2;
/// Index of `validating-webhook`.
pub const VALIDATING_WEBHOOK: usize = 3;

/// The slot of an `apiserver.latency.k8s.io/` annotation key's tail.
#[must_use]
pub fn part_index(tail: &str) -> Option<usize> {
    LATENCY_PARTS.iter().position(|p| *p == tail)
}

/// One request's latency-tracker annotations, µs, indexed like [`LATENCY_PARTS`].
pub type LatencyParts = [Option<Micros>; LATENCY_PARTS.len()];

/// The most webhook names of one kind kept per request (a pod create meets a handful).
const MAX_NAMES: usize = 4;

/// Distinct webhook names of one kind, in the order the annotations list them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Names<'a> {
    names: [&'a str; MAX_NAMES],
    len: usize,
}

impl<'a> Names<'a> {
    /// Adds `name` unless empty, already there, or the list is full.
    pub fn push(&mut self, name: &'a str) {
        if !name.is_empty() && !self.contains(name) && self.len < MAX_NAMES {
            self.names[self.len] = name;
            self.len += 1;
        }
    }
    /// The names.
    #[must_use]
    pub fn as_slice(&self) -> &[&'a str] {
        &self.names[..self.len]
    }
    /// Whether `name` is one of them.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.as_slice().contains(&name)
    }
    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `"webhook":"NAME"` inside a mutation or patch annotation's JSON text.
#[must_use]
pub fn webhook_in(json_text: &str) -> Option<&str> {
    quoted_after(json_text, "\"webhook\":\"")
}

/// `failed calling webhook "NAME"` in a status message (a webhook that refused the request).
#[must_use]
pub fn webhook_failed_in(message: &str) -> Option<&str> {
    quoted_after(message, "failed calling webhook \"")
}

fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let at = text.find(marker)? + marker.len();
    let len = text[at..].find('"')?;
    Some(&text[at..at + len]).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_bounded() {
        let mut n = Names::default();
        for x in ["a", "b", "a", "", "c", "d", "e"] {
            n.push(x);
        }
        assert_eq!(n.as_slice(), ["a", "b", "c", "d"]);
        assert!(n.contains("c") && !n.contains("e"));
    }

    #[test]
    fn webhook_names_from_annotation_and_message() {
        assert_eq!(
            webhook_in(r#"{"configuration":"c","webhook":"m.example.io","mutated":false}"#),
            Some("m.example.io")
        );
        assert_eq!(
            webhook_failed_in(
                r#"Internal error occurred: failed calling webhook "v.example.io": context deadline exceeded"#
            ),
            Some("v.example.io")
        );
        assert_eq!(webhook_failed_in("pods \"x\" is forbidden"), None);
        assert_eq!(part_index("apf-queue-wait"), Some(APF_QUEUE_WAIT));
        assert_eq!(part_index("total"), None);
    }
}

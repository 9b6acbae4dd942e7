//! Source/CloudWatch: dropping events seen twice (a replayed page, a retried request) by
//! auditID + stage, within a bounded horizon of CloudWatch time — never a set of every auditID of
//! the window. Each slice task has its own, so memory is bounded by the events of one horizon.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

/// How far back, in CloudWatch ms, a duplicate is looked for.
pub const HORIZON_MS: i64 = 5 * 60_000;

/// auditID + stage of a message, cheaply: the two fields are found as text, not parsed.
#[must_use]
pub fn key(message: &str) -> Option<String> {
    let id = field(message, "\"auditID\":\"")?;
    let stage = field(message, "\"stage\":\"").unwrap_or("");
    Some(format!("{id}/{stage}"))
}

fn field<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let start = memchr::memmem::find(s.as_bytes(), prefix.as_bytes())? + prefix.len();
    let len = memchr::memchr(b'"', &s.as_bytes()[start..])?;
    Some(&s[start..start + len])
}

/// Keys seen within the horizon.
#[derive(Debug, Default)]
pub struct Dedup {
    seen: FxHashSet<String>,
    order: VecDeque<(i64, String)>,
    newest: i64,
}

impl Dedup {
    /// Whether this event (CloudWatch time `ts_ms`, `message`) is new; remembers it.
    pub fn first_sight(&mut self, ts_ms: i64, message: &str) -> bool {
        let Some(k) = key(message) else { return true };
        self.newest = self.newest.max(ts_ms);
        while let Some((t, _)) = self.order.front() {
            if *t >= self.newest - HORIZON_MS {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains(&k) {
            return false;
        }
        self.seen.insert(k.clone());
        self.order.push_back((ts_ms, k));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_within_the_horizon_are_dropped() {
        let m = |id: &str, stage: &str| {
            format!(r#"{{"kind":"Event","auditID":"{id}","stage":"{stage}"}}"#)
        };
        let mut d = Dedup::default();
        assert!(d.first_sight(0, &m("a", "ResponseComplete")));
        assert!(
            d.first_sight(1, &m("a", "ResponseStarted")),
            "another stage is another event"
        );
        assert!(!d.first_sight(2, &m("a", "ResponseComplete")));
        assert!(d.first_sight(HORIZON_MS * 3, &m("b", "ResponseComplete")));
        assert!(
            d.first_sight(HORIZON_MS * 3, &m("a", "ResponseComplete")),
            "forgotten past the horizon"
        );
        assert!(d.seen.len() <= 2);
        assert!(d.first_sight(5, "not json"));
    }
}

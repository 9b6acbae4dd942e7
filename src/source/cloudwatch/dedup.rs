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
#[derive(Debug)]
pub struct Dedup {
    seen: FxHashSet<String>,
    order: VecDeque<(i64, String)>,
    newest: i64,
    horizon_ms: i64,
    /// A message without an auditID is keyed by its whole text (following re-reads the last
    /// millisecond on every poll; a download keeps such lines).
    whole_messages: bool,
}

impl Default for Dedup {
    fn default() -> Self {
        Self {
            seen: FxHashSet::default(),
            order: VecDeque::new(),
            newest: 0,
            horizon_ms: HORIZON_MS,
            whole_messages: false,
        }
    }
}

impl Dedup {
    /// Following: duplicates are the last millisecond read again and replayed pages, seconds
    /// apart, so a shorter horizon bounds memory; a message without an auditID is keyed whole.
    #[must_use]
    pub fn for_following(horizon_ms: i64) -> Self {
        Self {
            horizon_ms,
            whole_messages: true,
            ..Self::default()
        }
    }

    /// Whether this event (CloudWatch time `ts_ms`, `message`) is new; remembers it.
    pub fn first_sight(&mut self, ts_ms: i64, message: &str) -> bool {
        let k = match key(message) {
            Some(k) => k,
            None if self.whole_messages => message.to_owned(),
            None => return true,
        };
        self.newest = self.newest.max(ts_ms);
        while let Some((t, _)) = self.order.front() {
            if *t >= self.newest - self.horizon_ms {
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
        assert!(d.first_sight(5, "not json"), "a download keeps such lines");
        let mut f = Dedup::for_following(1000);
        assert!(f.first_sight(5, "not json"));
        assert!(!f.first_sight(5, "not json"), "read again at a poll edge");
        assert!(f.first_sight(5, &m("a", "ResponseComplete")));
        assert!(f.first_sight(2000, &m("b", "ResponseComplete")));
        assert!(
            f.first_sight(2000, &m("a", "ResponseComplete")),
            "the shorter horizon forgets"
        );
    }
}

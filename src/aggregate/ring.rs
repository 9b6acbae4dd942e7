//! Aggregate: the rolling window of `--follow` — a ring of per-minute [`Aggregates`], keyed by
//! the events' own minute. A refresh merges the minutes still in the window into one table set
//! (the same merge the parallel scan uses for its workers), and whole minutes expire: no
//! per-event state is kept, so memory is bounded by the window's minutes × their cardinality.

use std::collections::BTreeMap;

use super::{Aggregates, Scope};
use crate::decode::AuditEvent;
use crate::timefmt::{MINUTE_US, Micros};

/// The last `minutes` minutes of events, one table set per minute.
#[derive(Debug)]
pub struct Ring {
    minutes: i64,
    tables: BTreeMap<i64, Aggregates>,
    /// The newest event time seen (for the lag behind real time).
    newest: Option<Micros>,
}

impl Ring {
    /// A window of `minutes` whole minutes (at least one).
    #[must_use]
    pub fn new(minutes: i64) -> Self {
        Self {
            minutes: minutes.max(1),
            tables: BTreeMap::new(),
            newest: None,
        }
    }

    /// The first minute (epoch minutes) a window ending in minute `now_minute` holds.
    fn first_minute(&self, now_minute: i64) -> i64 {
        now_minute - self.minutes + 1
    }

    /// The window's span `[since, until)` in µs when it ends at `now`.
    #[must_use]
    pub fn span(&self, now: Micros) -> (Micros, Micros) {
        let first = self.first_minute(now.div_euclid(MINUTE_US));
        (first * MINUTE_US, now)
    }

    /// Folds an event into its minute's tables, when that minute is still in the window that
    /// ends at `now` (a late event older than the window counts only for the session). Untimed
    /// events belong to no minute.
    pub fn observe(&mut self, ev: &AuditEvent, scope: &Scope, now: Micros) {
        let Some(t) = ev.time() else { return };
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        let minute = t.div_euclid(MINUTE_US);
        if minute < self.first_minute(now.div_euclid(MINUTE_US)) {
            return;
        }
        self.tables.entry(minute).or_default().observe(ev, scope);
    }

    /// Drops the minutes that fell out of the window ending at `now`.
    pub fn expire(&mut self, now: Micros) {
        let first = self.first_minute(now.div_euclid(MINUTE_US));
        self.tables = self.tables.split_off(&first);
    }

    /// The window's tables, merged.
    #[must_use]
    pub fn merged(&self) -> Aggregates {
        let mut all = Aggregates::default();
        for t in self.tables.values() {
            all.merge(t);
        }
        all
    }

    /// The newest event time seen.
    #[must_use]
    pub fn newest(&self) -> Option<Micros> {
        self.newest
    }

    /// Minutes held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether no minute is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Stage;

    fn event(t: Micros) -> AuditEvent<'static> {
        AuditEvent {
            stage: Some(Stage::ResponseComplete),
            verb: "get",
            resource: "pods",
            received: Some(t),
            stage_time: Some(t + 1000),
            code: Some(200),
            ..AuditEvent::default()
        }
    }

    #[test]
    fn the_window_keeps_whole_minutes_and_merges_them() {
        let scope = Scope::default();
        let mut ring = Ring::new(3);
        let now = 100 * MINUTE_US + 30_000_000;
        // Minutes 97 (out), 98, 99 and 100 (in): two events each.
        for m in 97..=100 {
            for k in 0..2 {
                ring.observe(&event(m * MINUTE_US + k * 1_000_000), &scope, now);
            }
        }
        assert_eq!(ring.len(), 3, "minute 97 is older than a 3-minute window");
        assert_eq!(ring.merged().summary.requests, 6);
        // A minute later, minute 98 expires whole.
        ring.expire(now + MINUTE_US);
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.merged().summary.requests, 4);
        assert_eq!(ring.newest(), Some(100 * MINUTE_US + 1_000_000));
        assert_eq!(ring.span(now), (98 * MINUTE_US, now));
    }
}

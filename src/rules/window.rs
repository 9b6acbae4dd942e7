//! Rules: places each finding in time — its active window (first to last time of what it
//! counted), its busiest minute, a score re-expressed per hour of that window, and both in the
//! headline — so a 20-minute incident reads as one, and a burst of seconds is charged what it
//! used instead of being extrapolated to an hour.

use std::fmt::Write as _;

use crate::model::cost;
use crate::model::finding::{Finding, Severity};
use crate::model::report::Report;
use crate::timefmt::{MINUTE_US, parse_rfc3339};

/// Fills the finding's window (from its client when the rule had no times), re-expresses its
/// score per hour of that window ([`cost::rejudge`]), derives its severity again (never below
/// the rule's floor) and appends the window to the headline.
pub(crate) fn place(f: &mut Finding, r: &Report) {
    let client = r.clients.iter().find(|c| c.client == f.client);
    let ev = &mut f.evidence;
    if ev.first.is_none()
        && ev.last.is_none()
        && let Some(c) = client
    {
        ev.first.clone_from(&c.first);
        ev.last.clone_from(&c.last);
    }
    let first = ev.first.as_deref().and_then(parse_rfc3339);
    let last = ev.last.as_deref().and_then(parse_rfc3339);
    let window_s = match (first, last) {
        (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1e6),
        _ => None,
    };
    ev.window_seconds = window_s.map(|w| (w * 10.0).round() / 10.0);
    if ev.busiest_minute.is_none() {
        ev.busiest_minute = client
            .and_then(|c| c.peak_minute.clone())
            .filter(|m| within(m, first, last));
    }
    if let Some(w) = window_s {
        f.score = (cost::rejudge(f.score, r.summary.span_seconds, w) * 100.0).round() / 100.0;
        f.severity = Severity::from_score(f.score).max(f.floor);
    }
    // On a report of more than one day every time carries its date, the busiest minute too.
    let dated = r.summary.spans_days();
    if let Some(when) = when(
        ev.first.as_deref(),
        ev.last.as_deref(),
        ev.busiest_minute.as_deref(),
        dated,
    ) {
        f.headline = format!("{} [{when}]", f.headline);
    }
}

/// Whether the minute starting at `m` overlaps `[first, last]`.
fn within(m: &str, first: Option<i64>, last: Option<i64>) -> bool {
    let Some(t) = parse_rfc3339(m) else {
        return false;
    };
    first.is_none_or(|f| t + MINUTE_US > f) && last.is_none_or(|l| t <= l)
}

/// (`2024-05-01`, `10:05`) of an RFC 3339 time.
fn day_hm(t: &str) -> (&str, &str) {
    (t.get(..10).unwrap_or(t), t.get(11..16).unwrap_or(t))
}

/// `2024-05-01 10:05–11:05 UTC, busiest minute 10:12` (the date once when both ends share it).
/// A busiest minute outside both ends' days, or on a `dated` (multi-day) report, has its date.
fn when(
    first: Option<&str>,
    last: Option<&str>,
    busiest: Option<&str>,
    dated: bool,
) -> Option<String> {
    let (first, last) = (first?, last?);
    let (d0, t0) = day_hm(first);
    let (d1, t1) = day_hm(last);
    let mut s = if d0 == d1 {
        format!("{d0} {t0}–{t1} UTC")
    } else {
        format!("{d0} {t0} – {d1} {t1} UTC")
    };
    if let Some(b) = busiest {
        let (bd, bt) = day_hm(b);
        if !dated && (bd == d0 || bd == d1) {
            let _ = write!(s, ", busiest minute {bt}");
        } else {
            let _ = write!(s, ", busiest minute {bd} {bt}");
        }
    }
    Some(s)
}

//! Rules: places each finding in time — its active window (first to last time of what it
//! counted, or its client's episodes when they bound it), its busiest minute, a score
//! re-expressed per hour of that window, and both in the headline — so a 20-minute incident
//! reads as one, and a burst of seconds is charged what it used instead of being extrapolated to
//! an hour. A finding is chronic, an episode, or ended ([`Temporal`]).

use std::fmt::Write as _;

use crate::model::cost;
use crate::model::finding::{Episode, Finding, Severity, Temporal, active_per_second};
use crate::model::report::{ClientRow, Report};
use crate::timefmt::{MINUTE_US, parse_rfc3339};

/// Episodes bound a finding when they cover at most this share of what it counted.
pub const EPISODE_SHARE: f64 = 0.5;
/// A finding last seen this long before the report's end (and [`ENDED_SPAN_SHARE`] of its
/// span) has stopped, µs.
pub const ENDED_GAP_US: i64 = 3600 * 1_000_000;
/// The share of the report's span a finding must have been quiet to have stopped.
pub const ENDED_SPAN_SHARE: f64 = 0.1;

/// Fills the finding's window (from its client when the rule had no times), narrows it to the
/// client's episodes when they bound it, re-expresses its score per hour of that window
/// ([`cost::rejudge`]), derives its severity again (never below the rule's floor) and appends
/// the window (and the active rate beside the window's) to the headline.
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
    let own_last = ev.last.clone();
    let mut first = ev.first.as_deref().and_then(parse_rfc3339);
    let mut last = ev.last.as_deref().and_then(parse_rfc3339);
    let bounded;
    (f.episodes, bounded) = bounding(client, first, last);
    if bounded {
        f.temporal = Temporal::Episode;
        let (a, b) = (&f.episodes[0], &f.episodes[f.episodes.len() - 1]);
        ev.first = Some(a.start.clone());
        ev.last = Some(b.end.clone());
        first = parse_rfc3339(&a.start);
        last = parse_rfc3339(&b.end);
        ev.busiest_minute = f
            .episodes
            .iter()
            .max_by(|x, y| x.peak_per_second.total_cmp(&y.peak_per_second))
            .map(|e| e.peak_minute.clone());
    }
    if stopped(own_last.as_deref(), r) {
        f.temporal = Temporal::Ended;
        f.stopped_at = own_last;
    }
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
    if let Some(c) = client.filter(|_| bounded) {
        ev.active_per_second = active_per_second(&f.episodes);
        ev.window_per_second = Some(c.mean_qps);
    }
    if let Some(w) = window_s {
        f.score = (cost::rejudge(f.score, r.summary.span_seconds, w) * 100.0).round() / 100.0;
        f.severity = Severity::from_score(f.score).max(f.floor);
    }
    // On a report of more than one day every time carries its date, the busiest minute too.
    let dated = r.summary.spans_days();
    let mut tail = when(
        ev.first.as_deref(),
        ev.last.as_deref(),
        ev.busiest_minute.as_deref(),
        dated,
    );
    if let (Some(active), Some(avg)) = (ev.active_per_second, ev.window_per_second) {
        let during = spans(&f.episodes);
        let t = tail.get_or_insert_with(String::new);
        let _ = write!(
            t,
            "; {}/s during {during}, {}/s over the {}",
            rate_words(active),
            rate_words(avg),
            span_words(r.summary.span_seconds)
        );
    }
    if let Some(at) = f.stopped_at.as_deref() {
        let (d, t) = day_hm(at);
        let s = tail.get_or_insert_with(String::new);
        let _ = write!(s, "; stopped at {d} {t} UTC");
    }
    if let Some(when) = tail {
        f.headline = format!("{} [{when}]", f.headline);
    }
}

/// The client's episodes that overlap `[first, last]`, and whether they bound it: they cover at
/// most [`EPISODE_SHARE`] of it.
fn bounding(c: Option<&ClientRow>, first: Option<i64>, last: Option<i64>) -> (Vec<Episode>, bool) {
    let eps = c.map_or_else(Vec::new, |c| overlapping(c, first, last));
    let bounded = first.zip(last).is_some_and(|(a, b)| {
        !eps.is_empty() && (episode_us(&eps) as f64) <= EPISODE_SHARE * (b - a + MINUTE_US) as f64
    });
    (eps, bounded)
}

/// Hours a rule judges its threshold rates over: the finding's own active window — its client's
/// episodes when they bound `[first, last]`, else `first` to `last` — as its score is
/// ([`place`]). At least an hour (or the report's span when shorter: a burst is judged as the
/// count it is, never extrapolated to an hour) and at most the span.
pub(crate) fn judged_hours(
    r: &Report,
    client: &str,
    first: Option<&str>,
    last: Option<&str>,
) -> f64 {
    let span = r.summary.span_seconds.max(60.0);
    let (a, b) = (first.and_then(parse_rfc3339), last.and_then(parse_rfc3339));
    let c = r.clients.iter().find(|c| c.client == client);
    let own = match bounding(c, a, b) {
        (eps, true) => episode_us(&eps) as f64 / 1e6,
        _ => match (a, b) {
            (Some(a), Some(b)) if b >= a => (b - a) as f64 / 1e6,
            _ => span,
        },
    };
    own.max(span.min(cost::MIN_WINDOW_S)).min(span) / 3600.0
}

/// The client's episodes that overlap `[first, last]` (all of them when it is unknown).
fn overlapping(c: &ClientRow, first: Option<i64>, last: Option<i64>) -> Vec<Episode> {
    c.episodes
        .iter()
        .filter(|e| {
            let (s, t) = (parse_rfc3339(&e.start), parse_rfc3339(&e.end));
            s.zip(t)
                .is_some_and(|(s, t)| first.is_none_or(|f| t > f) && last.is_none_or(|l| s <= l))
        })
        .cloned()
        .collect()
}

/// The minutes the episodes cover, µs.
fn episode_us(eps: &[Episode]) -> i64 {
    eps.iter().map(|e| e.minutes as i64 * MINUTE_US).sum()
}

/// Whether a finding last seen at `last` stopped long before the report's end (see
/// [`ENDED_GAP_US`]).
fn stopped(last: Option<&str>, r: &Report) -> bool {
    let end = r.summary.last_timestamp.as_deref().and_then(parse_rfc3339);
    let (Some(last), Some(end)) = (last.and_then(parse_rfc3339), end) else {
        return false;
    };
    let gap = (ENDED_GAP_US as f64).max(ENDED_SPAN_SHARE * r.summary.span_seconds * 1e6);
    (end - last) as f64 >= gap
}

/// `02:11–02:55` (with the date when the window spans days), episodes joined by `, `.
fn spans(eps: &[Episode]) -> String {
    let v: Vec<String> = eps
        .iter()
        .take(3)
        .map(|e| {
            let ((d0, t0), (d1, t1)) = (day_hm(&e.start), day_hm(&e.end));
            if d0 == d1 {
                format!("{d0} {t0}–{t1}")
            } else {
                format!("{d0} {t0} – {d1} {t1}")
            }
        })
        .collect();
    let more = eps.len().saturating_sub(3);
    if more > 0 {
        format!("{} and {more} more", v.join(", "))
    } else {
        v.join(", ")
    }
}

/// `90`, `1.5`, `0.40`: two significant figures under 10.
fn rate_words(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `7-day window`, `2-hour window`, `45-minute window`.
fn span_words(s: f64) -> String {
    if s >= 86_400.0 {
        format!("{:.0}-day window", s / 86_400.0)
    } else if s >= 3600.0 {
        format!("{:.0}-hour window", s / 3600.0)
    } else {
        format!("{:.0}-minute window", (s / 60.0).max(1.0))
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

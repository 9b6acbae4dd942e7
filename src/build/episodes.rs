//! Episodes: the spans of minutes in which one client departs from its own baseline, found in
//! its minutes of the per-client per-minute table (`aggregate::client_minutes`). No per-event
//! state: the input is at most one row per (client, minute) with a request, so the work and
//! memory are bounded by client cardinality × minutes of the window, whatever the log's length.
//!
//! A minute is *hot* when its requests, errors or seat time reach [`FACTOR`] times the client's
//! median minute of the window (zeros included) and at least a floor above it ([`FLOORS`]): a
//! controller that writes hourly and then loops at 90/s is hot during the loop only; a steady
//! 5/s client is never hot at 6/s. Hot minutes at most [`GAP_MINUTES`] apart are one episode;
//! an episode needs [`MIN_HOT_MINUTES`] hot minutes (one busy minute is a blip, not an incident).

use crate::aggregate::client_minutes::Minute;
use crate::aggregate::sketch::Span;
use crate::model::finding::Episode;
use crate::timefmt::{MINUTE_US, format_minute};

/// A window shorter than this (minutes) has no baseline to depart from: no episodes.
pub const MIN_WINDOW_MINUTES: i64 = 60;
/// How many times its median minute a signal must reach to be hot.
pub const FACTOR: u64 = 4;
/// How far above its median minute each signal must also be: requests, errors, seat-ms
/// (10 requests, 5 errors, 30 seat-seconds in a minute).
pub const FLOORS: [u64; 3] = [10, 5, 30_000];
/// Signal names, in [`FLOORS`]' order.
pub const SIGNALS: [&str; 3] = ["rate", "errors", "seats"];
/// Hot minutes at most this far apart (quiet minutes between them) belong to one episode.
pub const GAP_MINUTES: i64 = 5;
/// Hot minutes an episode needs.
pub const MIN_HOT_MINUTES: usize = 2;
/// Episodes kept per client: the ones with the most requests (a client with more has bursts,
/// not incidents, and its findings read as chronic).
pub const MAX_EPISODES: usize = 12;

fn signals(m: &Minute) -> [u64; 3] {
    [m.requests, m.errors, m.seat_ms]
}

/// The median of a signal over `total` minutes, given its non-zero minutes.
fn median(mut values: Vec<u64>, total: u64) -> u64 {
    values.sort_unstable();
    let zeros = total.saturating_sub(values.len() as u64);
    let mid = total / 2;
    if mid < zeros {
        0
    } else {
        values.get((mid - zeros) as usize).copied().unwrap_or(0)
    }
}

/// The client's episodes, earliest first, from its (minute, what it did) rows (any order) over
/// the report's `span`.
#[must_use]
pub fn detect(points: &[(i64, Minute)], span: Span) -> Vec<Episode> {
    let (Some(f), Some(l)) = (span.first, span.last) else {
        return Vec::new();
    };
    let total = l.div_euclid(MINUTE_US) - f.div_euclid(MINUTE_US) + 1;
    if total < MIN_WINDOW_MINUTES || points.is_empty() {
        return Vec::new();
    }
    let base: Vec<u64> = (0..3)
        .map(|k| {
            let v = points
                .iter()
                .map(|(_, m)| signals(m)[k])
                .filter(|v| *v > 0)
                .collect();
            median(v, total as u64)
        })
        .collect();
    let limit: Vec<u64> = (0..3)
        .map(|k| (base[k] * FACTOR).max(base[k] + FLOORS[k]))
        .collect();
    let mut pts = points.to_vec();
    pts.sort_unstable_by_key(|(m, _)| *m);
    let hot = |m: &Minute| -> Vec<&'static str> {
        let s = signals(m);
        (0..3)
            .filter(|&k| s[k] >= limit[k])
            .map(|k| SIGNALS[k])
            .collect()
    };
    // Runs of hot minutes: (first index, last index, hot minutes, signals).
    let mut runs: Vec<(usize, usize, usize, Vec<&'static str>)> = Vec::new();
    for (i, (m, v)) in pts.iter().enumerate() {
        let why = hot(v);
        if why.is_empty() {
            continue;
        }
        match runs.last_mut() {
            Some(r) if m - pts[r.1].0 <= GAP_MINUTES + 1 => {
                r.1 = i;
                r.2 += 1;
                for w in why {
                    if !r.3.contains(&w) {
                        r.3.push(w);
                    }
                }
            }
            _ => runs.push((i, i, 1, why)),
        }
    }
    let baseline = base[0] as f64 / 60.0;
    let mut eps: Vec<Episode> = runs
        .into_iter()
        .filter(|r| r.2 >= MIN_HOT_MINUTES)
        .map(|(a, b, _, mut why)| {
            why.sort_unstable_by_key(|w| SIGNALS.iter().position(|s| s == w));
            let inside = &pts[a..=b];
            let requests: u64 = inside.iter().map(|(_, v)| v.requests).sum();
            let (peak_at, peak) = inside
                .iter()
                .map(|(m, v)| (*m, v.requests))
                .fold((pts[a].0, 0), |p, x| if x.1 > p.1 { x } else { p });
            let (start, end) = (pts[a].0, pts[b].0 + 1);
            Episode {
                start: format_minute(start),
                end: format_minute(end),
                minutes: (end - start) as u64,
                peak_minute: format_minute(peak_at),
                peak_per_second: round3(peak as f64 / 60.0),
                requests,
                per_second: round3(requests as f64 / ((end - start) * 60) as f64),
                baseline_per_second: round3(baseline),
                signals: why,
            }
        })
        .collect();
    if eps.len() > MAX_EPISODES {
        eps.sort_by(|x, y| y.requests.cmp(&x.requests).then(x.start.cmp(&y.start)));
        eps.truncate(MAX_EPISODES);
        eps.sort_by(|x, y| x.start.cmp(&y.start));
    }
    eps
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(n: u64) -> Minute {
        Minute {
            requests: n,
            ..Minute::default()
        }
    }

    fn span(minutes: i64) -> Span {
        Span {
            first: Some(0),
            last: Some(minutes * MINUTE_US - 1),
        }
    }

    #[test]
    fn a_loop_over_an_hourly_writer_is_one_episode_and_its_bounds_are_the_loop() {
        // A week: one request an hour, then 90/s for 45 minutes on day 4 (minute 4,331), with a
        // quiet minute inside it.
        let mut pts: Vec<(i64, Minute)> = (0..7 * 24).map(|h| (h * 60 + 7, req(1))).collect();
        let start = 3 * 1440 + 131;
        pts.extend(
            (start..start + 45)
                .filter(|m| *m != start + 20)
                .map(|m| (m, req(5400 + u64::from(m == start + 9)))),
        );
        let eps = detect(&pts, span(7 * 1440));
        assert_eq!(eps.len(), 1, "{eps:?}");
        let e = &eps[0];
        assert_eq!(e.start, format_minute(start));
        assert_eq!(e.end, format_minute(start + 45));
        assert_eq!(e.peak_minute, format_minute(start + 9));
        assert_eq!(e.peak_per_second, 90.017);
        assert_eq!(e.requests, 44 * 5400 + 1);
        assert_eq!(e.signals, ["rate"]);
        assert_eq!(e.baseline_per_second, 0.0);
    }

    #[test]
    fn a_steady_client_has_none_and_short_windows_have_none() {
        let pts: Vec<(i64, Minute)> = (0..600).map(|m| (m, req(300 + (m % 7) as u64))).collect();
        assert!(detect(&pts, span(600)).is_empty());
        let burst: Vec<(i64, Minute)> = (0..30)
            .map(|m| (m, req(1 + 100 * (m % 2) as u64)))
            .collect();
        assert!(detect(&burst, span(30)).is_empty(), "under an hour");
    }

    #[test]
    fn errors_alone_make_an_episode_and_a_single_hot_minute_does_not() {
        let mut pts: Vec<(i64, Minute)> = (0..240).map(|m| (m, req(20))).collect();
        for (m, v) in &mut pts {
            if (100..110).contains(m) {
                v.errors = 15;
            }
            if *m == 200 {
                v.requests = 500;
            }
        }
        let eps = detect(&pts, span(240));
        assert_eq!(eps.len(), 1, "{eps:?}");
        assert_eq!(eps[0].signals, ["errors"]);
        assert_eq!(
            (eps[0].start.as_str(), eps[0].end.as_str()),
            (format_minute(100).as_str(), format_minute(110).as_str())
        );
        assert_eq!(eps[0].baseline_per_second, round3(20.0 / 60.0));
    }
}

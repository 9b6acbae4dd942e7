//! What the live view needs beyond one window's report: how long each finding has been active
//! (refresh after refresh) and whether its score is rising or falling, and the window's pulse
//! (requests/s, 429 and 5xx rates, success rate) from its timeline.

use rustc_hash::FxHashMap;

use crate::model::finding::Finding;
use crate::model::report::Report;
use crate::render::live::{Live, LiveFinding, Pulse, Trend};
use crate::timefmt::Micros;

/// A finding's identity across refreshes.
type Key = (&'static str, String, Option<String>, Option<String>);

fn key(f: &Finding) -> Key {
    (
        f.rule,
        f.client.clone(),
        f.resource.clone(),
        f.object.clone(),
    )
}

/// Scores change by more than this share before they count as rising or falling.
const STEADY: f64 = 0.05;

/// Findings seen in the last refresh: since when, and their last score.
#[derive(Default)]
pub(crate) struct History {
    active: FxHashMap<Key, (Micros, f64)>,
}

impl History {
    /// The live facts of `report` at `now`; a finding absent from the last refresh starts over.
    pub(crate) fn update(&mut self, report: &Report, now: Micros) -> Live {
        let mut next = FxHashMap::default();
        let findings = report
            .findings
            .iter()
            .map(|f| {
                let k = key(f);
                let (since, trend) = match self.active.get(&k) {
                    None => (now, Trend::New),
                    Some(&(since, before)) => (since, trend(before, f.score)),
                };
                next.insert(k, (since, f.score));
                LiveFinding {
                    active_s: ((now - since) / 1_000_000).max(0) as u64,
                    trend,
                }
            })
            .collect();
        self.active = next;
        Live {
            pulse: pulse(report),
            findings,
        }
    }
}

fn trend(before: f64, now: f64) -> Trend {
    if now > before * (1.0 + STEADY) {
        Trend::Rising
    } else if now < before * (1.0 - STEADY) {
        Trend::Falling
    } else {
        Trend::Steady
    }
}

/// The window's rates over its timeline.
fn pulse(report: &Report) -> Pulse {
    let t = &report.timeline;
    let sum = |f: fn(&crate::model::report::MinuteRow) -> u64| t.iter().map(f).sum::<u64>();
    let (requests, short) = (sum(|m| m.requests), sum(|m| m.short));
    let (throttled, server_errors) = (sum(|m| m.throttled), sum(|m| m.server_errors));
    let seconds = (t.len() as f64 * 60.0).max(60.0);
    let share = |n: u64| (short > 0).then(|| n as f64 / short as f64);
    Pulse {
        requests_per_s: requests as f64 / seconds,
        throttled_share: share(throttled),
        server_error_share: share(server_errors),
        success_rate: share(short.saturating_sub(throttled + server_errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_moves_past_five_percent_before_it_trends() {
        assert_eq!(trend(100.0, 104.0), Trend::Steady);
        assert_eq!(trend(100.0, 106.0), Trend::Rising);
        assert_eq!(trend(100.0, 94.0), Trend::Falling);
    }
}

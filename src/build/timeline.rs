//! Report: the `incident_timeline` section — the minutes below the success-rate SLO grouped
//! into dips, 429 and 5xx bursts, and for each dip the clients whose traffic departs from their
//! own baseline, ranked by how much of the dip they explain. Read from the cluster's per-minute
//! totals and the bounded per-client per-minute table (`aggregate::client_minutes`): no
//! per-event state.

use rustc_hash::FxHashMap;

use super::health::{SUCCESS_THRESHOLD, below_slo, worst_success};
use crate::aggregate::Aggregates;
use crate::aggregate::client_minutes::Failure;
use crate::aggregate::tables::MinuteTotals;
use crate::model::report::ClientRow;
use crate::model::rows::NameCount;
use crate::model::timeline::{Burst, Dip, DipClient, IncidentTimeline, MAX_DIP_CLIENTS};
use crate::timefmt::{MINUTE_US, format_minute, parse_rfc3339};

/// A window must be longer than this for a timeline: a few hours' report reads in one screen
/// already, and a baseline needs hours to mean anything.
pub const MIN_SPAN_HOURS: u64 = 6;
/// Minutes below the SLO with at most this many healthy minutes between them are one dip (an
/// incident flickers; five minutes is the SLO windows' length).
pub const MERGE_GAP_MINUTES: i64 = 5;
/// A burst minute has at least this many answers of its kind ...
const BURST_FLOOR: u64 = 10;
/// ... and this many times the window's mean per minute (a steady trickle of PDB 429s is no
/// burst).
const BURST_FACTOR: f64 = 3.0;
/// A client departs from its baseline in a dip when it sent more than this many times its
/// baseline rate (and at least one extra request per dip minute), or failed that many times
/// more often than its baseline failures predict (at least [`MIN_FAILED`] times).
const DEPARTURE_FACTOR: f64 = 2.0;
/// Fewest failed requests in a dip that can make a client depart on failures alone.
const MIN_FAILED: u64 = 3;

/// Sorted minutes into inclusive runs, bridging at most [`MERGE_GAP_MINUTES`] missing ones.
pub(crate) fn runs(minutes: impl IntoIterator<Item = i64>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for m in minutes {
        match out.last_mut() {
            Some((_, end)) if m - *end <= MERGE_GAP_MINUTES + 1 => *end = m,
            _ => out.push((m, m)),
        }
    }
    out
}

/// The run holding `minute`, if any (`runs` sorted and disjoint).
fn run_of(runs: &[(i64, i64)], minute: i64) -> Option<usize> {
    let i = runs.partition_point(|(start, _)| *start <= minute);
    (i > 0 && minute <= runs[i - 1].1).then(|| i - 1)
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Builds the incident timeline, or `None` for a window of at most [`MIN_SPAN_HOURS`].
#[must_use]
pub fn incident_timeline(a: &Aggregates) -> Option<IncidentTimeline> {
    let (first, last) = (a.cluster.span.first?, a.cluster.span.last?);
    if last - first <= i64::try_from(MIN_SPAN_HOURS).ok()? * 60 * MINUTE_US {
        return None;
    }
    let span_minutes = last.div_euclid(MINUTE_US) - first.div_euclid(MINUTE_US) + 1;
    let mut minutes: Vec<(i64, &MinuteTotals)> =
        a.cluster.minutes.iter().map(|(m, t)| (*m, t)).collect();
    minutes.sort_unstable_by_key(|(m, _)| *m);
    let ranges = runs(
        minutes
            .iter()
            .filter(|(_, t)| below_slo(t))
            .map(|(m, _)| *m),
    );
    Some(IncidentTimeline {
        min_span_hours: MIN_SPAN_HOURS,
        merge_gap_minutes: MERGE_GAP_MINUTES as u64,
        success_threshold: SUCCESS_THRESHOLD,
        dips: dips(a, &minutes, &ranges, span_minutes),
        throttle_bursts: bursts(a, &minutes, span_minutes, Failure::Throttled),
        error_bursts: bursts(a, &minutes, span_minutes, Failure::ServerError),
    })
}

/// Per client: requests inside each dip, requests outside every dip, and the same for failures.
#[derive(Default)]
struct ClientSplit {
    inside: FxHashMap<(usize, u32), u64>,
    outside: FxHashMap<u32, u64>,
    failed_inside: FxHashMap<(usize, u32), u64>,
    failed_outside: FxHashMap<u32, u64>,
}

impl ClientSplit {
    fn of(a: &Aggregates, ranges: &[(i64, i64)]) -> Self {
        let mut s = Self::default();
        let split = |inside: &mut FxHashMap<(usize, u32), u64>,
                     outside: &mut FxHashMap<u32, u64>,
                     (c, m, n): (u32, i64, u64)| match run_of(ranges, m) {
            Some(d) => *inside.entry((d, c)).or_default() += n,
            None => *outside.entry(c).or_default() += n,
        };
        for x in a.client_minutes.iter() {
            split(&mut s.inside, &mut s.outside, x);
        }
        for how in [Failure::Throttled, Failure::ServerError] {
            for x in a.client_minutes.failed(how) {
                split(&mut s.failed_inside, &mut s.failed_outside, x);
            }
        }
        s
    }
}

fn dips(
    a: &Aggregates,
    minutes: &[(i64, &MinuteTotals)],
    ranges: &[(i64, i64)],
    span_minutes: i64,
) -> Vec<Dip> {
    let split = ClientSplit::of(a, ranges);
    let dip_minutes: i64 = ranges.iter().map(|(s, e)| e - s + 1).sum();
    // Minutes outside every dip: the baseline's divisor (at least one).
    let outside_minutes = (span_minutes - dip_minutes).max(1) as f64;
    ranges
        .iter()
        .enumerate()
        .map(|(d, &(start, end))| {
            let inside: Vec<&(i64, &MinuteTotals)> = minutes
                .iter()
                .filter(|(m, _)| (start..=end).contains(m))
                .collect();
            let (worst_minute, worst) = inside
                .iter()
                .filter_map(|(m, t)| worst_success(t).map(|r| (*m, r)))
                .min_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)))
                .unwrap_or((start, 1.0));
            let requests = inside.iter().map(|(_, t)| t.short).sum();
            let throttled = inside.iter().map(|(_, t)| t.throttled).sum();
            let failed = inside
                .iter()
                .map(|(_, t)| t.server_errors + t.throttled)
                .sum::<u64>();
            let len = end - start + 1;
            Dip {
                start: format_minute(start),
                end: format_minute(end),
                minutes: len as u64,
                minutes_below: inside.iter().filter(|(_, t)| below_slo(t)).count() as u64,
                worst_minute: format_minute(worst_minute),
                worst_success_rate: round(worst, 4),
                requests,
                failed,
                throttled,
                clients: dip_clients(a, &split, d, len as f64, outside_minutes, failed),
            }
        })
        .collect()
}

/// The clients of dip `d` (`len` minutes long) that depart from their baseline, ranked.
fn dip_clients(
    a: &Aggregates,
    split: &ClientSplit,
    d: usize,
    len: f64,
    outside_minutes: f64,
    dip_failed: u64,
) -> Vec<DipClient> {
    let mut ids: Vec<u32> = split
        .inside
        .keys()
        .chain(split.failed_inside.keys())
        .filter(|(x, _)| *x == d)
        .map(|(_, c)| *c)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<(u32, u64, f64, u64, u64, bool)> = ids
        .into_iter()
        .map(|c| {
            let requests = split.inside.get(&(d, c)).copied().unwrap_or(0);
            let failed = split.failed_inside.get(&(d, c)).copied().unwrap_or(0);
            let baseline = split.outside.get(&c).copied().unwrap_or(0) as f64 / outside_minutes;
            let expected = baseline * len;
            let excess = (requests as f64 - expected).max(0.0).round() as u64;
            let expected_failed =
                split.failed_outside.get(&c).copied().unwrap_or(0) as f64 / outside_minutes * len;
            let departs = (requests as f64 > DEPARTURE_FACTOR * expected && excess as f64 >= len)
                || (failed >= MIN_FAILED && failed as f64 > DEPARTURE_FACTOR * expected_failed);
            (c, requests, baseline, excess, failed, departs)
        })
        .collect();
    let total_excess: u64 = rows.iter().map(|r| r.3).sum();
    let share = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let mut out: Vec<DipClient> = rows
        .into_iter()
        .filter(|r| r.5)
        .map(|(c, requests, baseline, excess, failed, _)| {
            let (fs, es) = (share(failed, dip_failed), share(excess, total_excess));
            DipClient {
                client: a.strings.name(c).to_owned(),
                requests,
                per_minute: round(requests as f64 / len, 2),
                baseline_per_minute: round(baseline, 2),
                excess,
                failed,
                failed_share: round(fs, 4),
                excess_share: round(es, 4),
                explains: round(f64::midpoint(fs, es), 4),
                episode: None,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.explains
            .total_cmp(&x.explains)
            .then_with(|| y.requests.cmp(&x.requests))
            .then_with(|| x.client.cmp(&y.client))
    });
    out.truncate(MAX_DIP_CLIENTS);
    out
}

/// Links each dip's clients to their own episode that overlaps the dip (the longest overlap),
/// once the client rows and their episodes are built: the dip says when the cluster hurt, the
/// episode when that client departed from its own baseline.
pub fn link_episodes(t: &mut IncidentTimeline, clients: &[ClientRow]) {
    let rows: FxHashMap<&str, &ClientRow> =
        clients.iter().map(|c| (c.client.as_str(), c)).collect();
    for d in &mut t.dips {
        let (Some(from), Some(to)) = (parse_rfc3339(&d.start), parse_rfc3339(&d.end)) else {
            continue;
        };
        // The dip's minutes are inclusive; an episode's end is exclusive.
        let to = to + MINUTE_US;
        for c in &mut d.clients {
            let Some(row) = rows.get(c.client.as_str()) else {
                continue;
            };
            c.episode = row
                .episodes
                .iter()
                .filter_map(|e| {
                    let (s, x) = (parse_rfc3339(&e.start)?, parse_rfc3339(&e.end)?);
                    let overlap = x.min(to) - s.max(from);
                    (overlap > 0).then_some((overlap, e))
                })
                .max_by_key(|(overlap, _)| *overlap)
                .map(|(_, e)| e.clone());
        }
    }
}

/// Bursts of one kind of failure: minutes with at least [`BURST_FLOOR`] answers of the kind
/// and [`BURST_FACTOR`] × the window's mean per minute, grouped like dips.
fn bursts(
    a: &Aggregates,
    minutes: &[(i64, &MinuteTotals)],
    span_minutes: i64,
    how: Failure,
) -> Vec<Burst> {
    let count = |t: &MinuteTotals| match how {
        Failure::Throttled => t.throttled,
        Failure::ServerError => t.server_errors,
    };
    let total: u64 = minutes.iter().map(|(_, t)| count(t)).sum();
    let floor = (BURST_FACTOR * total as f64 / span_minutes.max(1) as f64)
        .ceil()
        .max(BURST_FLOOR as f64) as u64;
    let ranges = runs(
        minutes
            .iter()
            .filter(|(_, t)| count(t) >= floor)
            .map(|(m, _)| *m),
    );
    let mut by_client: FxHashMap<(usize, u32), u64> = FxHashMap::default();
    for (c, m, n) in a.client_minutes.failed(how) {
        if let Some(b) = run_of(&ranges, m) {
            *by_client.entry((b, c)).or_default() += n;
        }
    }
    ranges
        .iter()
        .enumerate()
        .map(|(b, &(start, end))| {
            let inside = minutes.iter().filter(|(m, _)| (start..=end).contains(m));
            let (peak_minute, peak) = inside
                .clone()
                .map(|(m, t)| (*m, count(t)))
                .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)))
                .unwrap_or((start, 0));
            let mut clients: Vec<NameCount> = by_client
                .iter()
                .filter(|((x, _), _)| *x == b)
                .map(|((_, c), n)| NameCount {
                    name: a.strings.name(*c).to_owned(),
                    count: *n,
                })
                .collect();
            clients.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.name.cmp(&y.name)));
            clients.truncate(3);
            Burst {
                start: format_minute(start),
                end: format_minute(end),
                minutes: (end - start + 1) as u64,
                count: inside.map(|(_, t)| count(t)).sum(),
                peak_minute: format_minute(peak_minute),
                peak,
                clients,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_bridge_at_most_the_gap() {
        let gap = MERGE_GAP_MINUTES;
        assert_eq!(runs([1, 2, 3]), [(1, 3)]);
        assert_eq!(
            runs([1, 2 + gap]),
            [(1, 2 + gap)],
            "gap healthy minutes bridged"
        );
        assert_eq!(runs([1, 3 + gap]), [(1, 1), (3 + gap, 3 + gap)]);
        assert!(runs([]).is_empty());
    }

    #[test]
    fn run_of_finds_the_holding_run() {
        let r = [(1, 3), (10, 12)];
        assert_eq!(run_of(&r, 0), None);
        assert_eq!(run_of(&r, 1), Some(0));
        assert_eq!(run_of(&r, 3), Some(0));
        assert_eq!(run_of(&r, 5), None);
        assert_eq!(run_of(&r, 12), Some(1));
        assert_eq!(run_of(&r, 13), None);
    }
}

//! Insights: the clients table — every client's totals from `client-totals`, and minutes (series,
//! peaks, episodes) for the clients `client-qps` follows ([`super::follow`]) only.

use std::collections::BTreeMap;

use super::follow::{FOLLOWED_CLIENTS, Followed, client_of};
use super::{count, merged, minute_of};
use crate::aggregate::client_minutes::Minute;
use crate::aggregate::sketch::Span;
use crate::build::native::{fill_series, minute_stats, omitted_series};
use crate::insights::merge::sum_by;
use crate::insights::output::ResultSet;
use crate::model::limits::limit_minutes;
use crate::model::report::ClientRow;
use crate::model::rows::NameCount;
use crate::timefmt::{MINUTE_US, format_minute, format_rfc3339};

/// Per-client counts from other templates than client-totals.
pub(super) struct PerClient {
    pub(super) writes: BTreeMap<String, u64>,
    pub(super) lists: BTreeMap<String, u64>,
    pub(super) errors: BTreeMap<String, u64>,
}

/// A client's row, own span and (minute, requests).
type Built = (ClientRow, Span, Vec<(i64, u64)>);

/// The clients table: totals of every client (`users`: requests per client and user), minutes
/// (`points`) of the followed ones.
pub(super) fn rows(
    users: &BTreeMap<String, BTreeMap<String, u64>>,
    points: &BTreeMap<String, BTreeMap<i64, u64>>,
    followed: &Followed,
    per_client: &PerClient,
    span: Span,
    span_s: f64,
) -> Vec<ClientRow> {
    // Each client's row, own span and minutes, for the series budget below.
    let built: Vec<Built> = users
        .iter()
        .map(|(client, by_user)| {
            let pts: Vec<(i64, u64)> = points
                .get(client)
                .map(|p| p.iter().map(|(m, n)| (*m, *n)).collect())
                .unwrap_or_default();
            let (row, own) = row(client, by_user, &pts, per_client, span, span_s);
            (row, own, pts)
        })
        .collect();
    // Series for the followed clients only: the others have no minutes, and a dense series of
    // zeros would say they sent nothing. Within them, the same budget as the native report.
    let (mut kept, mut rows, mut spans, mut kept_points) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (row, own, pts) in built {
        if followed.has(&row.client) {
            kept.push(row);
            spans.push(own);
            kept_points.push(pts);
        } else {
            rows.push(row);
        }
    }
    let kept_points: Vec<&[(i64, u64)]> = kept_points.iter().map(Vec::as_slice).collect();
    fill_series(&mut kept, span, &spans, &kept_points);
    rows.extend(kept);
    crate::build::native::order::clients(&mut rows);
    rows
}

/// One client's row and own span; `pts` are its minutes (none when it is not followed).
fn row(
    client: &str,
    by_user: &BTreeMap<String, u64>,
    pts: &[(i64, u64)],
    per_client: &PerClient,
    span: Span,
    span_s: f64,
) -> (ClientRow, Span) {
    let own = Span {
        first: pts.first().map(|(m, _)| m * MINUTE_US),
        last: pts.last().map(|(m, _)| m * MINUTE_US + MINUTE_US - 1),
    };
    let (peak_qpm, peak_at, p99_qpm) = minute_stats(pts, span);
    let mut top_users: Vec<NameCount> = by_user
        .iter()
        .map(|(u, n)| NameCount {
            name: u.clone(),
            count: *n,
        })
        .collect();
    top_users.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.name.cmp(&y.name)));
    let distinct_users = top_users.len() as u64;
    top_users.truncate(5);
    let requests: u64 = by_user.values().sum();
    // The Insights rows count requests per minute only: episodes of rate.
    let minutes: Vec<(i64, Minute)> = pts
        .iter()
        .map(|&(m, requests)| {
            let n = Minute {
                requests,
                ..Minute::default()
            };
            (m, n)
        })
        .collect();
    let row = ClientRow {
        client: client.to_owned(),
        user: top_users
            .first()
            .map_or_else(String::new, |u| u.name.clone()),
        distinct_users,
        top_users,
        top_pods: Vec::new(),
        requests,
        reads: 0,
        writes: per_client.writes.get(client).copied().unwrap_or(0),
        lists: per_client.lists.get(client).copied().unwrap_or(0),
        watches: 0,
        errors: per_client.errors.get(client).copied().unwrap_or(0),
        long_running: 0,
        mean_qps: crate::build::native::rate(requests, span_s, 1.0),
        peak_qpm,
        peak_minute: peak_at.map(format_minute),
        p99_qpm,
        latency_ms: None,
        first: own.first.map(format_rfc3339),
        last: own.last.map(format_rfc3339),
        sample_audit_ids: Vec::new(),
        per_minute: omitted_series(span),
        seat_seconds_per_hour: 0.0,
        cost_share: 0.0,
        apf_seats: 0.0,
        dominant_cost: None,
        episodes: crate::build::episodes::detect(&minutes, span),
        limit_minutes: limit_minutes(pts.iter().map(|(_, n)| *n)),
    };
    (row, own)
}

/// Requests per minute of each followed client, from `client-qps`' answers (a row of a client
/// that shares a userAgent with a followed one is not followed itself: left out).
pub(super) fn followed_points(
    sets: &[&ResultSet],
    followed: &Followed,
) -> Result<BTreeMap<String, BTreeMap<i64, u64>>, String> {
    let qps = merged(
        "client-qps",
        sum_by(sets, &["minute", "user_agent", "username"], &["requests"]),
    )?;
    let mut points: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for (k, v) in &qps {
        let client = client_of(&k[1], &k[2]);
        if let Some(m) = minute_of(&k[0]).filter(|_| followed.has(&client)) {
            *points.entry(client).or_default().entry(m).or_default() += count(v[0]);
        }
    }
    Ok(points)
}

/// The coverage note on series: on this engine only the followed clients have minutes at all.
pub(super) fn series_note(rows: &[ClientRow]) -> Option<String> {
    let omitted = rows.iter().filter(|c| c.per_minute.omitted).count();
    (omitted > 0).then(|| {
        format!(
            "engine insights: per-minute series for {} of {} clients (client-qps counts the minutes of the {FOLLOWED_CLIENTS} busiest clients of client-totals only); the other {omitted} have `per_minute.omitted`, peak_qpm and p99_qpm 0, no peak_minute, first, last or episodes, and no minutes at a client rate limit (AS302)",
            rows.len() - omitted,
            rows.len(),
        )
    })
}

//! Report: turns merged [`Aggregates`] into the [`Report`] document — interned ids back to
//! strings, sketches to percentiles, rows sorted so the same input always gives the same bytes.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::series::sparse_stats;
use crate::aggregate::client_minutes::Minute;
use crate::aggregate::filter::{Filters, Window};
use crate::aggregate::ids::ClientId;
use crate::aggregate::objects::{BUSY_LEVELS, MAX_MINUTES_PER_OBJECT, split_key};
use crate::aggregate::sketch::{LatencySketch, Span};
use crate::aggregate::tables::{ClientStats, MinuteTotals, RV_SLOTS};
use crate::aggregate::{Aggregates, SLO_CLASSES};
use crate::decode::latency::LATENCY_PARTS;
use crate::decode::{Level, Stage};
use crate::model::health::SloRow;
use crate::model::limits::limit_minutes;
use crate::model::report::{
    BodyBytesRow, CallRow, ClientRow, CrdRow, DeprecatedRow, ErrorRow, InputRow,
    LatencyBreakdownRow, ListRow, MinuteRow, ObjectRow, ObjectTableRow, Report, RvRow, SCHEMA,
    Series, SkipRow, Skipped, Summary, Tool, WatchRow, WebhookRow, WindowRow, WriteRow,
};
use crate::model::rows::{LatencyRow, NameCount};
use crate::timefmt::{MINUTE_US, format_minute, format_rfc3339};

/// Objects listed in the report.
pub const MAX_OBJECT_ROWS: usize = 1000;

/// What the report is built from.
pub struct Inputs<'a> {
    /// Merged tables.
    pub aggregates: &'a Aggregates,
    /// Per-input read results.
    pub inputs: &'a [InputRow],
    /// The asked-for window.
    pub window: Window,
    /// The filters that made the selection (empty: the selection is the cluster).
    pub filters: &'a Filters,
    /// Warnings met on the way.
    pub warnings: Vec<String>,
    /// The CloudWatch download's summary, as JSON.
    pub cloudwatch: Option<serde_json::Value>,
}

fn time(t: Option<i64>) -> Option<String> {
    t.map(format_rfc3339)
}

fn latency(s: &LatencySketch) -> Option<LatencyRow> {
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    Some(LatencyRow {
        p50: round(s.quantile_ms(0.5)?),
        p90: round(s.quantile_ms(0.9)?),
        p99: round(s.quantile_ms(0.99)?),
        max: round(s.max_us as f64 / 1000.0),
        mean: round(s.mean_ms()?),
        samples: s.count,
    })
}

fn top(counts: &FxHashMap<u32, u64>, a: &Aggregates, n: usize) -> Vec<NameCount> {
    let mut v: Vec<NameCount> = counts
        .iter()
        .map(|(id, c)| NameCount {
            name: a.strings.name(*id).to_owned(),
            count: *c,
        })
        .collect();
    v.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.name.cmp(&y.name)));
    v.truncate(n);
    v
}

/// `count` per `per` seconds over the span (at least a minute), to 3 decimals.
pub(crate) fn rate(count: u64, span_s: f64, per: f64) -> f64 {
    let r = count as f64 / span_s.max(60.0) * per;
    (r * 1000.0).round() / 1000.0
}

/// Builds the report.
#[must_use]
pub fn build(inp: &Inputs) -> Report {
    let a = inp.aggregates;
    // Rates and rules read the cluster's span, so a filtered client's rates are its rates in
    // the cluster's window; the span is what the events cover (their stage times), while the
    // per-minute series keep the received time.
    let span = a.cluster.span;
    let covered = a.cluster.covered;
    let span_s = match (covered.first, covered.last) {
        (Some(f), Some(l)) => (l - f) as f64 / 1e6,
        _ => 0.0,
    };
    let consistent_cache = a.consistent_list_from_cache();
    let mut lists = list_rows(a, span_s, consistent_cache.unwrap_or(false));
    order::lists(&mut lists);
    let slo = slo_rows(a);
    let mut report = Report {
        schema: SCHEMA,
        tool: Tool {
            name: "audit-scan",
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: summary(inp, span_s),
        timeline: timeline(if inp.filters.is_empty() {
            &a.cluster.minutes
        } else {
            &a.selection.minutes
        }),
        watches: watch_rows(a, &lists),
        lists,
        clients: client_rows(a, span, span_s),
        crds: crd_rows(a),
        writes: write_rows(a, span_s),
        objects: object_rows(a),
        errors: error_rows(a),
        calls: call_rows(a),
        slo: slo.clone(),
        deprecated: deprecated_rows(a),
        webhooks: webhook_rows(a),
        latency_breakdown: latency_breakdown_rows(a),
        health: super::health::health(a, &slo),
        sizing: super::health::sizing(a),
        incident_timeline: super::timeline::incident_timeline(a),
        findings: Vec::new(),
        suppressed: Vec::new(),
    };
    if let Some(note) = omitted_note(&report.clients) {
        report.summary.coverage.push(note);
    }
    crate::rules::ledger::fill(&mut report);
    if let Some(t) = &mut report.incident_timeline {
        super::timeline::link_episodes(t, &report.clients);
    }
    let approximate = report
        .objects
        .iter()
        .filter(|o| o.minutes_approximate)
        .count();
    if approximate > 0 {
        report.summary.coverage.push(format!(
            "{approximate} objects were written in more than {MAX_MINUTES_PER_OBJECT} minutes and some writes arrived after their minute had been folded (out of time order, as when several files of one time range are read): their per-minute figures (`minutes_approximate`) may count a minute in two parts; a time-ordered log keeps them exact"
        ));
    }
    report
}

fn summary(inp: &Inputs, span_s: f64) -> Summary {
    let a = inp.aggregates;
    let s = &a.summary;
    let name_of = |origin: u32| {
        inp.inputs
            .get(origin as usize)
            .map_or_else(String::new, |i| i.name.clone())
    };
    let examples = s
        .examples
        .iter()
        .map(|e| SkipRow {
            input: name_of(e.pos.origin),
            line: s.line_number(e.pos),
            reason: e.reason.to_owned(),
            message: e.message.clone(),
        })
        .collect();
    let by_stage = Stage::ALL
        .iter()
        .zip(s.by_stage)
        .filter(|(_, n)| *n > 0)
        .map(|(st, n)| (st.name().to_owned(), n))
        .collect();
    let by_level = Level::ALL
        .iter()
        .zip(s.by_level)
        .filter(|(_, n)| *n > 0)
        .map(|(l, n)| (l.name().to_owned(), n))
        .collect();
    let mut warnings = inp.warnings.clone();
    let selection = super::selection::selection(a, inp.filters);
    if let Some(sel) = &selection {
        warnings.extend(super::selection::warnings(a, sel));
    }
    for i in inp.inputs {
        if let Some(e) = &i.error {
            warnings.push(format!("{}: {e}", i.name));
        }
    }
    Summary {
        inputs: inp.inputs.to_vec(),
        lines: s.lines,
        blank_lines: s.blank_lines,
        events: s.events,
        events_by_stage: by_stage,
        events_by_level: by_level,
        requests: s.requests,
        long_running: s.long_running,
        untimed: s.untimed,
        truncated: s.truncated,
        outside_window: s.outside_window,
        filtered_out: s.filtered_out,
        skipped: Skipped {
            total: s.skipped_total(),
            by_reason: s
                .skipped
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>(),
            examples,
        },
        first_timestamp: time(a.cluster.covered.first),
        last_timestamp: time(a.cluster.covered.last),
        span_seconds: span_s,
        window: inp.window.is_set().then(|| WindowRow {
            since: time(inp.window.since),
            until: time(inp.window.until),
        }),
        server_version: a
            .cluster
            .server_version
            .map(|(ma, mi)| format!("{ma}.{mi}")),
        consistent_list_from_cache: a.consistent_list_from_cache(),
        object_table: ObjectTableRow {
            tracked: a.objects.len() as u64,
            pruned: a.objects.pruned,
            max_count_error: a.objects.max_pruned_count,
        },
        coverage: coverage(a),
        warnings,
        selection,
        skipped_files: Vec::new(),
        config: None,
        cloudwatch: inp.cloudwatch.clone(),
        engine: None,
        insights: None,
        follow: None,
    }
}

fn coverage(a: &Aggregates) -> Vec<String> {
    let s = &a.summary;
    let cl = &a.cluster;
    let mut c = Vec::new();
    if s.events == 0 {
        c.push("no audit events were read".to_owned());
        return c;
    }
    if s.by_stage[0] == 0 {
        c.push("no RequestReceived events: the audit policy omits that stage (EKS' does); requests are counted from ResponseComplete".to_owned());
    }
    if !s.saw_events_resource {
        c.push("no requests on the `events` resource: the policy may drop them (EKS' does), so event-recording load is not visible".to_owned());
    }
    if s.by_level[2] == 0 {
        c.push("no RequestResponse-level events: without response bodies, no-op updates cannot be judged".to_owned());
    }
    if cl.no_user_agent > 0 {
        c.push(format!(
            "{} requests carry no userAgent: their client is named after the user",
            cl.no_user_agent
        ));
    }
    if s.folded_identities > 0 {
        c.push(format!(
            "{} requests came from userAgent × user pairs beyond the first {} distinct ones per worker: their userAgents, users (and clients past {}) are folded into `(other …)` rows; totals stay exact",
            s.folded_identities,
            crate::aggregate::MAX_IDENTITIES,
            crate::aggregate::MAX_CLIENTS
        ));
    }
    if s.folded_clients > 0 || s.folded_lists > 0 {
        c.push(format!(
            "more than {} distinct clients or {} LIST rows per worker: {} new userAgent × user pairs were counted as `(other clients)` and {} LISTs in `(other userAgents)` rows; totals stay exact",
            crate::aggregate::MAX_CLIENTS,
            crate::aggregate::MAX_LIST_ROWS,
            s.folded_clients,
            s.folded_lists
        ));
    }
    if cl.no_latency > 0 {
        c.push(format!("{} short requests lack requestReceivedTimestamp or stageTimestamp: no latency for them", cl.no_latency));
    }
    if cl.untimed > 0 {
        c.push(format!(
            "{} requests have no timestamp at all: counted, but outside the per-minute series",
            cl.untimed
        ));
    }
    if cl.server_version.is_none() {
        c.push("no kube-apiserver or kube-controller-manager userAgent: server version unknown, so consistent LISTs are assumed to be served by etcd".to_owned());
    }
    c
}

fn timeline(minutes: &FxHashMap<i64, MinuteTotals>) -> Vec<MinuteRow> {
    let mut mins: Vec<_> = minutes.iter().collect();
    mins.sort_by_key(|(m, _)| **m);
    mins.into_iter()
        .map(|(m, t)| MinuteRow {
            minute: format_minute(*m),
            requests: t.requests,
            short: t.short,
            server_errors: t.server_errors,
            throttled: t.throttled,
            writes: t.writes,
            success_rate: (t.short > 0).then(|| {
                let ok = 1.0 - (t.server_errors + t.throttled) as f64 / t.short as f64;
                (ok * 10_000.0).round() / 10_000.0
            }),
        })
        .collect()
}

fn list_rows(a: &Aggregates, span_s: f64, consistent_cache: bool) -> Vec<ListRow> {
    a.lists
        .iter()
        .map(|((ua, client, res), l)| {
            // Inferred from resourceVersion semantics and the server version, except where the
            // etcd annotation says most of the LIST's time went to etcd: those came from etcd.
            let (mut cache, mut etcd, mut by_annotation) = (0, 0, 0);
            for (((sem, n), limited), evidence) in RV_SLOTS
                .iter()
                .zip(l.rv)
                .zip(l.rv_limited)
                .zip(l.etcd_majority)
            {
                for (count, is_limited) in [(n - limited, false), (limited, true)] {
                    if sem.from_cache(is_limited, consistent_cache) {
                        let proven = evidence[usize::from(is_limited)].min(count);
                        cache += count - proven;
                        etcd += proven;
                        by_annotation += proven;
                    } else {
                        etcd += count;
                    }
                }
            }
            ListRow {
                user_agent: a.strings.name(*ua).to_owned(),
                client: a.strings.name(*client).to_owned(),
                resource: a.strings.name(*res).to_owned(),
                count: l.count,
                per_hour: rate(l.count, span_s, 3600.0),
                latency_ms: latency(&l.latency),
                cluster_scope: l.cluster_scope,
                namespaced: l.namespaced,
                resource_version: RvRow {
                    consistent: l.rv[0],
                    any: l.rv[1],
                    not_older_than: l.rv[2],
                    exact: l.rv[3],
                    legacy_exact: l.rv[4],
                    continue_pages: l.rv[5],
                },
                served_from_cache: cache,
                served_from_etcd: etcd,
                etcd_annotated: l.etcd_annotated,
                etcd_by_annotation: by_annotation,
                etcd_annotation_ms: (l.etcd_us as f64 / 1000.0).round(),
                paginated: l.with_limit,
                cluster_paginated: l.cluster_limited,
                continue_pages: l.continued,
                label_selector: l.label_selector,
                field_selector: l.field_selector,
                errors: l.errors,
                first: time(l.span.first),
                last: time(l.span.last),
                sample_audit_ids: l.samples.ids(),
            }
        })
        .collect()
}

/// The longest dense per-minute series written (31 days): one far-future timestamp must not
/// allocate a minute for every minute in between.
pub const MAX_SERIES_MINUTES: i64 = 31 * 24 * 60;

/// Dense per-minute cells kept over all clients' series (about 10 MB of JSON): a one-hour log
/// keeps every client's series, a week-long one the ~200 busiest. Past it a client's
/// `per_minute` is omitted; its peak and p99 per minute are exact all the same.
pub const MAX_SERIES_CELLS: u64 = 2_000_000;
/// The busiest clients by requests, whose series are always kept (the charts draw them).
pub const MIN_SERIES_CLIENTS: usize = 20;

/// A client's peak per minute, the earliest peak minute and p99 per minute over the report span.
pub(crate) fn minute_stats(points: &[(i64, u64)], span: Span) -> (u64, Option<i64>, u64) {
    let (Some(f), Some(l)) = (span.first, span.last) else {
        return (0, None, 0);
    };
    let (f, l) = (f.div_euclid(MINUTE_US), l.div_euclid(MINUTE_US));
    sparse_stats(points, (l - f + 1) as u64)
}

/// The minutes a client's dense series covers: the report's span when it is short enough, else
/// the client's own span, cut at [`MAX_SERIES_MINUTES`].
fn series_range(own: Span, span: Span) -> Option<(i64, i64)> {
    let (f, l) = (span.first?, span.last?);
    let (f, l) = (f.div_euclid(MINUTE_US), l.div_euclid(MINUTE_US));
    if l - f < MAX_SERIES_MINUTES {
        return Some((f, l));
    }
    let cf = own.first.map_or(f, |t| t.div_euclid(MINUTE_US));
    let cl = own.last.map_or(l, |t| t.div_euclid(MINUTE_US));
    Some((cf, cl.min(cf + MAX_SERIES_MINUTES - 1)))
}

/// Cells a client's dense series would take.
fn series_cells(own: Span, span: Span) -> u64 {
    series_range(own, span).map_or(0, |(s, e)| (e - s + 1).max(0) as u64)
}

/// A client's dense per-minute series.
fn dense_series(points: &[(i64, u64)], own: Span, span: Span) -> Series {
    let Some((start, end)) = series_range(own, span) else {
        return Series::default();
    };
    let by_minute: FxHashMap<i64, u64> = points.iter().copied().collect();
    Series {
        start: Some(format_minute(start)),
        counts: (start..=end)
            .map(|m| by_minute.get(&m).copied().unwrap_or(0))
            .collect(),
        truncated: points.iter().any(|(m, _)| *m < start || *m > end),
        omitted: false,
    }
}

/// The series of a client past the budget: no counts.
pub(crate) fn omitted_series(span: Span) -> Series {
    Series {
        start: span.first.map(|t| format_minute(t.div_euclid(MINUTE_US))),
        omitted: span.first.is_some(),
        ..Series::default()
    }
}

/// Which clients keep a dense series (`cells[i]` minutes for `rows[i]`): the
/// [`MIN_SERIES_CLIENTS`] busiest by requests, then by peak per minute (the clients that matter
/// to a rate chart and to AS302), until [`MAX_SERIES_CELLS`]. Ties go by name, so the choice
/// does not depend on thread count.
fn series_keepers(rows: &[ClientRow], cells: &[u64]) -> Vec<bool> {
    let mut keep = vec![false; rows.len()];
    let mut by_requests: Vec<usize> = (0..rows.len()).collect();
    by_requests.sort_by(|&x, &y| order::client(&rows[x], &rows[y]));
    let mut used = 0u64;
    for &i in by_requests.iter().take(MIN_SERIES_CLIENTS) {
        keep[i] = true;
        used += cells[i];
    }
    let mut by_peak = by_requests;
    by_peak.sort_by(|&x, &y| {
        let (a, b) = (&rows[x], &rows[y]);
        (b.peak_qpm, b.requests)
            .cmp(&(a.peak_qpm, a.requests))
            .then_with(|| a.client.cmp(&b.client))
    });
    for i in by_peak {
        if !keep[i] && used + cells[i] <= MAX_SERIES_CELLS {
            keep[i] = true;
            used += cells[i];
        }
    }
    keep
}

/// Gives the clients that keep a series ([`series_keepers`]) their dense one; `own[i]` and
/// `points[i]` are the span and the (minute, requests) of `rows[i]`. Both report builders use it.
pub(crate) fn fill_series(
    rows: &mut [ClientRow],
    span: Span,
    own: &[Span],
    points: &[&[(i64, u64)]],
) {
    let cells: Vec<u64> = own.iter().map(|o| series_cells(*o, span)).collect();
    let keep = series_keepers(rows, &cells);
    for (i, row) in rows.iter_mut().enumerate() {
        if keep[i] {
            row.per_minute = dense_series(points[i], own[i], span);
        }
    }
}

/// The coverage note when some clients' series were omitted.
pub(crate) fn omitted_note(rows: &[ClientRow]) -> Option<String> {
    let omitted = rows.iter().filter(|c| c.per_minute.omitted).count();
    (omitted > 0).then(|| {
        format!(
            "per-minute series kept for {} of {} clients (the busiest, within {} minute cells); the other {omitted} have `per_minute.omitted` (their peak and p99 per minute are exact)",
            rows.len() - omitted,
            rows.len(),
            MAX_SERIES_CELLS
        )
    })
}

fn client_row(
    a: &Aggregates,
    id: ClientId,
    c: &ClientStats,
    points: &[(i64, u64)],
    span: Span,
    span_s: f64,
) -> ClientRow {
    let (peak_qpm, peak_at, p99_qpm) = minute_stats(points, span);
    let top_users = top(&c.users, a, 5);
    ClientRow {
        client: a.strings.name(id).to_owned(),
        user: top_users
            .first()
            .map_or_else(String::new, |u| u.name.clone()),
        distinct_users: c.users.len() as u64,
        top_users,
        top_pods: top(&c.pods, a, 5),
        requests: c.requests,
        reads: c.reads,
        writes: c.writes,
        lists: c.lists,
        watches: c.watches,
        errors: c.errors,
        long_running: c.long_running,
        mean_qps: rate(c.requests, span_s, 1.0),
        peak_qpm,
        peak_minute: peak_at.map(format_minute),
        p99_qpm,
        latency_ms: latency(&client_latency(a, id)),
        first: time(c.span.first),
        last: time(c.span.last),
        sample_audit_ids: c.samples.ids(),
        per_minute: omitted_series(span),
        seat_seconds_per_hour: 0.0,
        cost_share: 0.0,
        apf_seats: 0.0,
        dominant_cost: None,
        episodes: Vec::new(),
        limit_minutes: limit_minutes(points.iter().map(|(_, n)| *n)),
    }
}

/// A client's latency: its resource requests of every SLO class, merged (one sketch add per
/// request on the hot path instead of two).
fn client_latency(a: &Aggregates, client: ClientId) -> LatencySketch {
    let mut l = LatencySketch::default();
    for class in 0..SLO_CLASSES.len() as u8 {
        if let Some(s) = a.slo.get(&(client, class)) {
            l.merge(s);
        }
    }
    l
}

fn client_rows(a: &Aggregates, span: Span, span_s: f64) -> Vec<ClientRow> {
    // One pass over the (client, minute) counts, grouped by client.
    let mut points: FxHashMap<u32, Vec<(i64, u64)>> = FxHashMap::default();
    let mut minutes: FxHashMap<u32, Vec<(i64, Minute)>> = FxHashMap::default();
    for (c, m, n) in a.client_minutes.minutes() {
        points.entry(c).or_default().push((m, n.requests));
        minutes.entry(c).or_default().push((m, n));
    }
    let pts = |id: &ClientId| points.get(&id.0).map_or(&[][..], Vec::as_slice);
    let (ids, mut rows): (Vec<ClientId>, Vec<ClientRow>) = a
        .clients
        .iter()
        .map(|(id, c)| {
            let mut row = client_row(a, *id, c, pts(id), span, span_s);
            row.episodes = minutes
                .get(&id.0)
                .map_or_else(Vec::new, |m| super::episodes::detect(m, span));
            (*id, row)
        })
        .unzip();
    drop(minutes);
    // Dense series only for the clients that keep one: a week of 5,000 clients is 50 million
    // minutes, which no reader wants and the report must not hold.
    let own: Vec<Span> = ids.iter().map(|id| a.clients[id].span).collect();
    let points: Vec<&[(i64, u64)]> = ids.iter().map(pts).collect();
    fill_series(&mut rows, span, &own, &points);
    order::clients(&mut rows);
    rows
}

fn crd_rows(a: &Aggregates) -> Vec<CrdRow> {
    let n = |id: &u32| a.strings.name(*id).to_owned();
    let mut rows: Vec<CrdRow> = a
        .crds
        .iter()
        .map(|((g, r, v, c), s)| CrdRow {
            group: n(g),
            resource: n(r),
            verb: n(v),
            client: a.strings.name(*c).to_owned(),
            count: s.count,
            errors: s.errors,
            latency_ms: latency(&s.latency),
            first: time(s.span.first),
            last: time(s.span.last),
        })
        .collect();
    order::crds(&mut rows);
    rows
}

fn write_rows(a: &Aggregates, span_s: f64) -> Vec<WriteRow> {
    let n = |id: &u32| a.strings.name(*id).to_owned();
    let mut rows: Vec<WriteRow> = a
        .writes
        .iter()
        .map(|((c, r, v, sub), w)| WriteRow {
            client: a.strings.name(*c).to_owned(),
            resource: a.strings.name(*r).to_owned(),
            subresource: n(sub),
            verb: n(v),
            count: w.count,
            per_second: rate(w.count, span_s, 1.0),
            noop: w.noop,
            noop_judged: w.judged,
            first: time(w.span.first),
            last: time(w.span.last),
            sample_audit_ids: w.samples.ids(),
            noop_sample_audit_ids: w.noop_samples.ids(),
            body_bytes: BodyBytesRow::of(w.bodies),
        })
        .collect();
    order::writes(&mut rows);
    rows
}

fn object_rows(a: &Aggregates) -> Vec<ObjectRow> {
    let mut objs: Vec<_> = a.objects.iter().collect();
    objs.sort_by(|(ka, x), (kb, y)| y.count.cmp(&x.count).then_with(|| ka.cmp(kb)));
    objs.truncate(MAX_OBJECT_ROWS);
    objs.into_iter()
        .map(|(k, o)| {
            let (group, resource, namespace, name) = split_key(k);
            let mut writers: Vec<NameCount> = o
                .writers
                .iter()
                .map(|(c, n)| NameCount {
                    name: a.strings.name(*c).to_owned(),
                    count: *n,
                })
                .collect();
            writers.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.name.cmp(&y.name)));
            let peak = o.peak_minute();
            ObjectRow {
                group: group.to_owned(),
                resource: resource.to_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                writes: o.count,
                status_writes: o.status_writes,
                noop: o.noop,
                writers,
                peak_minute: peak.map(|(m, _)| format_minute(m)),
                peak_writes: peak.map_or(0, |(_, c)| u64::from(c)),
                multi_writer_minutes: o.multi_writer_minutes(),
                active_minutes: o.active_minutes(),
                busy_minutes: BUSY_LEVELS
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.to_string(), o.busy_minutes(i)))
                    .collect(),
                minutes_approximate: o.folded.approximate,
                conflicts: o.conflicts,
                first: time(o.span.first),
                last: time(o.span.last),
                sample_audit_ids: o.samples.ids(),
                body_bytes: BodyBytesRow::of(o.bodies),
            }
        })
        .collect()
}

/// Classifies an error response. A 409 is a conflict (an optimistic-concurrency failure) unless
/// its reason is `AlreadyExists`, which a create answers when the object exists — or, when the
/// log dropped the reason, unless it answered a create (which cannot conflict otherwise).
#[must_use]
pub fn error_kind(code: u16, reason: &str, verb: &str) -> &'static str {
    match (code, reason) {
        (409, "AlreadyExists") => "already_exists",
        (409, "") if verb == "create" => "already_exists",
        (409, _) => "conflict",
        (429, _) => "throttled",
        (404, _) => "not_found",
        (401, _) => "unauthorized",
        (403, _) => "forbidden",
        (500.., _) => "server_error",
        _ => "client_error",
    }
}

fn error_rows(a: &Aggregates) -> Vec<ErrorRow> {
    let n = |id: &u32| a.strings.name(*id).to_owned();
    let mut rows: Vec<ErrorRow> = a
        .errors
        .iter()
        .map(|((c, code, reason, verb, res), e)| ErrorRow {
            client: a.strings.name(*c).to_owned(),
            code: *code,
            reason: n(reason),
            kind: error_kind(*code, a.strings.name(*reason), a.strings.name(*verb)),
            verb: n(verb),
            resource: n(res),
            count: e.count,
            first: time(e.span.first),
            last: time(e.span.last),
            sample_audit_ids: e.samples.ids(),
        })
        .collect();
    order::errors(&mut rows);
    rows
}

fn watch_rows(a: &Aggregates, lists: &[ListRow]) -> Vec<WatchRow> {
    let mut relists: FxHashMap<(&str, &str), u64> = FxHashMap::default();
    for l in lists {
        *relists
            .entry((l.client.as_str(), l.resource.as_str()))
            .or_default() += l.count;
    }
    let mut rows: Vec<WatchRow> = a
        .watches
        .iter()
        .map(|((c, r), w)| {
            let (client, resource) = (a.strings.name(*c), a.strings.name(*r));
            WatchRow {
                client: client.to_owned(),
                resource: resource.to_owned(),
                count: w.count,
                duration_ms: latency(&w.duration),
                with_timeout: w.with_timeout,
                mean_timeout_s: (w.with_timeout > 0)
                    .then(|| w.timeout_sum_s as f64 / w.with_timeout as f64),
                timed: w.timed_with_timeout,
                ended_early: w.ended_early,
                initial_events: w.initial_events,
                lists: relists.get(&(client, resource)).copied().unwrap_or(0),
                errors: w.errors,
                first: time(w.span.first),
                last: time(w.span.last),
                sample_audit_ids: w.early_samples.ids(),
            }
        })
        .collect();
    rows.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| (&x.client, &x.resource).cmp(&(&y.client, &y.resource)))
    });
    rows
}

fn slo_rows(a: &Aggregates) -> Vec<SloRow> {
    let mut rows: Vec<SloRow> = a
        .slo
        .iter()
        .map(|((c, class), l)| {
            let (name, threshold_s) = SLO_CLASSES[usize::from(*class)];
            let latency_ms = latency(l);
            SloRow {
                client: a.strings.name(*c).to_owned(),
                class: name.to_owned(),
                threshold_s,
                over: latency_ms.is_some_and(|l| l.p99 > threshold_s * 1000.0),
                latency_ms,
                sample_audit_ids: a
                    .slo_slow
                    .get(&(*c, *class))
                    .map(crate::aggregate::sketch::Samples::ids)
                    .unwrap_or_default(),
            }
        })
        .collect();
    rows.sort_by(|x, y| (&x.client, &x.class).cmp(&(&y.client, &y.class)));
    rows
}

fn deprecated_rows(a: &Aggregates) -> Vec<DeprecatedRow> {
    let n = |id: &u32| a.strings.name(*id).to_owned();
    let mut rows: Vec<DeprecatedRow> = a
        .deprecated
        .iter()
        .map(|((c, api, removed), d)| DeprecatedRow {
            client: a.strings.name(*c).to_owned(),
            api: n(api),
            removed_release: Some(n(removed)).filter(|r| !r.is_empty()),
            count: d.count,
            first: time(d.span.first),
            last: time(d.span.last),
            sample_audit_ids: d.samples.ids(),
        })
        .collect();
    rows.sort_by(|x, y| {
        y.count.cmp(&x.count).then_with(|| {
            (&x.client, &x.api, &x.removed_release).cmp(&(&y.client, &y.api, &y.removed_release))
        })
    });
    rows
}

fn call_rows(a: &Aggregates) -> Vec<CallRow> {
    let n = |id: &u32| a.strings.name(*id).to_owned();
    let mut rows: Vec<CallRow> = a
        .calls
        .iter()
        .map(|((c, v, r, sub), count)| CallRow {
            client: a.strings.name(*c).to_owned(),
            verb: n(v),
            resource: if a.strings.name(*sub).is_empty() {
                a.strings.name(*r).to_owned()
            } else {
                format!("{}/{}", a.strings.name(*r), n(sub))
            },
            count: *count,
        })
        .collect();
    rows.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| (&x.client, &x.verb, &x.resource).cmp(&(&y.client, &y.verb, &y.resource)))
    });
    rows
}

fn latency_breakdown_rows(a: &Aggregates) -> Vec<LatencyBreakdownRow> {
    let mut rows: Vec<(u64, LatencyBreakdownRow)> = a
        .latency_parts
        .iter()
        .map(|((c, res, class), p)| {
            let n = p.requests.max(1) as f64;
            let mean = |us: u64| (us as f64 / n).round() / 1000.0;
            let parts_ms: BTreeMap<String, f64> = LATENCY_PARTS
                .iter()
                .zip(p.parts_us)
                .filter(|(_, us)| *us > 0)
                .map(|(name, us)| ((*name).to_owned(), mean(us)))
                .collect();
            let accounted: u64 = p.parts_us.iter().sum();
            let row = LatencyBreakdownRow {
                client: a.strings.name(*c).to_owned(),
                resource: a.strings.name(*res).to_owned(),
                class: SLO_CLASSES[usize::from(*class)].0.to_owned(),
                requests: p.requests,
                mean_ms: mean(p.latency_us),
                parts_ms,
                other_ms: mean(p.latency_us.saturating_sub(accounted)),
            };
            (p.latency_us, row)
        })
        .collect();
    rows.sort_by(|(x, a), (y, b)| {
        y.cmp(x).then_with(|| {
            (&a.client, &a.resource, &a.class).cmp(&(&b.client, &b.resource, &b.class))
        })
    });
    rows.into_iter().map(|(_, r)| r).collect()
}

fn webhook_rows(a: &Aggregates) -> Vec<WebhookRow> {
    let mut rows: Vec<WebhookRow> = a
        .webhooks
        .iter()
        .map(|(id, w)| WebhookRow {
            webhook: a.strings.name(*id).to_owned(),
            requests: w.requests,
            latency_ms: latency(&w.latency),
            failed_open: w.failed_open,
            failed_closed: w.failed_closed,
            first: time(w.span.first),
            last: time(w.span.last),
            clients_waited: w.victims.len(),
            waited: top(&w.victims, a, 10),
            sample_audit_ids: w.samples.ids(),
        })
        .collect();
    rows.sort_by(|x, y| {
        y.requests
            .cmp(&x.requests)
            .then_with(|| x.webhook.cmp(&y.webhook))
    });
    rows
}

/// Row orders shared by every engine that builds a report: most first, then by key, so
/// reports are deterministic and comparable.
pub(crate) mod order {
    use crate::model::report::{ClientRow, CrdRow, ErrorRow, ListRow, WriteRow};

    /// lists: the report's row order.
    pub(crate) fn lists(rows: &mut [ListRow]) {
        rows.sort_by(|x, y| {
            y.count.cmp(&x.count).then_with(|| {
                (&x.user_agent, &x.client, &x.resource).cmp(&(
                    &y.user_agent,
                    &y.client,
                    &y.resource,
                ))
            })
        });
    }

    /// clients: the report's row order.
    pub(crate) fn clients(rows: &mut [ClientRow]) {
        rows.sort_by(client);
    }

    /// The clients' order: requests descending, then name.
    pub(crate) fn client(x: &ClientRow, y: &ClientRow) -> std::cmp::Ordering {
        y.requests
            .cmp(&x.requests)
            .then_with(|| x.client.cmp(&y.client))
    }

    /// crds: the report's row order.
    pub(crate) fn crds(rows: &mut [CrdRow]) {
        rows.sort_by(|x, y| {
            y.count.cmp(&x.count).then_with(|| {
                (&x.group, &x.resource, &x.verb, &x.client).cmp(&(
                    &y.group,
                    &y.resource,
                    &y.verb,
                    &y.client,
                ))
            })
        });
    }

    /// writes: the report's row order.
    pub(crate) fn writes(rows: &mut [WriteRow]) {
        rows.sort_by(|x, y| {
            y.count.cmp(&x.count).then_with(|| {
                (&x.client, &x.resource, &x.verb, &x.subresource).cmp(&(
                    &y.client,
                    &y.resource,
                    &y.verb,
                    &y.subresource,
                ))
            })
        });
    }

    /// errors: the report's row order.
    pub(crate) fn errors(rows: &mut [ErrorRow]) {
        rows.sort_by(|x, y| {
            y.count.cmp(&x.count).then_with(|| {
                (&x.client, x.code, &x.reason, &x.verb, &x.resource).cmp(&(
                    &y.client,
                    y.code,
                    &y.reason,
                    &y.verb,
                    &y.resource,
                ))
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_stats_count_the_zeros() {
        // 100 minutes, 2 busy: p99 is the larger busy minute only if fewer than 99 minutes are zero.
        assert_eq!(sparse_stats(&[(5, 10), (9, 30)], 100), (30, Some(9), 10));
        assert_eq!(sparse_stats(&[(5, 10), (9, 30)], 1000), (30, Some(9), 0));
        assert_eq!(
            sparse_stats(&[(7, 4), (3, 4)], 10),
            (4, Some(3), 4),
            "earliest of equal peaks"
        );
        assert_eq!(sparse_stats(&[], 0), (0, None, 0));
    }
}

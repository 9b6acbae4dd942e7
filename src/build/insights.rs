//! Insights: the `audit-scan/report/v1` report built from merged template rows — which templates
//! feed which section ([`TEMPLATES`]), and what this engine cannot compute ([`COVERAGE`]).
//! Sub-window rows merge with [`crate::insights::merge`]: counts add, LIST percentiles come from the
//! merged histogram bins, max is the max of maxima and mean the sample-weighted mean.

mod clients;
pub mod follow;

use std::collections::BTreeMap;

use crate::aggregate::Aggregates;
use crate::aggregate::filter::Window;
use crate::aggregate::sketch::Span;
use crate::build::native::{Inputs, MAX_OBJECT_ROWS, build, error_kind};
use crate::decode::client::client_name;
use crate::insights::engine::Done;
use crate::insights::merge::{Histogram, histograms, sum_by};
use crate::insights::output::ResultSet;
use crate::insights::template;
use crate::model::report::{
    CrdRow, ErrorRow, ListRow, MinuteRow, ObjectRow, Report, RvRow, WriteRow,
};
use crate::model::rows::LatencyRow;
use crate::timefmt::{MINUTE_US, format_minute, format_rfc3339, parse_rfc3339};
use follow::{client_of, shown_user};

/// The templates the report is built from, in plan order, with the sections they feed.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("client-totals", "clients, summary.requests"),
    ("minute-totals", "timeline.requests"),
    (
        "client-qps",
        "clients.per_minute and peaks of the 20 busiest clients (after client-totals)",
    ),
    ("success-rate", "timeline"),
    ("list-latency", "lists (count, max, mean)"),
    ("list-latency-histogram", "lists (p50, p90, p99)"),
    ("crd-calls", "crds"),
    ("write-load", "writes, clients.writes"),
    ("most-written-objects", "objects"),
    ("errors-by-client", "errors, clients.errors"),
    ("log-volume", "summary.events, summary.events_by_stage"),
];

/// What the insights engine leaves empty or approximates (`summary.coverage`).
pub const COVERAGE: &[&str] = &[
    "engine insights: built from Logs Insights aggregates, not from the events; these sections are left empty: watches, calls, slo, deprecated, webhooks, health, sizing (APF seat estimate)",
    "engine insights: lists have counts and latency only (no resourceVersion semantics, cache/etcd split, pagination, selectors, errors or sample auditIDs); a list row's client is its userAgent's busiest user's",
    "engine insights: LIST p50/p90/p99 are read off log-spaced histogram bins merged across sub-windows (within 4.9% of a value of that rank); max and mean are exact",
    "engine insights: writes have no no-op judgement; objects have no writers, per-minute alternation, busy minutes, conflicts or sample auditIDs",
    "engine insights: clients have requests, writes, lists and errors; errors count only 404/409/429/5xx answers; reads, watches, long-running and latency are not computed",
    "engine insights: timeline writes are not computed; first/last times are minutes",
];

/// Rendered query bodies, one per [`TEMPLATES`] entry, every template's `limit` at `row_limit`
/// (a result that long is capped and its sub-window split), through `filterIndex` where a
/// template declares one when `field_indexes` (`--use-field-indexes`).
///
/// # Errors
/// A template that does not render (a bug).
pub fn queries(row_limit: usize, field_indexes: bool) -> Result<Vec<String>, String> {
    TEMPLATES
        .iter()
        .map(|(name, _)| {
            let t = template::find(name)?;
            let mut p = BTreeMap::new();
            p.insert("limit".to_owned(), row_limit.to_string());
            if t.params.iter().any(|p| p.name == "period") {
                p.insert("period".to_owned(), "1h".to_owned());
            }
            t.render_indexed(&p, field_indexes)
        })
        .collect()
}

/// [`queries`], each with its template's name (for the engine's errors).
///
/// # Errors
/// A template that does not render (a bug).
pub fn named_queries(
    row_limit: usize,
    field_indexes: bool,
) -> Result<Vec<crate::insights::engine::Named>, String> {
    let queries = queries(row_limit, field_indexes)?;
    Ok(TEMPLATES
        .iter()
        .zip(queries)
        .map(|((name, _), q)| crate::insights::engine::Named::new(name, q))
        .collect())
}

/// Facts about the run, for `summary.insights`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunFacts {
    /// Log group queried.
    pub log_group: String,
    /// Queries that ran, capped ones that were split and rerun included.
    pub queries: usize,
    /// Sub-windows kept per template.
    pub sub_windows: BTreeMap<String, usize>,
    /// Sum of `statistics.bytesScanned` over every query run: the bill; null when the service
    /// sent no statistics (an emulator, the local evaluator).
    pub bytes_scanned: Option<f64>,
    /// Sub-windows still capped at the shortest window: their rows may be incomplete.
    pub cut: usize,
}

type Key = Vec<String>;

pub use follow::NODE_USERS;

fn sets_of(done: &[Done], template: usize) -> Vec<&ResultSet> {
    done.iter()
        .filter(|d| d.job.template == template)
        .map(|d| &d.answer.result)
        .collect()
}

fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}

fn count(v: f64) -> u64 {
    v.max(0.0).round() as u64
}

fn minute_of(text: &str) -> Option<i64> {
    parse_rfc3339(&format!("{text}:00Z")).map(|us| us.div_euclid(MINUTE_US))
}

/// Fails when a result lacks a template's `count(*)` column: the service did not run the query
/// as written (an emulator ignores `stats`). Other absent columns are null (merge::sum_by).
fn merged<T>(what: &str, r: Result<T, String>) -> Result<T, String> {
    r.map_err(|e| crate::insights::merge::raw_records_error(what, &e))
}

/// Builds the report from the merged rows of every sub-window.
///
/// # Errors
/// Rows without the template's columns.
#[allow(clippy::too_many_lines)]
pub fn build_report(done: &[Done], window: Window, facts: &RunFacts) -> Result<Report, String> {
    let idx = |name: &str| TEMPLATES.iter().position(|(n, _)| *n == name).unwrap_or(0);
    let sets = |name: &str| sets_of(done, idx(name));
    let mut report = build(&Inputs {
        aggregates: &Aggregates::default(),
        inputs: &[],
        window,
        filters: &crate::aggregate::filter::Filters::default(),
        warnings: Vec::new(),
        cloudwatch: None,
    });

    // Clients, from client-totals; the followed clients' minutes, from client-qps.
    let totals_sets = sets("client-totals");
    let totals = merged(
        "client-totals",
        sum_by(&totals_sets, &["user_agent", "username"], &["requests"]),
    )?;
    let mut users: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut ua_users: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut requests = 0;
    for (k, v) in &totals {
        let (ua, user) = (&k[0], shown_user(&k[1]).to_owned());
        let n = count(v[0]);
        requests += n;
        *users
            .entry(client_of(ua, &k[1]))
            .or_default()
            .entry(user.clone())
            .or_default() += n;
        *ua_users
            .entry(ua.clone())
            .or_default()
            .entry(user)
            .or_default() += n;
    }
    let followed = merged("client-totals", follow::followed(&totals_sets))?;
    let points = clients::followed_points(&sets("client-qps"), &followed)?;
    let minute_requests: BTreeMap<i64, u64> = merged(
        "minute-totals",
        sum_by(&sets("minute-totals"), &["minute"], &["requests"]),
    )?
    .iter()
    .filter_map(|(k, v)| Some((minute_of(&k[0])?, count(v[0]))))
    .collect();
    let span = Span {
        first: minute_requests.keys().next().map(|m| m * MINUTE_US),
        last: minute_requests
            .keys()
            .next_back()
            .map(|m| m * MINUTE_US + MINUTE_US - 1),
    };
    let span_s = match (span.first, span.last) {
        (Some(f), Some(l)) => (l + 1 - f) as f64 / 1e6,
        _ => 0.0,
    };
    // A list row's client: its userAgent with the user seen most often with it.
    let client_of_ua = |ua: &str| {
        let user = ua_users
            .get(ua)
            .and_then(|u| {
                u.iter()
                    .max_by_key(|(name, n)| (**n, std::cmp::Reverse(*name)))
            })
            .map_or("", |(u, _)| u.as_str());
        client_name((!ua.is_empty()).then_some(ua), user)
    };

    // Timeline, from success-rate plus minute-totals.
    let rate_rows = merged(
        "success-rate",
        sum_by(
            &sets("success-rate"),
            &["minute"],
            &["short", "server_errors", "throttled"],
        ),
    )?;
    let mut minutes: BTreeMap<i64, [u64; 4]> = minute_requests
        .iter()
        .map(|(m, n)| (*m, [*n, 0, 0, 0]))
        .collect();
    for (k, v) in &rate_rows {
        if let Some(m) = minute_of(&k[0]) {
            let e = minutes.entry(m).or_default();
            e[1] += count(v[0]);
            e[2] += count(v[1]);
            e[3] += count(v[2]);
        }
    }
    report.timeline = minutes
        .iter()
        .map(|(m, [req, short, e5, t429])| MinuteRow {
            minute: format_minute(*m),
            requests: *req,
            short: *short,
            server_errors: *e5,
            throttled: *t429,
            writes: 0,
            success_rate: (*short > 0).then(|| {
                let ok = 1.0 - (e5 + t429) as f64 / *short as f64;
                (ok * 10_000.0).round() / 10_000.0
            }),
        })
        .collect();

    // Lists: counts, max and mean from list-latency; percentiles from the merged histogram.
    let list_keys = ["user_agent", "resource", "api_group"];
    let list_sets = sets("list-latency");
    let list_counts = merged(
        "list-latency",
        sum_by(&list_sets, &list_keys, &["lists", "latency_samples"]),
    )?;
    let mut max_mean: BTreeMap<Key, (f64, f64)> = BTreeMap::new();
    for rs in &list_sets {
        for row in rs.objects() {
            let s = |c: &str| row.get(c).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            let f = |c: &str| s(c).parse::<f64>().ok();
            let (Some(max), Some(avg), Some(n)) = (f("max_ms"), f("avg_ms"), f("latency_samples"))
            else {
                continue;
            };
            let e = max_mean
                .entry(list_keys.iter().map(|c| s(c)).collect())
                .or_default();
            e.0 = e.0.max(max);
            e.1 += avg * n;
        }
    }
    let hists: BTreeMap<Key, Histogram> = merged(
        "list-latency-histogram",
        histograms(
            &sets("list-latency-histogram"),
            &list_keys,
            "bucket",
            "lists",
        ),
    )?;
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let mut client_lists: BTreeMap<String, u64> = BTreeMap::new();
    report.lists = list_counts
        .iter()
        .map(|(k, v)| {
            let (n, samples) = (count(v[0]), count(v[1]));
            let client = client_of_ua(&k[0]);
            *client_lists.entry(client.clone()).or_default() += n;
            let latency_ms = hists.get(k).filter(|_| samples > 0).and_then(|h| {
                let (max, weighted) = max_mean.get(k).copied().unwrap_or_default();
                Some(LatencyRow {
                    p50: round(h.percentile(50.0)?),
                    p90: round(h.percentile(90.0)?),
                    p99: round(h.percentile(99.0)?),
                    max: round(max),
                    mean: round(weighted / samples as f64),
                    samples,
                })
            });
            ListRow {
                user_agent: k[0].clone(),
                client,
                resource: qualified(&k[1], &k[2]),
                count: n,
                per_hour: crate::build::native::rate(n, span_s, 3600.0),
                latency_ms,
                cluster_scope: 0,
                namespaced: 0,
                resource_version: RvRow {
                    consistent: 0,
                    any: 0,
                    not_older_than: 0,
                    exact: 0,
                    legacy_exact: 0,
                    continue_pages: 0,
                },
                served_from_cache: 0,
                served_from_etcd: 0,
                etcd_annotated: 0,
                etcd_by_annotation: 0,
                etcd_annotation_ms: 0.0,
                paginated: 0,
                cluster_paginated: 0,
                continue_pages: 0,
                label_selector: 0,
                field_selector: 0,
                errors: 0,
                first: None,
                last: None,
                sample_audit_ids: Vec::new(),
            }
        })
        .collect();
    crate::build::native::order::lists(&mut report.lists);

    // CRDs.
    let crds = merged(
        "crd-calls",
        sum_by(
            &sets("crd-calls"),
            &["api_group", "resource", "verb", "user_agent", "username"],
            &["requests", "errors"],
        ),
    )?;
    let mut crd_rows: BTreeMap<(String, String, String, String), (u64, u64)> = BTreeMap::new();
    for (k, v) in &crds {
        let client = client_name((!k[3].is_empty()).then_some(k[3].as_str()), &k[4]);
        let e = crd_rows
            .entry((k[0].clone(), k[1].clone(), k[2].clone(), client))
            .or_default();
        e.0 += count(v[0]);
        e.1 += count(v[1]);
    }
    report.crds = crd_rows
        .into_iter()
        .map(|((group, resource, verb, client), (n, errors))| CrdRow {
            group,
            resource,
            verb,
            client,
            count: n,
            errors,
            latency_ms: None,
            first: None,
            last: None,
        })
        .collect();
    crate::build::native::order::crds(&mut report.crds);

    // Writes.
    let writes = merged(
        "write-load",
        sum_by(
            &sets("write-load"),
            &[
                "user_agent",
                "username",
                "resource",
                "api_group",
                "subresource",
                "verb",
            ],
            &["writes"],
        ),
    )?;
    let mut write_rows: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    let mut client_writes: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in &writes {
        let client = client_name((!k[0].is_empty()).then_some(k[0].as_str()), &k[1]);
        *client_writes.entry(client.clone()).or_default() += count(v[0]);
        *write_rows
            .entry((client, qualified(&k[2], &k[3]), k[4].clone(), k[5].clone()))
            .or_default() += count(v[0]);
    }
    report.writes = write_rows
        .into_iter()
        .map(|((client, resource, subresource, verb), n)| WriteRow {
            client,
            resource,
            subresource,
            verb,
            count: n,
            per_second: crate::build::native::rate(n, span_s, 1.0),
            noop: 0,
            noop_judged: 0,
            first: None,
            last: None,
            sample_audit_ids: Vec::new(),
            noop_sample_audit_ids: Vec::new(),
            body_bytes: None,
        })
        .collect();
    crate::build::native::order::writes(&mut report.writes);

    // Objects: complete per sub-window (an uncapped result holds every object), so counts add.
    let objects = merged(
        "most-written-objects",
        sum_by(
            &sets("most-written-objects"),
            &["api_group", "resource", "namespace", "name"],
            &["writes"],
        ),
    )?;
    let mut object_rows: Vec<ObjectRow> = objects
        .into_iter()
        .map(|(k, v)| ObjectRow {
            group: k[0].clone(),
            resource: k[1].clone(),
            namespace: k[2].clone(),
            name: k[3].clone(),
            writes: count(v[0]),
            status_writes: 0,
            noop: 0,
            writers: Vec::new(),
            peak_minute: None,
            peak_writes: 0,
            multi_writer_minutes: 0,
            active_minutes: 0,
            minutes_approximate: false,
            busy_minutes: BTreeMap::new(),
            conflicts: 0,
            first: None,
            last: None,
            sample_audit_ids: Vec::new(),
            body_bytes: None,
        })
        .collect();
    object_rows.sort_by(|x, y| {
        y.writes.cmp(&x.writes).then_with(|| {
            (&x.group, &x.resource, &x.namespace, &x.name).cmp(&(
                &y.group,
                &y.resource,
                &y.namespace,
                &y.name,
            ))
        })
    });
    object_rows.truncate(MAX_OBJECT_ROWS);
    report.objects = object_rows;

    // Errors.
    let errors = merged(
        "errors-by-client",
        sum_by(
            &sets("errors-by-client"),
            &[
                "user_agent",
                "username",
                "code",
                "reason",
                "verb",
                "resource",
                "api_group",
                "subresource",
            ],
            &["responses"],
        ),
    )?;
    let mut error_rows: BTreeMap<(String, u16, String, String, String), u64> = BTreeMap::new();
    let mut client_errors: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in &errors {
        let client = client_name((!k[0].is_empty()).then_some(k[0].as_str()), &k[1]);
        let code: u16 = k[2].parse::<f64>().map_or(0, |c| c as u16);
        let mut target = qualified(&k[5], &k[6]);
        if !k[7].is_empty() {
            target = format!("{target}/{}", k[7]);
        }
        *client_errors.entry(client.clone()).or_default() += count(v[0]);
        *error_rows
            .entry((client, code, k[3].clone(), k[4].clone(), target))
            .or_default() += count(v[0]);
    }
    report.errors = error_rows
        .into_iter()
        .map(|((client, code, reason, verb, resource), n)| ErrorRow {
            kind: error_kind(code, &reason, &verb),
            client,
            code,
            reason,
            verb,
            resource,
            count: n,
            first: None,
            last: None,
            sample_audit_ids: Vec::new(),
        })
        .collect();
    crate::build::native::order::errors(&mut report.errors);

    // Clients.
    let per_client = clients::PerClient {
        writes: client_writes,
        lists: client_lists,
        errors: client_errors,
    };
    report.clients = clients::rows(&users, &points, &followed, &per_client, span, span_s);

    // Summary.
    let volume = merged(
        "log-volume",
        sum_by(&sets("log-volume"), &["audit_stage"], &["records", "bytes"]),
    )?;
    let s = &mut report.summary;
    s.events_by_stage = volume
        .iter()
        .filter(|(k, _)| !k[0].is_empty())
        .map(|(k, v)| (k[0].clone(), count(v[0])))
        .collect();
    // Other streams of the log group have no stage (the CloudWatch runner filters them out).
    s.events = s.events_by_stage.values().sum();
    s.lines = s.events;
    s.requests = requests;
    s.first_timestamp = span.first.map(format_rfc3339);
    s.last_timestamp = span.last.map(format_rfc3339);
    s.span_seconds = span_s;
    s.coverage = COVERAGE.iter().map(|c| (*c).to_owned()).collect();
    s.coverage.extend(clients::series_note(&report.clients));
    s.engine = Some("insights".to_owned());
    s.insights = Some(serde_json::to_value(facts).map_err(|e| e.to_string())?);
    if facts.cut > 0 {
        s.warnings.push(format!(
            "{} Logs Insights sub-window(s) still hit the row limit at the shortest window: some rows are missing",
            facts.cut
        ));
    }
    crate::rules::ledger::fill(&mut report);
    Ok(report)
}

//! `--export DIR`: every table of the report as its own file (CSV, Parquet or NDJSON), built
//! with polars. Column names are stable and documented in `docs/exports.md`; they follow the
//! JSON report's field names, with nested latency figures flattened (`p99_ms`).
//!
//! The tables are built once as plain columns ([`Table`]), so which tables and columns exist
//! does not depend on the `polars` feature; only writing them does.

use std::path::{Path, PathBuf};

use crate::model::report::Report;
use crate::model::rows::LatencyRow;

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    Ndjson,
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::Ndjson => "ndjson",
        }
    }
}

/// One column's values.
#[derive(Debug, Clone)]
pub enum Values {
    /// Text (`None`: null).
    Str(Vec<Option<String>>),
    /// Times as the JSON report writes them (RFC 3339 UTC; `None`: null): text in CSV and
    /// NDJSON, `Timestamp(µs, UTC)` in Parquet.
    Time(Vec<Option<String>>),
    /// Counts.
    U64(Vec<u64>),
    /// Rates, latencies (`None`: null).
    F64(Vec<Option<f64>>),
    /// Flags.
    Bool(Vec<bool>),
}

/// One exported table.
#[derive(Debug, Clone)]
pub struct Table {
    /// File stem (`lists` → `lists.csv`).
    pub name: &'static str,
    /// Rows.
    pub height: usize,
    /// Columns in order.
    pub columns: Vec<(&'static str, Values)>,
}

/// Builds a table column by column from rows of type `R`.
struct Builder<'a, R> {
    rows: &'a [R],
    table: Table,
}

impl<'a, R> Builder<'a, R> {
    fn new(name: &'static str, rows: &'a [R]) -> Self {
        Self {
            rows,
            table: Table {
                name,
                height: rows.len(),
                columns: Vec::new(),
            },
        }
    }
    fn str(mut self, col: &'static str, f: impl Fn(&R) -> Option<String>) -> Self {
        let v = self.rows.iter().map(f).collect();
        self.table.columns.push((col, Values::Str(v)));
        self
    }
    fn time(mut self, col: &'static str, f: impl Fn(&R) -> Option<String>) -> Self {
        let v = self.rows.iter().map(f).collect();
        self.table.columns.push((col, Values::Time(v)));
        self
    }
    fn u64(mut self, col: &'static str, f: impl Fn(&R) -> u64) -> Self {
        let v = self.rows.iter().map(f).collect();
        self.table.columns.push((col, Values::U64(v)));
        self
    }
    fn f64(mut self, col: &'static str, f: impl Fn(&R) -> Option<f64>) -> Self {
        let v = self.rows.iter().map(f).collect();
        self.table.columns.push((col, Values::F64(v)));
        self
    }
    fn bool(mut self, col: &'static str, f: impl Fn(&R) -> bool) -> Self {
        let v = self.rows.iter().map(f).collect();
        self.table.columns.push((col, Values::Bool(v)));
        self
    }
    /// `p50_ms`, `p90_ms`, `p99_ms`, `max_ms`, `mean_ms` and `latency_samples`.
    fn latency(self, f: impl Fn(&R) -> Option<&LatencyRow> + Copy) -> Self {
        self.f64("p50_ms", move |r| f(r).map(|l| l.p50))
            .f64("p90_ms", move |r| f(r).map(|l| l.p90))
            .f64("p99_ms", move |r| f(r).map(|l| l.p99))
            .f64("max_ms", move |r| f(r).map(|l| l.max))
            .f64("mean_ms", move |r| f(r).map(|l| l.mean))
            .u64("latency_samples", move |r| f(r).map_or(0, |l| l.samples))
    }
    fn done(self) -> Table {
        self.table
    }
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "a text cell of a column whose cells are optional (`Column::Str`)"
)]
fn s(x: &str) -> Option<String> {
    Some(x.to_owned())
}

/// One row of the long per-client, per-minute table.
struct ClientMinute<'a> {
    client: &'a str,
    minute: crate::timefmt::Micros,
    requests: u64,
}

/// The report's tables, as exported.
#[must_use]
#[allow(clippy::too_many_lines)] // one block per table, read top to bottom
pub fn tables(r: &Report) -> Vec<Table> {
    let timeline = Builder::new("timeline", &r.timeline)
        .time("minute", |m| s(&m.minute))
        .u64("requests", |m| m.requests)
        .u64("short", |m| m.short)
        .u64("server_errors", |m| m.server_errors)
        .u64("throttled", |m| m.throttled)
        .u64("writes", |m| m.writes)
        .f64("success_rate", |m| m.success_rate)
        .done();
    let lists = Builder::new("lists", &r.lists)
        .str("user_agent", |l| s(&l.user_agent))
        .str("client", |l| s(&l.client))
        .str("resource", |l| s(&l.resource))
        .u64("count", |l| l.count)
        .f64("per_hour", |l| Some(l.per_hour))
        .latency(|l| l.latency_ms.as_ref())
        .u64("cluster_scope", |l| l.cluster_scope)
        .u64("namespaced", |l| l.namespaced)
        .u64("served_from_cache", |l| l.served_from_cache)
        .u64("served_from_etcd", |l| l.served_from_etcd)
        .u64("paginated", |l| l.paginated)
        .u64("continue_pages", |l| l.continue_pages)
        .u64("label_selector", |l| l.label_selector)
        .u64("field_selector", |l| l.field_selector)
        .u64("errors", |l| l.errors)
        .time("first", |l| l.first.clone())
        .time("last", |l| l.last.clone())
        .done();
    let clients = Builder::new("clients", &r.clients)
        .str("client", |c| s(&c.client))
        .str("user", |c| s(&c.user))
        .u64("distinct_users", |c| c.distinct_users)
        .u64("requests", |c| c.requests)
        .u64("reads", |c| c.reads)
        .u64("writes", |c| c.writes)
        .u64("lists", |c| c.lists)
        .u64("watches", |c| c.watches)
        .u64("errors", |c| c.errors)
        .u64("long_running", |c| c.long_running)
        .f64("mean_qps", |c| Some(c.mean_qps))
        .u64("peak_qpm", |c| c.peak_qpm)
        .time("peak_minute", |c| c.peak_minute.clone())
        .u64("p99_qpm", |c| c.p99_qpm)
        .latency(|c| c.latency_ms.as_ref())
        .time("first", |c| c.first.clone())
        .time("last", |c| c.last.clone())
        .f64("seat_seconds_per_hour", |c| Some(c.seat_seconds_per_hour))
        .f64("cost_share", |c| Some(c.cost_share))
        .f64("apf_seats", |c| Some(c.apf_seats))
        .str("dominant_cost", |c| c.dominant_cost.clone())
        .str("top_pod", |c| c.top_pods.first().map(|p| p.name.clone()))
        .done();
    let minutes: Vec<ClientMinute> = r
        .clients
        .iter()
        .flat_map(|c| {
            crate::render::points(&c.per_minute).map(|(minute, requests)| ClientMinute {
                client: &c.client,
                minute,
                requests,
            })
        })
        .collect();
    let client_minutes = Builder::new("client_minutes", &minutes)
        .str("client", |m| Some(m.client.to_owned()))
        .time("minute", |m| Some(crate::timefmt::format_rfc3339(m.minute)))
        .u64("requests", |m| m.requests)
        .done();
    let crds = Builder::new("crds", &r.crds)
        .str("group", |c| s(&c.group))
        .str("resource", |c| s(&c.resource))
        .str("verb", |c| s(&c.verb))
        .str("client", |c| s(&c.client))
        .u64("count", |c| c.count)
        .u64("errors", |c| c.errors)
        .latency(|c| c.latency_ms.as_ref())
        .time("first", |c| c.first.clone())
        .time("last", |c| c.last.clone())
        .done();
    let writes = Builder::new("writes", &r.writes)
        .str("client", |w| s(&w.client))
        .str("resource", |w| s(&w.resource))
        .str("subresource", |w| s(&w.subresource))
        .str("verb", |w| s(&w.verb))
        .u64("count", |w| w.count)
        .f64("per_second", |w| Some(w.per_second))
        .u64("noop", |w| w.noop)
        .u64("noop_judged", |w| w.noop_judged)
        .time("first", |w| w.first.clone())
        .time("last", |w| w.last.clone())
        .done();
    let objects = Builder::new("objects", &r.objects)
        .str("group", |o| s(&o.group))
        .str("resource", |o| s(&o.resource))
        .str("namespace", |o| s(&o.namespace))
        .str("name", |o| s(&o.name))
        .u64("writes", |o| o.writes)
        .u64("status_writes", |o| o.status_writes)
        .u64("noop", |o| o.noop)
        .str("top_writer", |o| o.writers.first().map(|w| w.name.clone()))
        .u64("writers", |o| o.writers.len() as u64)
        .time("peak_minute", |o| o.peak_minute.clone())
        .u64("peak_writes", |o| o.peak_writes)
        .u64("multi_writer_minutes", |o| o.multi_writer_minutes)
        .u64("active_minutes", |o| o.active_minutes)
        .bool("minutes_approximate", |o| o.minutes_approximate)
        .u64("conflicts", |o| o.conflicts)
        .time("first", |o| o.first.clone())
        .time("last", |o| o.last.clone())
        .done();
    let errors = Builder::new("errors", &r.errors)
        .str("client", |e| s(&e.client))
        .u64("code", |e| u64::from(e.code))
        .str("reason", |e| s(&e.reason))
        .str("kind", |e| s(e.kind))
        .str("verb", |e| s(&e.verb))
        .str("resource", |e| s(&e.resource))
        .u64("count", |e| e.count)
        .time("first", |e| e.first.clone())
        .time("last", |e| e.last.clone())
        .done();
    let watches = Builder::new("watches", &r.watches)
        .str("client", |w| s(&w.client))
        .str("resource", |w| s(&w.resource))
        .u64("count", |w| w.count)
        .f64("p50_duration_ms", |w| w.duration_ms.as_ref().map(|l| l.p50))
        .u64("with_timeout", |w| w.with_timeout)
        .f64("mean_timeout_s", |w| w.mean_timeout_s)
        .u64("ended_early", |w| w.ended_early)
        .u64("initial_events", |w| w.initial_events)
        .u64("lists", |w| w.lists)
        .u64("errors", |w| w.errors)
        .time("first", |w| w.first.clone())
        .time("last", |w| w.last.clone())
        .done();
    let findings = finding_columns(Builder::new("findings", &r.findings)).done();
    let suppressed = finding_columns(Builder::new("suppressed", &r.suppressed))
        .str("reason", |f| f.suppressed.clone())
        .done();
    let calls = Builder::new("calls", &r.calls)
        .str("client", |c| s(&c.client))
        .str("verb", |c| s(&c.verb))
        .str("resource", |c| s(&c.resource))
        .u64("count", |c| c.count)
        .done();
    let slo = Builder::new("slo", &r.slo)
        .str("client", |x| s(&x.client))
        .str("class", |x| s(&x.class))
        .f64("threshold_s", |x| Some(x.threshold_s))
        .latency(|x| x.latency_ms.as_ref())
        .bool("over", |x| x.over)
        .done();
    let deprecated = Builder::new("deprecated", &r.deprecated)
        .str("client", |d| s(&d.client))
        .str("api", |d| s(&d.api))
        .str("removed_release", |d| d.removed_release.clone())
        .u64("count", |d| d.count)
        .time("first", |d| d.first.clone())
        .time("last", |d| d.last.clone())
        .done();
    let webhooks = Builder::new("webhooks", &r.webhooks)
        .str("webhook", |w| s(&w.webhook))
        .u64("requests", |w| w.requests)
        .latency(|w| w.latency_ms.as_ref())
        .u64("failed_open", |w| w.failed_open)
        .u64("failed_closed", |w| w.failed_closed)
        .time("first", |w| w.first.clone())
        .time("last", |w| w.last.clone())
        .done();
    let health = Builder::new("health", &r.health.minutes)
        .time("minute", |m| s(&m.minute))
        .u64("system_requests", |m| {
            m.system.as_ref().map_or(0, |c| c.requests)
        })
        .u64("system_failed", |m| {
            m.system.as_ref().map_or(0, |c| c.failed)
        })
        .f64("system_success_rate", |m| {
            m.system.as_ref().map(|c| c.success_rate)
        })
        .u64("workload_requests", |m| {
            m.workload.as_ref().map_or(0, |c| c.requests)
        })
        .u64("workload_failed", |m| {
            m.workload.as_ref().map_or(0, |c| c.failed)
        })
        .f64("workload_success_rate", |m| {
            m.workload.as_ref().map(|c| c.success_rate)
        })
        .done();
    let slo_violations = Builder::new("slo_violations", &r.health.slo_violations)
        .time("window", |v| s(&v.window))
        .str("resource", |v| s(&v.resource))
        .str("class", |v| s(&v.class))
        .u64("calls", |v| v.calls)
        .u64("over", |v| v.over)
        .f64("threshold_s", |v| Some(v.threshold_s))
        .done();
    let sizing = Builder::new("sizing_clients", &r.sizing.top_clients)
        .str("client", |c| s(&c.name))
        .u64("seat_seconds", |c| c.count)
        .done();
    vec![
        findings,
        timeline,
        clients,
        client_minutes,
        lists,
        crds,
        writes,
        objects,
        errors,
        watches,
        calls,
        slo,
        deprecated,
        webhooks,
        health,
        slo_violations,
        sizing,
        suppressed,
    ]
}

/// The columns of `findings` (and of `suppressed`, which adds the reason).
fn finding_columns(
    b: Builder<'_, crate::model::finding::Finding>,
) -> Builder<'_, crate::model::finding::Finding> {
    b.u64("rank", |f| f.rank as u64)
        .str("rule", |f| s(f.rule))
        .str("slug", |f| s(f.slug))
        .str("severity", |f| s(f.severity.name()))
        .f64("score", |f| Some(f.score))
        .str("client", |f| s(&f.client))
        .str("resource", |f| f.resource.clone())
        .str("object", |f| f.object.clone())
        .str("headline", |f| s(&f.headline))
        .str("metric", |f| s(&f.evidence.metric))
        .f64("value", |f| Some(f.evidence.value))
        .f64("threshold", |f| Some(f.evidence.threshold))
        .time("first", |f| f.evidence.first.clone())
        .time("last", |f| f.evidence.last.clone())
        .str("remediation", |f| s(&f.remediation))
}

/// A CSV table with every text cell neutralized for spreadsheets
/// ([`crate::render::sanitize::csv`]); numbers and flags are left alone.
fn neutralized(t: Table) -> Table {
    let columns = t
        .columns
        .into_iter()
        .map(|(name, v)| match v {
            Values::Str(v) => (
                name,
                Values::Str(
                    v.into_iter()
                        .map(|x| x.map(|x| crate::render::sanitize::csv(&x)))
                        .collect(),
                ),
            ),
            other => (name, other),
        })
        .collect();
    Table { columns, ..t }
}

/// Writes every table into `dir` (created if missing); returns the files written. CSV text
/// cells are neutralized for spreadsheets unless `raw` (Parquet and NDJSON are always raw).
///
/// # Errors
/// The directory or a file cannot be written, or this build has no polars.
pub fn export(
    r: &Report,
    dir: &Path,
    format: ExportFormat,
    raw: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create --export directory {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for t in tables(r) {
        let t = if format == ExportFormat::Csv && !raw {
            neutralized(t)
        } else {
            t
        };
        let path = dir.join(format!("{}.{}", t.name, format.extension()));
        write(&t, &path, format)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(feature = "polars")]
mod parquet;

#[cfg(feature = "polars")]
fn write(t: &Table, path: &Path, format: ExportFormat) -> anyhow::Result<()> {
    match format {
        ExportFormat::Parquet => parquet::write(t, path),
        ExportFormat::Csv | ExportFormat::Ndjson => write_frame(t, path, format),
    }
}

/// CSV and NDJSON through a polars frame (times as the report's RFC 3339 text).
#[cfg(feature = "polars")]
fn write_frame(t: &Table, path: &Path, format: ExportFormat) -> anyhow::Result<()> {
    use polars::prelude::*;
    let columns: Vec<Column> = t
        .columns
        .iter()
        .map(|(name, v)| match v {
            Values::Str(v) | Values::Time(v) => Column::new((*name).into(), v),
            Values::U64(v) => Column::new((*name).into(), v),
            Values::F64(v) => Column::new((*name).into(), v),
            Values::Bool(v) => Column::new((*name).into(), v),
        })
        .collect();
    let mut df = DataFrame::new(t.height, columns)?;
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    if format == ExportFormat::Csv {
        CsvWriter::new(file).include_header(true).finish(&mut df)?;
    } else {
        JsonWriter::new(file)
            .with_json_format(JsonFormat::JsonLines)
            .finish(&mut df)?;
    }
    Ok(())
}

#[cfg(not(feature = "polars"))]
fn write(_t: &Table, _path: &Path, _format: ExportFormat) -> anyhow::Result<()> {
    anyhow::bail!(
        "this build has no table exports: rebuild with the default `polars` feature (cargo build --features polars)"
    )
}

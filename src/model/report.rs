//! Report: the `audit-scan/report/v1` document — the JSON contract (docs/report-schema.md) that
//! every output format renders. Field names are snake_case, times RFC 3339 UTC, durations ms.
//! Adding a field is compatible; renaming or removing one bumps the schema version.

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::{Episode, Finding};
use super::health::{Health, Sizing, SloRow};
use super::rows::{LatencyRow, NameCount};

/// The schema id.
pub const SCHEMA: &str = "audit-scan/report/v1";

/// The whole report.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The producing tool.
    pub tool: Tool,
    /// Counts, window, coverage.
    pub summary: Summary,
    /// All requests per minute with the success rate.
    pub timeline: Vec<MinuteRow>,
    /// LISTs per userAgent × client × resource.
    pub lists: Vec<ListRow>,
    /// Per client.
    pub clients: Vec<ClientRow>,
    /// Calls to CRDs and aggregated APIs.
    pub crds: Vec<CrdRow>,
    /// Successful writes per client × resource × verb × subresource.
    pub writes: Vec<WriteRow>,
    /// The most-written objects.
    pub objects: Vec<ObjectRow>,
    /// Error responses per client × code × reason × verb × resource.
    pub errors: Vec<ErrorRow>,
    /// Watches per client × resource.
    pub watches: Vec<WatchRow>,
    /// Requests per client × verb × resource.
    pub calls: Vec<CallRow>,
    /// Latency per client × SLO class against the upstream SLIs.
    pub slo: Vec<SloRow>,
    /// Calls to deprecated APIs.
    pub deprecated: Vec<DeprecatedRow>,
    /// Admission webhooks seen in annotations and status messages.
    pub webhooks: Vec<WebhookRow>,
    /// Where slow requests' time went (`apiserver.latency.k8s.io/*`), per client × resource ×
    /// SLO class.
    pub latency_breakdown: Vec<LatencyBreakdownRow>,
    /// Success rate per minute and SLO checks.
    pub health: Health,
    /// APF seat estimate and the EKS tier that fits.
    pub sizing: Sizing,
    /// Dips below the success-rate SLO, 429 and 5xx bursts and the clients behind each dip;
    /// `null` for windows of at most `min_span_hours` (6) and for the insights engine.
    pub incident_timeline: Option<super::timeline::IncidentTimeline>,
    /// Findings ranked by score (the detection rules in `src/rules/`).
    pub findings: Vec<Finding>,
    /// Findings a `--config` suppression matched, with its reason: reported, never dropped.
    pub suppressed: Vec<Finding>,
}

/// Tool name and version.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Tool {
    /// `audit-scan`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// One input.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct InputRow {
    /// Path or `<stdin>`.
    pub name: String,
    /// Bytes read from disk or pipe.
    pub raw_bytes: u64,
    /// Bytes after decompression.
    pub bytes: u64,
    /// Read as one JSON document rather than JSON lines.
    pub document: bool,
    /// The error that ended it early.
    pub error: Option<String>,
    /// Requests counted from it (per CloudWatch stream: per API server instance).
    pub requests: u64,
}

/// A skipped line.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SkipRow {
    /// Input name.
    pub input: String,
    /// 1-based line.
    pub line: u64,
    /// Stable reason.
    pub reason: String,
    /// Message.
    pub message: String,
}

/// Skipped lines.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Skipped {
    /// Total.
    pub total: u64,
    /// Per reason.
    pub by_reason: BTreeMap<String, u64>,
    /// The first few, in input order.
    pub examples: Vec<SkipRow>,
}

/// A file a directory scan left out.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SkippedFile {
    /// Its path.
    pub name: String,
    /// Why, in words (`not JSON: starts with '#'`).
    pub reason: String,
}

/// The config file a scan read.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ConfigRow {
    /// Its path, as given or found.
    pub path: String,
    /// How it was found.
    pub found_by: ConfigOrigin,
    /// Suppressions it holds, expired or not.
    pub suppressions: u64,
    /// Suppressions past their `expires` day: they match nothing, and each is also a warning.
    pub expired_suppressions: Vec<ExpiredSuppression>,
}

impl ConfigRow {
    /// One line for the text, Markdown and HTML reports (unescaped).
    #[must_use]
    pub fn line(&self) -> String {
        let expired = match self.expired_suppressions.len() {
            0 => String::new(),
            n => format!("; {n} expired"),
        };
        format!(
            "config {} ({}; {} suppression(s){expired})",
            self.path,
            self.found_by.words(),
            self.suppressions
        )
    }
}

/// How the config file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfigOrigin {
    /// `--config FILE`.
    Flag,
    /// `$AUDIT_SCAN_CONFIG`.
    Env,
    /// `./audit-scan.toml`.
    WorkingDir,
    /// An `audit-scan.toml` in a parent directory, up to the repository's root.
    Repository,
    /// The user config directory (`$XDG_CONFIG_HOME/audit-scan/audit-scan.toml`).
    UserDir,
}

impl ConfigOrigin {
    /// In words, for the reports and stderr.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Self::Flag => "given with --config",
            Self::Env => "named by $AUDIT_SCAN_CONFIG",
            Self::WorkingDir => "found in the working directory",
            Self::Repository => "found in a parent directory, within the repository",
            Self::UserDir => "found in the user config directory",
        }
    }
}

/// A suppression past its day.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExpiredSuppression {
    /// Rule code or slug, as written.
    pub rule: String,
    /// Client glob.
    pub client: String,
    /// Resource, if only one.
    pub resource: Option<String>,
    /// Its last day (`YYYY-MM-DD`).
    pub expires: String,
    /// Its reason.
    pub reason: String,
}

/// The asked-for window.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WindowRow {
    /// Inclusive start.
    pub since: Option<String>,
    /// Exclusive end.
    pub until: Option<String>,
}

/// State of the bounded object table.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ObjectTableRow {
    /// Objects still tracked at the end.
    pub tracked: u64,
    /// Objects dropped by pruning.
    pub pruned: u64,
    /// Upper bound on how much any reported object count may be short (0 = exact).
    pub max_count_error: u64,
}

/// Counts, window, coverage.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Inputs read.
    pub inputs: Vec<InputRow>,
    /// Non-blank lines.
    pub lines: u64,
    /// Blank lines.
    pub blank_lines: u64,
    /// Audit events decoded.
    pub events: u64,
    /// Events per stage.
    pub events_by_stage: BTreeMap<String, u64>,
    /// Events per level.
    pub events_by_level: BTreeMap<String, u64>,
    /// Requests: ResponseComplete/Panic events in window and through the filters.
    pub requests: u64,
    /// Of which long-running (not latency samples).
    pub long_running: u64,
    /// Requests with no timestamp.
    pub untimed: u64,
    /// Lines cut by CloudWatch and salvaged.
    pub truncated: u64,
    /// Final-stage events outside the window.
    pub outside_window: u64,
    /// Final-stage events the filters left out.
    pub filtered_out: u64,
    /// Skipped lines.
    pub skipped: Skipped,
    /// Earliest request time.
    pub first_timestamp: Option<String>,
    /// Latest request time.
    pub last_timestamp: Option<String>,
    /// Seconds between them.
    pub span_seconds: f64,
    /// The window asked for, if any.
    pub window: Option<WindowRow>,
    /// kube-apiserver version seen in control-plane userAgents (`1.25`).
    pub server_version: Option<String>,
    /// Whether consistent LISTs are served from the watch cache (1.31+); null if unknown.
    pub consistent_list_from_cache: Option<bool>,
    /// The object table's bound.
    pub object_table: ObjectTableRow,
    /// What this log cannot show.
    pub coverage: Vec<String>,
    /// Non-fatal problems met on the way.
    pub warnings: Vec<String>,
    /// What the filters selected, against the whole cluster; absent when no filter was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// Files a directory scan left out: not audit logs by their first bytes.
    pub skipped_files: Vec<SkippedFile>,
    /// The config file read (`--config`, `$AUDIT_SCAN_CONFIG` or found); absent when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigRow>,
    /// The CloudWatch download, when that was the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<serde_json::Value>,
    /// `insights` when the report was built from Logs Insights aggregates (`--engine
    /// insights`); absent for the native engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The Logs Insights run (queries, sub-windows, bytes scanned), with `engine`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insights: Option<serde_json::Value>,
    /// `--follow`: which refresh this document is, the rolling window it covers, and how far
    /// behind real time the newest event was; absent for a batch scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow: Option<FollowRow>,
}

/// One document of `--follow`: a refresh of the rolling window, or the final report of the
/// whole followed period.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct FollowRow {
    /// `true` for the last document, written after Ctrl-C: the whole followed period (its
    /// `summary.window` is the session's), not the last rolling window.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Refreshes written before this one.
    pub refresh: u64,
    /// The rolling window's length (`--window`), seconds.
    pub window_seconds: u64,
    /// Seconds between refreshes (`--refresh`).
    pub refresh_seconds: f64,
    /// When this document was written (RFC 3339 UTC).
    pub at: String,
    /// The newest event's own time, when any event was read.
    pub newest_event: Option<String>,
    /// How far that event's time lies behind `at`, ms (write and ingestion delay).
    pub lag_ms: Option<i64>,
    /// Files whose path came to name another file (rename rotations).
    pub rotations: u64,
    /// Files that shrank below what had been read (copytruncate rotations), read again from 0.
    pub truncations: u64,
    /// Compressed files that appeared while following: rotated copies of lines already read,
    /// not read again.
    pub compressed_skipped: u64,
}

impl Summary {
    /// Whether the requests span more than one calendar day (UTC): then every time a human
    /// format prints carries its date.
    #[must_use]
    pub fn spans_days(&self) -> bool {
        fn day(t: Option<&String>) -> Option<&str> {
            t.and_then(|t| t.get(..10))
        }
        let (a, b) = (
            day(self.first_timestamp.as_ref()),
            day(self.last_timestamp.as_ref()),
        );
        a.is_some() && b.is_some() && a != b
    }

    /// `server version 1.25: consistent LISTs are served from etcd`, when the version is known
    /// (unescaped).
    #[must_use]
    pub fn serving_line(&self) -> Option<String> {
        let v = self.server_version.as_ref()?;
        let from = if self.consistent_list_from_cache == Some(true) {
            "the watch cache"
        } else {
            "etcd"
        };
        Some(format!(
            "server version {v}: consistent LISTs are served from {from}"
        ))
    }
}

/// What a filtered scan selected (`--client`, `--verb` …), against the cluster: every request
/// in the window. The per-client tables and findings cover the selection; the span, server
/// version, coverage notes, health, SLO windows and sizing cover the cluster.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Selection {
    /// The filters, one `--flag 'pattern'` each.
    pub filters: Vec<String>,
    /// Patterns that matched no request in the window (each is also a warning).
    pub unmatched: Vec<String>,
    /// Selected requests.
    pub requests: u64,
    /// Requests in the window, selected or not.
    pub cluster_requests: u64,
    /// `requests / cluster_requests` (0 when the window is empty).
    pub share_of_requests: f64,
    /// Selected successful writes.
    pub writes: u64,
    /// Successful writes in the window.
    pub cluster_writes: u64,
    /// `writes / cluster_writes`.
    pub share_of_writes: f64,
    /// APF seat-seconds the selection held.
    pub seat_seconds: f64,
    /// APF seat-seconds held in the window.
    pub cluster_seat_seconds: f64,
    /// `seat_seconds / cluster_seat_seconds`.
    pub share_of_seat_seconds: f64,
    /// Clients with a selected request.
    pub clients: u64,
    /// Clients in the window.
    pub cluster_clients: u64,
    /// The cluster's successful writes per resource × subresource: what shares of the
    /// cluster's writes (AS203) are taken of.
    pub cluster_writes_by_resource: Vec<ResourceWrites>,
}

impl Selection {
    /// One sentence for the text, Markdown and HTML reports (unescaped).
    #[must_use]
    pub fn line(&self) -> String {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        format!(
            "selection {}: {} of the cluster's {} requests ({}), {} of {} writes ({}), {} of its APF seat time, {} of {} clients; span, server version, health, SLO windows and sizing are the whole cluster's",
            self.filters.join(" "),
            self.requests,
            self.cluster_requests,
            pct(self.share_of_requests),
            self.writes,
            self.cluster_writes,
            pct(self.share_of_writes),
            pct(self.share_of_seat_seconds),
            self.clients,
            self.cluster_clients,
        )
    }
}

/// Successful writes to one resource × subresource.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ResourceWrites {
    /// Resource, qualified by group (`deployments.apps`).
    pub resource: String,
    /// Subresource (`""` for the object itself).
    pub subresource: String,
    /// Successful writes.
    pub count: u64,
}

/// One minute of all traffic.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MinuteRow {
    /// Minute start.
    pub minute: String,
    /// All requests.
    pub requests: u64,
    /// Not long-running.
    pub short: u64,
    /// Short ones answered 5xx.
    pub server_errors: u64,
    /// Short ones answered 429.
    pub throttled: u64,
    /// Successful writes.
    pub writes: u64,
    /// 1 − (5xx + 429) / short; null with no short requests.
    pub success_rate: Option<f64>,
}

/// resourceVersion semantics counts of LISTs.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RvRow {
    /// No resourceVersion (consistent read).
    pub consistent: u64,
    /// `resourceVersion=0`.
    pub any: u64,
    /// `NotOlderThan` (or rv=N without limit).
    pub not_older_than: u64,
    /// `resourceVersionMatch=Exact`.
    pub exact: u64,
    /// rv=N with limit, no match (legacy exact).
    pub legacy_exact: u64,
    /// `continue` pages.
    #[serde(rename = "continue")]
    pub continue_pages: u64,
}

/// One LIST row.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ListRow {
    /// Raw userAgent (attacker-controlled text: escape before display).
    pub user_agent: String,
    /// Normalized client.
    pub client: String,
    /// Resource, qualified by its API group outside the core group (`deployments.apps`).
    pub resource: String,
    /// LISTs.
    pub count: u64,
    /// LISTs per hour of the report's span.
    pub per_hour: f64,
    /// Latency.
    pub latency_ms: Option<LatencyRow>,
    /// Without namespace.
    pub cluster_scope: u64,
    /// Within a namespace.
    pub namespaced: u64,
    /// How the reads asked to be served.
    pub resource_version: RvRow,
    /// Inferred: served from the watch cache.
    pub served_from_cache: u64,
    /// Served from etcd: inferred, or shown by the etcd annotation (`etcd_by_annotation`).
    pub served_from_etcd: u64,
    /// LISTs carrying an `apiserver.latency.k8s.io/etcd` annotation (logged for slow requests).
    pub etcd_annotated: u64,
    /// LISTs the inference put in the watch cache whose etcd annotation shows most of their
    /// time in etcd: counted in `served_from_etcd` (evidence beats inference).
    pub etcd_by_annotation: u64,
    /// Sum of the etcd annotations of these LISTs, ms.
    pub etcd_annotation_ms: f64,
    /// With `limit`.
    pub paginated: u64,
    /// Cluster-scoped ones with `limit`.
    pub cluster_paginated: u64,
    /// `continue` pages.
    pub continue_pages: u64,
    /// With a label selector.
    pub label_selector: u64,
    /// With a field selector.
    pub field_selector: u64,
    /// Answered ≥ 400.
    pub errors: u64,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
    /// Earliest auditIDs.
    pub sample_audit_ids: Vec<String>,
}

/// Requests per minute of one client, dense from `start`.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Series {
    /// The first minute.
    pub start: Option<String>,
    /// Requests in each minute from `start`.
    pub counts: Vec<u64>,
    /// The series stops short of some of the client's minutes: it is dense over at most 31 days
    /// (over the client's own span when the report's is longer).
    pub truncated: bool,
    /// Past the report's series budget: `counts` is empty (the client's peak and p99 per
    /// minute are still exact). With `--engine insights`, every client but the 20 busiest: its
    /// minutes are not queried, so its peak and p99 per minute are 0 and its first and last null.
    pub omitted: bool,
}

/// One client.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClientRow {
    /// Normalized client name.
    pub client: String,
    /// Its most frequent username.
    pub user: String,
    /// Distinct usernames (nodes, for `kubelet`).
    pub distinct_users: u64,
    /// Top usernames.
    pub top_users: Vec<NameCount>,
    /// Top pods from the service-account token.
    pub top_pods: Vec<NameCount>,
    /// Requests.
    pub requests: u64,
    /// get/list/watch.
    pub reads: u64,
    /// Successful writes.
    pub writes: u64,
    /// LISTs.
    pub lists: u64,
    /// Watches.
    pub watches: u64,
    /// Answered ≥ 400.
    pub errors: u64,
    /// Long-running.
    pub long_running: u64,
    /// Requests per second over the report's span.
    pub mean_qps: f64,
    /// Busiest minute's requests.
    pub peak_qpm: u64,
    /// That minute.
    pub peak_minute: Option<String>,
    /// 99th percentile of requests per minute over the report's minutes (zeros included).
    pub p99_qpm: u64,
    /// Latency of its short resource requests (all SLO classes merged; non-resource URLs excluded).
    pub latency_ms: Option<LatencyRow>,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
    /// Earliest auditIDs.
    pub sample_audit_ids: Vec<String>,
    /// Requests per minute.
    pub per_minute: Series,
    /// The cost ledger (`src/rules/ledger.rs`): APF seat-seconds per hour of the span, from its
    /// reads, LISTs, persisting writes (with their etcd weight) and watches.
    pub seat_seconds_per_hour: f64,
    /// Its share of the cluster's seat-seconds (0–1).
    pub cost_share: f64,
    /// APF seats it holds on average (`seat_seconds_per_hour / 3600`).
    pub apf_seats: f64,
    /// The verb × resource that costs it most (`list pods`).
    pub dominant_cost: Option<String>,
    /// The spans in which it departs from its own baseline (rate, errors, seats), earliest
    /// first; empty for a report of less than an hour.
    pub episodes: Vec<Episode>,
    /// AS302's minutes at/above each known client rate limit, from every minute of the client
    /// (kept or omitted series alike); not serialized.
    #[serde(skip)]
    pub limit_minutes: [(u64, u64); 3],
}

/// One CRD/aggregated-API row.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CrdRow {
    /// API group.
    pub group: String,
    /// Resource (plural, without its group: see `group`).
    pub resource: String,
    /// Verb.
    pub verb: String,
    /// Client.
    pub client: String,
    /// Requests.
    pub count: u64,
    /// Answered ≥ 400.
    pub errors: u64,
    /// Latency.
    pub latency_ms: Option<LatencyRow>,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
}

/// One write row.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WriteRow {
    /// Client.
    pub client: String,
    /// Resource, qualified by its API group outside the core group (`deployments.apps`).
    pub resource: String,
    /// Subresource (`""` for the object itself).
    pub subresource: String,
    /// Verb.
    pub verb: String,
    /// Successful writes.
    pub count: u64,
    /// Writes per second over the report's span.
    pub per_second: f64,
    /// No-op updates (bodies logged).
    pub noop: u64,
    /// Updates whose bodies allowed judging no-ops.
    pub noop_judged: u64,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
    /// Earliest auditIDs.
    pub sample_audit_ids: Vec<String>,
    /// Earliest auditIDs of the no-op updates.
    pub noop_sample_audit_ids: Vec<String>,
    /// Bytes of the bodies logged with these writes (absent when none was logged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<BodyBytesRow>,
}

/// Bytes of the request and response bodies logged with writes (Request/RequestResponse
/// level), as the log holds them: measured while the decoder skips them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BodyBytesRow {
    /// Writes with a body logged (writes logged at Metadata level add nothing).
    pub writes: u64,
    /// Bytes of their `requestObject`s.
    pub request: u64,
    /// Bytes of their `responseObject`s (for a create or update, the object as stored).
    pub response: u64,
}

impl BodyBytesRow {
    /// The row, when any body was logged.
    #[must_use]
    pub fn of(b: crate::aggregate::tables::BodyBytes) -> Option<Self> {
        (b.writes > 0).then_some(Self {
            writes: b.writes,
            request: b.request,
            response: b.response,
        })
    }
}

impl WriteRow {
    /// `resource` or `resource/subresource`, as the tables print it.
    #[must_use]
    pub fn target(&self) -> String {
        resource_path(&self.resource, &self.subresource)
    }
}

/// `resource` or `resource/subresource` (`pods/binding`).
#[must_use]
pub fn resource_path(resource: &str, subresource: &str) -> String {
    if subresource.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}/{subresource}")
    }
}

/// One most-written object.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ObjectRow {
    /// API group.
    pub group: String,
    /// Resource (plural, without its group: see `group`).
    pub resource: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Successful writes.
    pub writes: u64,
    /// Of which to `status`.
    pub status_writes: u64,
    /// No-op updates.
    pub noop: u64,
    /// Writers by writes.
    pub writers: Vec<NameCount>,
    /// Busiest minute.
    pub peak_minute: Option<String>,
    /// Writes in it.
    pub peak_writes: u64,
    /// Minutes in which two or more clients wrote the object itself (writes to its `status`
    /// left out: the status owner does not fight the spec's writer).
    pub multi_writer_minutes: u64,
    /// Minutes with at least one write.
    pub active_minutes: u64,
    /// Minutes with at least N writes, for N in 5, 10, 20, 30, 60, 120 (keys are N).
    pub busy_minutes: BTreeMap<String, u64>,
    /// The minute counts (peak, multi-writer, active, busy) may count a minute in two parts:
    /// a write arrived for a minute the object had already folded (more than 32 of its active
    /// minutes older than its newest), as when several files of one time range are read.
    /// Writes and conflicts are exact all the same.
    pub minutes_approximate: bool,
    /// Writes answered 409 Conflict.
    pub conflicts: u64,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
    /// Earliest auditIDs.
    pub sample_audit_ids: Vec<String>,
    /// Bytes of the bodies logged with its writes (absent when none was logged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<BodyBytesRow>,
}

/// One error row.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ErrorRow {
    /// Client.
    pub client: String,
    /// HTTP code.
    pub code: u16,
    /// `responseStatus.reason`.
    pub reason: String,
    /// `conflict`, `already_exists`, `throttled`, `not_found`, `unauthorized`, `forbidden`,
    /// `server_error`, `client_error`.
    pub kind: &'static str,
    /// Verb.
    pub verb: String,
    /// Resource, qualified by its API group outside the core group (`deployments.apps`).
    pub resource: String,
    /// Responses.
    pub count: u64,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
    /// Earliest auditIDs.
    pub sample_audit_ids: Vec<String>,
}

/// One watch row.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WatchRow {
    /// Client.
    pub client: String,
    /// Resource, qualified by its API group outside the core group (`deployments.apps`).
    pub resource: String,
    /// Completed watches.
    pub count: u64,
    /// How long they lasted.
    pub duration_ms: Option<LatencyRow>,
    /// With `timeoutSeconds`.
    pub with_timeout: u64,
    /// Their mean `timeoutSeconds`.
    pub mean_timeout_s: Option<f64>,
    /// Watches with `timeoutSeconds` and a known duration: the base of `ended_early`.
    pub timed: u64,
    /// Ended before half of their own timeout.
    pub ended_early: u64,
    /// With `sendInitialEvents=true`.
    pub initial_events: u64,
    /// LISTs by the same client of the same resource (relists).
    pub lists: u64,
    /// Answered ≥ 400.
    pub errors: u64,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
    /// Earliest auditIDs of the watches that ended early.
    pub sample_audit_ids: Vec<String>,
}

/// Calls of one client to one deprecated API.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DeprecatedRow {
    /// Client.
    pub client: String,
    /// `group/version/resource` (`""` group is core).
    pub api: String,
    /// The release that removes it (`k8s.io/removed-release`), if announced.
    pub removed_release: Option<String>,
    /// Calls.
    pub count: u64,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
    /// Earliest auditIDs.
    pub sample_audit_ids: Vec<String>,
}

/// Requests of one client × verb × resource.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CallRow {
    /// Client.
    pub client: String,
    /// Verb.
    pub verb: String,
    /// Resource (`pods/eviction` with a subresource).
    pub resource: String,
    /// Requests.
    pub count: u64,
}

/// Where the time of one client × resource × SLO class's slow requests went: the means of their
/// `apiserver.latency.k8s.io/*` annotations, which the apiserver logs only for requests over
/// 500 ms.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LatencyBreakdownRow {
    /// Client.
    pub client: String,
    /// Resource (`objectRef.resource`).
    pub resource: String,
    /// SLO class: `mutating`, `read-only`, `list-namespace`, `list-cluster`.
    pub class: String,
    /// Requests with at least one latency annotation.
    pub requests: u64,
    /// Their mean latency, ms.
    pub mean_ms: f64,
    /// The mean of each annotation over those requests, ms (an absent one counts 0: the
    /// apiserver leaves out a zero), keyed by the annotation's name after
    /// `apiserver.latency.k8s.io/`; only the non-zero ones.
    pub parts_ms: BTreeMap<String, f64>,
    /// The mean time no annotation accounts for, ms (handler, admission plugins, network).
    pub other_ms: f64,
}

/// One admission webhook.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WebhookRow {
    /// Webhook name (`a + b` for several of one kind; `(unnamed)` when nothing names it).
    pub webhook: String,
    /// Requests whose annotations or status name it (or whose webhook time it was charged).
    pub requests: u64,
    /// Webhook time of slow requests (the annotation is logged only over 500 ms).
    pub latency_ms: Option<LatencyRow>,
    /// Failed open (failurePolicy Ignore).
    pub failed_open: u64,
    /// Failed closed: requests refused.
    pub failed_closed: u64,
    /// First time.
    pub first: Option<String>,
    /// Last time.
    pub last: Option<String>,
    /// Distinct clients whose requests waited on it (its time was charged on them).
    pub clients_waited: usize,
    /// The clients that waited on it most: client and requests.
    pub waited: Vec<NameCount>,
    /// Earliest auditIDs.
    pub sample_audit_ids: Vec<String>,
}

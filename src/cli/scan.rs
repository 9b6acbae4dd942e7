//! The scan's arguments (`audit-scan [INPUT]...`, CloudWatch, Logs Insights) and their
//! validation into a window, filters and a marked span.

use std::path::PathBuf;

use clap::Args;

use crate::aggregate::Scope;
use crate::aggregate::filter::{Codes, FilterError, Filters, Patterns, Window};
use crate::insights::scan::Engine;
use crate::model::finding::Severity;
use crate::render::Format;
use crate::timefmt::{Micros, TimeArgError, parse_time_arg};

/// Scan options.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Audit logs: files, directories (recursive), globs, or `-` for stdin.
    ///
    /// With none, a piped stdin is read. Compression (.gz, .zst) is detected from the bytes.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Only requests at or after this time: a duration back from now (7d, 36h, 90m) or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only requests before this time: a duration back from now or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only these users (glob; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub user: Vec<String>,
    /// Only these raw userAgents (glob; repeatable).
    #[arg(long = "user-agent", value_name = "GLOB")]
    pub user_agent: Vec<String>,
    /// Only these clients, by name or userAgent product (glob; repeatable), e.g. 'karpenter'.
    ///
    /// A glob matches the client name (`karpenter@kube-system/karpenter`,
    /// 'kube-controller-manager/*') or the product of the request's userAgent (`karpenter` of
    /// `karpenter/v0.37.0`). The selection is audited against the whole cluster: span, server
    /// version, health and sizing stay the cluster's, and shares are of the cluster. A glob that
    /// matches no request is a warning naming the nearest clients (fatal under --strict).
    #[arg(long, value_name = "GLOB")]
    pub client: Vec<String>,
    /// Only these namespaces (glob; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub namespace: Vec<String>,
    /// Only these resources, as the report prints them: `pods`, `deployments.apps`,
    /// `pods/status` (glob; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub resource: Vec<String>,
    /// Only these verbs (glob; repeatable).
    #[arg(long, value_name = "VERB")]
    pub verb: Vec<String>,
    /// Only responses with this status code or class: `429`, `4xx`, `5xx` (repeatable).
    #[arg(long, value_name = "CODE")]
    pub code: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write every table of the report into this directory, one file per table.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Format of the --export files.
    #[arg(long, value_enum, default_value_t = crate::export::ExportFormat::Csv)]
    pub export_format: crate::export::ExportFormat,
    /// Write CSV exports verbatim: no leading `'` on cells a spreadsheet would run as a
    /// formula, no escapes for invisible characters (see docs/exports.md).
    #[arg(long, requires = "export")]
    pub export_raw: bool,
    /// Incident window to shade on the HTML report's charts: FROM..TO, each RFC 3339 or a
    /// duration back from now (`--mark 2024-05-01T10:05:00Z..2024-05-01T10:20:00Z`).
    #[arg(long, value_name = "FROM..TO")]
    pub mark: Option<String>,
    /// Rows per table in the text report.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Worker threads (default: one per core); several input files are also read and
    /// decompressed by up to this many threads at once.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Make any skipped line, unreadable input or warning fatal (exit code 2).
    #[arg(long)]
    pub strict: bool,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Bytes of whole lines handed to a worker at a time (testing: small chunks exercise the
    /// merge of many partial tables).
    #[arg(long, hide = true, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1024..))]
    pub chunk_size: Option<u32>,
    /// How lines are decoded: `simd-json` parses every line whole, the reference the fast path
    /// is tested against (testing).
    #[arg(long, hide = true, value_enum, default_value_t = Decoder::Fast)]
    pub decoder: Decoder,

    /// Rule thresholds and suppressions (TOML; see `audit-scan rules`). Without it:
    /// $AUDIT_SCAN_CONFIG, else ./audit-scan.toml (or one in a parent directory up to the
    /// repository's root), else the user config directory's audit-scan/audit-scan.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read no config file, not even one $AUDIT_SCAN_CONFIG names or one found.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Report only findings at or above this severity.
    #[arg(long, value_enum, default_value_t = Severity::Info)]
    pub min_severity: Severity,
    /// Exit with code 1 when a finding at or above this severity exists (for CI).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Run only these rules, by code or slug (comma-separated or repeated): testing, so one
    /// rule can be judged alone on its fixtures. Hidden: the JUnit and SARIF outputs still
    /// list every rule.
    #[arg(long, hide = true, value_name = "RULE", value_delimiter = ',')]
    pub rules: Vec<String>,

    /// `--follow`, `--window`, `--refresh`.
    #[command(flatten)]
    pub follow: FollowArgs,

    /// CloudWatch Logs options.
    #[command(flatten)]
    pub cloudwatch: CloudWatchArgs,

    /// `--engine insights|auto`, `--dry-run` (Logs Insights).
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Live incident mode: keep reading a growing log and re-rank it as it happens.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Following")]
pub struct FollowArgs {
    /// Keep reading INPUT (one file or a directory) as it grows, like `tail -F`, or the
    /// cluster's CloudWatch Logs (--cluster, --log-group, or the kubeconfig's EKS cluster), and
    /// re-run the rules on a rolling window every --refresh. Ctrl-C prints the report of the
    /// whole followed period.
    ///
    /// Reading starts at --since (default: one --window back). Rotations by rename and by
    /// truncation are followed, and a new file in a watched directory is read from its start.
    /// CloudWatch is polled with FilterLogEvents once per refresh, under --rate.
    /// On a terminal the view is redrawn in place; piped, each refresh is an appended block
    /// (`--format json`: one report per line). `--fail-on` sets the exit code of the final
    /// report, as in a batch run; a second Ctrl-C exits at once.
    ///
    ///   audit-scan --follow /var/log/kube-apiserver/audit.log
    ///   audit-scan --follow /var/log/kube-apiserver/ --window 5m --format json | jq .findings
    ///   audit-scan --follow --cluster prod --since 5m
    #[arg(long)]
    pub follow: bool,
    /// The rolling window --follow ranks (whole minutes; e.g. 15m, 1h).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "15m",
        requires = "follow"
    )]
    pub window: String,
    /// How often --follow re-runs the rules and redraws (e.g. 10s, 1m).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        requires = "follow"
    )]
    pub refresh: String,
    /// Milliseconds between polls of the followed files (testing).
    #[arg(long, hide = true, value_name = "MS", default_value_t = 200)]
    pub poll_ms: u64,
}

/// Where and how to read CloudWatch Logs.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "CloudWatch Logs")]
pub struct CloudWatchArgs {
    /// Which log group, where, as whom.
    #[command(flatten)]
    pub target: Target,
    /// Only streams whose name starts with this.
    #[arg(long, value_name = "PREFIX", default_value = "kube-apiserver-audit")]
    pub stream_prefix: String,
    /// Time slices fetched at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// FilterLogEvents calls per second across slices (the AWS default quota is 5).
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Longest time slice (e.g. 1h, 15m).
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub slice: String,
    /// Extra CloudWatch time fetched after --until: a request's record lands when it completes,
    /// which for a watch is minutes after it was received.
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub fetch_margin: String,
    /// Save the downloaded events as JSON lines (zstd when FILE ends in .zst).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Events per FilterLogEvents page (testing).
    #[arg(long, hide = true)]
    pub page_limit: Option<i32>,
    /// Attempts per call before giving up.
    #[arg(long, hide = true, default_value_t = 8)]
    pub max_attempts: u32,
}

/// Which CloudWatch Logs log group to read, in which region, with which credentials: shared by
/// the download (`audit-scan --cluster`) and `audit-scan queries run`.
#[derive(Debug, Args, Default, Clone)]
pub struct Target {
    /// EKS cluster: read its log group `/aws/eks/NAME/cluster`. With no INPUT and no --cluster,
    /// the current kubeconfig context's EKS cluster is used.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Log group to read instead of the cluster's.
    #[arg(long, value_name = "GROUP", conflicts_with = "cluster")]
    pub log_group: Option<String>,
    /// AWS region (default: the profile's, or AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile (default: AWS_PROFILE, or the kubeconfig's).
    #[arg(long)]
    pub profile: Option<String>,
    /// CloudWatch Logs endpoint (an emulator, a VPC endpoint).
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")]
    pub endpoint_url: Option<String>,
}

impl CloudWatchArgs {
    /// Whether CloudWatch was asked for explicitly.
    #[must_use]
    pub fn requested(&self) -> bool {
        self.target.cluster.is_some() || self.target.log_group.is_some()
    }
}

/// A `--mark`, `--since`/`--until` or filter value that cannot be used, quoting it.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    /// `--mark` without `..`.
    #[error("--mark '{0}': expected FROM..TO")]
    MarkShape(String),
    /// A `--mark` end that is no time.
    #[error("--mark: {0}")]
    MarkTime(#[source] TimeArgError),
    /// A `--mark` that ends before it starts.
    #[error("--mark '{0}': FROM must be before TO")]
    MarkOrder(String),
    /// A `--since`/`--until` that is no time.
    #[error(transparent)]
    Time(#[from] TimeArgError),
    /// `--since` at or after `--until`.
    #[error("--since ({since}) must be before --until ({until})")]
    Order {
        /// `--since` as given.
        since: String,
        /// `--until` as given.
        until: String,
    },
    /// A filter value.
    #[error(transparent)]
    Filter(#[from] FilterError),
}

impl ScanArgs {
    /// `--mark FROM..TO` as `[from, to)` µs.
    ///
    /// # Errors
    /// The bad value, quoted.
    pub fn mark(&self, now: Micros) -> Result<Option<(Micros, Micros)>, ScopeError> {
        let Some(m) = &self.mark else {
            return Ok(None);
        };
        let (a, b) = m
            .split_once("..")
            .ok_or_else(|| ScopeError::MarkShape(m.clone()))?;
        let from = parse_time_arg(a.trim(), now).map_err(ScopeError::MarkTime)?;
        let to = parse_time_arg(b.trim(), now).map_err(ScopeError::MarkTime)?;
        if from >= to {
            return Err(ScopeError::MarkOrder(m.clone()));
        }
        Ok(Some((from, to)))
    }

    /// The window and filters.
    ///
    /// # Errors
    /// The bad value, quoted.
    pub fn scope(&self, now: Micros) -> Result<Scope, ScopeError> {
        let window = Window {
            since: self
                .since
                .as_deref()
                .map(|s| parse_time_arg(s, now))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| parse_time_arg(s, now))
                .transpose()?,
        };
        if let (Some(s), Some(u)) = (window.since, window.until)
            && s >= u
        {
            return Err(ScopeError::Order {
                since: self.since.clone().unwrap_or_default(),
                until: self.until.clone().unwrap_or_default(),
            });
        }
        let filters = Filters {
            user: Patterns::new("--user", &self.user)?,
            user_agent: Patterns::new("--user-agent", &self.user_agent)?,
            client: Patterns::new("--client", &self.client)?,
            namespace: Patterns::new("--namespace", &self.namespace)?,
            resource: Patterns::new("--resource", &self.resource)?,
            verb: Patterns::new("--verb", &self.verb)?,
            code: Codes::new(&self.code)?,
        };
        Ok(Scope { window, filters })
    }
}

/// `--engine` and its options.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Logs Insights")]
pub struct EngineArgs {
    /// How CloudWatch Logs are read (see docs/insights.md).
    #[arg(long, value_enum, default_value_t = Engine::Download)]
    pub engine: Engine,
    /// Print the plan (sub-windows, templates, queries) and the estimated bytes scanned and
    /// cost, then exit without running it.
    #[arg(long)]
    pub dry_run: bool,
    /// Logs Insights queries in flight at most (the account limit is 30 to 100).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub insights_concurrency: usize,
    /// Longest sub-window; shorter ones are cut from each template's estimated rows.
    #[arg(long, default_value = "1d", value_name = "DURATION")]
    pub insights_slice: String,
    /// Read through the log group's field indexes: templates that filter on `verb` start with
    /// `filterIndex`, so only the matching events are scanned (and billed). The log group
    /// needs an index policy on `verb` older than the window (checked first; see
    /// docs/insights.md).
    #[arg(long)]
    pub use_field_indexes: bool,
    /// Rows per query treated as capped (the service returns at most 10,000).
    #[arg(long, hide = true, default_value_t = crate::insights::merge::ROW_CAP)]
    pub insights_row_limit: usize,
}

/// `--decoder` (hidden): the line decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Decoder {
    /// Every line by the skim (bodies stepped over), simd-json for a line it leaves alone.
    Fast,
    /// Every line parsed whole by simd-json.
    SimdJson,
}

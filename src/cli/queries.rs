//! `audit-scan queries` arguments.

use clap::{Args, Subcommand};

use crate::insights::output::RowFormat;

/// `audit-scan queries`.
#[derive(Debug, Args)]
pub struct QueriesArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// `queries` subcommands.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// List the bundled Logs Insights templates: name, report section fed, description.
    List,
    /// Print a template rendered with its parameters, ready to paste into the console.
    Show {
        /// Template name (see `queries list`).
        name: String,
        /// A parameter value (repeatable), e.g. `--param limit=50`.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Start with the template's `filterIndex` (templates that filter on `verb`).
        #[arg(long)]
        use_field_indexes: bool,
    },
    /// Run a template on local files (--local) or on CloudWatch Logs Insights (--cluster).
    Run(Box<RunArgs>),
}

/// `audit-scan queries run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Template name (see `queries list`).
    pub name: String,
    /// A parameter value (repeatable), e.g. `--param min_latency_ms=2000`.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Evaluate on these audit log files, directories or globs instead of CloudWatch.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["cluster", "log_group"])]
    pub local: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RowFormat::Table)]
    pub format: RowFormat,
    /// Read through the log group's field indexes: a template that filters on `verb` starts
    /// with `filterIndex` (fewer bytes scanned). Its index policy must cover the window.
    #[arg(long)]
    pub use_field_indexes: bool,
    /// Only records at or after this time: a duration back from now (7d, 36h) or RFC 3339.
    /// CloudWatch default: the last hour.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records before this time (default: now).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Which log group, where, as whom.
    #[command(flatten)]
    pub target: super::scan::Target,
    /// Give up waiting for the query after this long (the service stops queries at 60m).
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub timeout: String,
    /// Attempts per call before giving up.
    #[arg(long, hide = true, default_value_t = 8)]
    pub max_attempts: u32,
}

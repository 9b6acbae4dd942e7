//! CLI: clap-derive types only, one file per subcommand's arguments; nothing below the
//! commands imports them.

use clap::{Parser, Subcommand};

pub mod diff;
pub mod generate;
pub mod queries;
pub mod scan;

use diff::DiffArgs;
use generate::GenerateArgs;
use scan::ScanArgs;

/// Which Kubernetes client is hurting the API server and etcd, and what should its owner change?
///
/// Reads kube-apiserver audit logs (JSON lines or EventList documents; plain, .gz or .zst) from
/// files, directories, globs or stdin, and reports LIST cost, per-client load, writes, errors and
/// watches.
#[derive(Debug, Parser)]
#[command(name = "audit-scan", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; otherwise scan INPUTs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// What to scan.
    #[command(flatten)]
    pub scan: ScanArgs,
}

/// The file name that makes the binary a kubectl plugin: kubectl runs `kubectl-audit_scan` on
/// `PATH` for `kubectl audit-scan ...` (a `-` in the command is a `_` in the file name).
pub const KUBECTL_PLUGIN: &str = "kubectl-audit_scan";

/// Whether `argv0` names the kubectl plugin (`kubectl-audit_scan`, `.exe` on Windows).
#[must_use]
pub fn is_kubectl_plugin(argv0: &std::path::Path) -> bool {
    argv0
        .file_stem()
        .is_some_and(|s| s.eq_ignore_ascii_case(KUBECTL_PLUGIN))
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a realistic synthetic audit log (for tests, benchmarks and demos).
    Generate(GenerateArgs),
    /// Compare two JSON reports (BASE, then CURRENT) and say what regressed, per client.
    Diff(DiffArgs),
    /// List the detection rules, or print one rule's documentation.
    Rules {
        /// A rule code (AS201) or slug (tight-reconcile-loop).
        id: Option<String>,
    },
    /// Logs Insights query templates: list them, print one, or run one (locally or on AWS).
    Queries(queries::QueriesArgs),
    /// Print a shell completion script: `audit-scan completions bash > /etc/bash_completion.d/audit-scan`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `audit-scan man | man -l -`.
    Man,
}

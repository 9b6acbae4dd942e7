//! `audit-scan diff` arguments.

use std::path::PathBuf;

use clap::Args;

/// `audit-scan diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The baseline report (`audit-scan --format json -o base.json ...`).
    pub base: PathBuf,
    /// The report to judge.
    pub current: PathBuf,
    /// Percent rise of a client's rate (requests/s, writes/s, LISTs/h, errors/h, P99) reported
    /// as a regression.
    #[arg(long, default_value_t = 50.0, value_name = "PCT")]
    pub threshold: f64,
    /// Exit with code 1 when a rate rose by more than PCT percent, or a finding is new or
    /// worse (for CI).
    #[arg(long, value_name = "PCT")]
    pub fail_on_regression: Option<f64>,
    /// Only these clients (glob; repeatable), e.g. 'karpenter' or 'kube-controller-manager/*'.
    ///
    /// A glob matches a client name or its product (the name up to its first `/` or `@`), so
    /// 'karpenter' keeps `karpenter@kube-system/karpenter`. A glob that matches no client of
    /// either report is an error (exit 2) that names the nearest clients.
    #[arg(long, value_name = "GLOB")]
    pub client: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// `audit-scan diff --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// For the terminal.
    Text,
    /// `audit-scan/diff/v1`.
    Json,
}

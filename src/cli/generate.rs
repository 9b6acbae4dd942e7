//! `audit-scan generate` arguments.

use std::path::PathBuf;

use clap::Args;

/// `audit-scan generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Approximate size to write, e.g. 100MB, 1GB (plain bytes).
    #[arg(long, default_value = "10MB")]
    pub size: String,
    /// Where to write (`.gz`/`.zst` compress); `-` for stdout.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Seed: the same seed and size give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Kubelets (nodes) in the synthetic cluster.
    #[arg(long, default_value_t = 50)]
    pub nodes: u32,
    /// Start time (RFC 3339).
    #[arg(long, default_value = "2024-05-01T10:00:00Z")]
    pub start: String,
    /// Mean requests per second of the background traffic.
    #[arg(long, default_value_t = 300.0)]
    pub rate: f64,
    /// Plant a problem in the traffic (repeatable): each is one rule's pattern.
    #[arg(long, value_enum)]
    pub plant: Vec<crate::synth::Plant>,
    /// Log writes to built-in API groups at RequestResponse level with whole objects as bodies
    /// (labels, last-applied annotation, managedFields), as EKS' audit policy does.
    #[arg(long)]
    pub bodies: bool,
}

//! `audit-scan generate` arguments.

use std::path::PathBuf;

use clap::Args;

/// `audit-scan generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Approximate size to write, e.g. 100MB, 1GB (plain bytes).
    #[arg(long, default_value = "10MB")]
    pub size: String,
    /// Span the log covers instead of a size, e.g. 6h, 7d: events run from --start for that
    /// long at --rate.
    #[arg(long, conflicts_with = "size")]
    pub duration: Option<String>,
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
    /// Mean requests per second of the cluster. Heartbeats run at their upstream periods
    /// whatever the rate (node Leases every 10 s, node status every 5 min, leader election
    /// every 2 s); the rest of the traffic fills the remainder.
    #[arg(long, default_value_t = 300.0)]
    pub rate: f64,
    /// Plant a problem in the traffic (repeatable): each is one rule's pattern, and fires at
    /// the default rate. NAME plants it for the whole log; NAME@START+LENGTH from START into
    /// the log for LENGTH (`reconcile-loop@2h+20m`), NAME@START from START to the end. Names:
    /// reconcile-loop, noop-updates, write-heavy, expensive-list, relist-storm,
    /// conflict-storm, fighting-writers, throttled, client-throttling, missing-object,
    /// slow-requests, deprecated-api, slow-webhook.
    #[arg(long, value_name = "NAME[@START[+LENGTH]]", value_parser = crate::synth::parse_plant)]
    pub plant: Vec<crate::synth::TimedPlant>,
    /// Log writes to built-in API groups at RequestResponse level with whole objects as bodies
    /// (labels, last-applied annotation, managedFields), as EKS' audit policy does.
    #[arg(long)]
    pub bodies: bool,
}

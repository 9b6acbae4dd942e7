//! Rows shared by several sections of the report (and by health).

use serde::Serialize;

/// Percentiles in ms; null when there were no samples.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema, PartialEq)]
pub struct LatencyRow {
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// Exact maximum.
    pub max: f64,
    /// Exact mean.
    pub mean: f64,
    /// Samples behind the figures.
    pub samples: u64,
}

/// A name with a count.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NameCount {
    /// Name.
    pub name: String,
    /// Count.
    pub count: u64,
}

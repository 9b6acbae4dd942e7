//! The incident timeline: the minutes below the success-rate SLO grouped into dips, the bursts
//! of 429s and of 5xx, and for each dip the clients whose traffic in it departs from their own
//! baseline (data only; built in `build::timeline`).

use serde::Serialize;

use super::rows::NameCount;

/// The `incident_timeline` section (`timeline` is the per-minute series, kept as it was).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IncidentTimeline {
    /// Windows no longer than this have no incident timeline.
    pub min_span_hours: u64,
    /// Below-SLO (or burst) minutes separated by at most this many healthy (or quiet) minutes
    /// belong to the same dip (or burst).
    pub merge_gap_minutes: u64,
    /// The success rate the dips fall below (`health.success_threshold`).
    pub success_threshold: f64,
    /// Dips, in time order.
    pub dips: Vec<Dip>,
    /// Bursts of 429 answers, in time order.
    pub throttle_bursts: Vec<Burst>,
    /// Bursts of 5xx answers, in time order.
    pub error_bursts: Vec<Burst>,
}

/// A run of minutes below the success-rate SLO.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Dip {
    /// First minute below the SLO.
    pub start: String,
    /// Last minute below the SLO.
    pub end: String,
    /// Minutes from start to end, inclusive.
    pub minutes: u64,
    /// Of which below the SLO (the rest are bridged healthy minutes).
    pub minutes_below: u64,
    /// The minute with the lowest success rate.
    pub worst_minute: String,
    /// Its success rate (the lower of the system and workload classes).
    pub worst_success_rate: f64,
    /// Short requests in the dip.
    pub requests: u64,
    /// Of which answered 429 or 5xx.
    pub failed: u64,
    /// Of which answered 429.
    pub throttled: u64,
    /// The clients whose traffic in the dip departs from their baseline, ranked by `explains`
    /// (at most [`MAX_DIP_CLIENTS`]).
    pub clients: Vec<DipClient>,
}

/// Most clients listed per dip.
pub const MAX_DIP_CLIENTS: usize = 5;

/// One client's part in a dip.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DipClient {
    /// Client.
    pub client: String,
    /// Its requests in the dip.
    pub requests: u64,
    /// Its requests per minute in the dip.
    pub per_minute: f64,
    /// Its requests per minute outside every dip (its baseline).
    pub baseline_per_minute: f64,
    /// Requests above its baseline in the dip (`requests` − baseline × dip minutes, at least 0).
    pub excess: u64,
    /// Its short requests answered 429 or 5xx in the dip.
    pub failed: u64,
    /// `failed` ÷ the dip's failed requests.
    pub failed_share: f64,
    /// `excess` ÷ the excess of every client in the dip.
    pub excess_share: f64,
    /// How much of the dip it explains: the mean of `failed_share` and `excess_share`.
    pub explains: f64,
    /// Its episode (`clients[].episodes`) that overlaps the dip, if it has one: the span in
    /// which its own behaviour departed from its baseline. The longest overlap wins.
    pub episode: Option<super::finding::Episode>,
}

/// A run of minutes with a burst of one kind of failure.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Burst {
    /// First burst minute.
    pub start: String,
    /// Last burst minute.
    pub end: String,
    /// Minutes from start to end, inclusive.
    pub minutes: u64,
    /// Answers of this kind in the burst.
    pub count: u64,
    /// The busiest minute.
    pub peak_minute: String,
    /// Its count.
    pub peak: u64,
    /// Clients by their answers of this kind in the burst (at most 3).
    pub clients: Vec<NameCount>,
}

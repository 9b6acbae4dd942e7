//! Health and sizing: the control plane's SLO figures, success per minute and the EKS tier
//! the load needs (data only; built in `report::health`).

use serde::{Deserialize, Serialize};

use super::rows::{LatencyRow, NameCount};

/// Latency of one client's calls of one SLO class.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SloRow {
    /// Client.
    pub client: String,
    /// `mutating`, `read-only`, `list-namespace`, `list-cluster`.
    pub class: String,
    /// The upstream SLO on P99, seconds.
    pub threshold_s: f64,
    /// Latency (its `samples` is the call count).
    pub latency_ms: Option<LatencyRow>,
    /// P99 above the SLO threshold.
    pub over: bool,
    /// Earliest auditIDs of the calls slower than the threshold.
    pub sample_audit_ids: Vec<String>,
}

/// Success in one minute for one client class.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct ClassMinute {
    /// Short requests.
    pub requests: u64,
    /// Answered 5xx or 429.
    pub failed: u64,
    /// 1 − failed / requests.
    pub success_rate: f64,
}

/// One minute of the success timeline.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SuccessMinute {
    /// Minute start.
    pub minute: String,
    /// System components: `system:*` users other than service accounts, and service accounts
    /// of kube-system.
    pub system: Option<ClassMinute>,
    /// Everything else.
    pub workload: Option<ClassMinute>,
}

/// One 5-minute window where an SLI missed its SLO.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SloViolation {
    /// Window start.
    pub window: String,
    /// Resource.
    pub resource: String,
    /// SLO class.
    pub class: String,
    /// Calls in the window.
    pub calls: u64,
    /// Of which slower than the threshold.
    pub over: u64,
    /// The threshold, s.
    pub threshold_s: f64,
}

/// The `health` section.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Health {
    /// Minutes listed below this success rate.
    pub success_threshold: f64,
    /// Success per minute, system vs workload (short requests; 5xx and 429 are failures).
    pub minutes: Vec<SuccessMinute>,
    /// Minutes where either class fell below the threshold: workload minutes are outages users
    /// saw, system-only minutes are component faults.
    pub below_threshold: Vec<String>,
    /// Separate dips `below_threshold` makes: its minutes with at most 5 healthy minutes between
    /// them count as one (`incident_timeline.merge_gap_minutes`).
    pub dips: u64,
    /// 5-minute windows × resource × class checked.
    pub slo_windows_checked: u64,
    /// Windows where more than 1% of calls were slower than the SLO (P99 above it). Audit latency
    /// includes APF queue wait and webhooks, which the upstream SLI excludes: an upper bound.
    pub slo_violations: Vec<SloViolation>,
    /// Per client and class, over the whole log (the `slo[]` rows that missed; a filtered scan
    /// has the selection's clients only).
    pub slo_clients_over: Vec<SloRow>,
}

/// One EKS control-plane tier (data/eks-tiers.toml).
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Tier {
    /// Name.
    pub name: String,
    /// APF seats.
    pub seats: f64,
    /// Pod bindings per second, if published.
    #[serde(default)]
    pub pods_per_second: Option<f64>,
    /// etcd database limit, GB.
    pub etcd_gb: f64,
}

/// The tier recommendation with its arithmetic.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TierChoice {
    /// The smallest tier that fits with headroom (the largest when none does).
    pub recommended: String,
    /// Whether even the largest tier is short.
    pub exceeds_largest: bool,
    /// Each step of the arithmetic, in words.
    pub arithmetic: Vec<String>,
    /// Minutes with APF rejections the verdict leaves unjudged (`sizing.apf_rejected_minutes`).
    pub rejected_minutes: u64,
    /// `false` when there are such minutes: the recommended tier fits only the other minutes.
    pub fits_rejected_minutes: bool,
}

/// The `sizing` section.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Sizing {
    /// How the estimate was made.
    pub method: &'static str,
    /// Highest per-minute average of seats in use.
    pub peak_seats: f64,
    /// Its minute.
    pub peak_minute: Option<String>,
    /// 99th percentile of per-minute seats (minutes of the span, zeros included).
    pub p99_seats: f64,
    /// Clients by seat-seconds held.
    pub top_clients: Vec<NameCount>,
    /// Busiest second of successful `pods/binding` creates.
    pub peak_pod_bindings_per_second: u64,
    /// Busiest minute's successful writes, per second.
    pub peak_writes_per_second: f64,
    /// The EKS tier.
    pub tier: TierChoice,
    /// Requests API Priority and Fairness rejected (429 with no reason): demand above capacity.
    pub apf_rejected_requests: u64,
    /// Minutes with APF rejections.
    pub apf_rejected_minute_count: u64,
    /// The minutes with the most APF rejections (at most [`MAX_REJECTED_MINUTES`]), in time
    /// order: the tier verdict never says they fit.
    pub apf_rejected_minutes: Vec<RejectedMinute>,
    /// etcd's MVCC revision overhead from the write rate.
    pub etcd_revisions: EtcdRevisions,
    /// How fast etcd grows, from the objects that creates and deletes returned (absent when no
    /// create or delete had its object logged: Metadata-level logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etcd_growth: Option<EtcdGrowth>,
}

/// Most minutes listed in `apf_rejected_minutes`.
pub const MAX_REJECTED_MINUTES: usize = 100;

/// A minute in which APF rejected requests.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RejectedMinute {
    /// Minute start.
    pub minute: String,
    /// Requests rejected.
    pub rejected: u64,
    /// Seats observed in it (a lower bound of the demand), to 2 decimals.
    pub seats: f64,
}

/// etcd's MVCC overhead: every write is a new revision of its key, kept until kube-apiserver
/// compacts (every `compaction_interval_s`), so the database holds about
/// writes/s × interval × revision size on top of the live objects.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EtcdRevisions {
    /// The busiest minute's successful writes per second.
    pub peak_writes_per_second: f64,
    /// Compaction interval assumed, s (kube-apiserver's `--etcd-compaction-interval`, 5m).
    pub compaction_interval_s: u64,
    /// Bytes assumed per revision (the log does not carry object sizes).
    pub revision_bytes: u64,
    /// Revisions kept between compactions at the peak rate.
    pub revisions: u64,
    /// Their bytes (`revisions × revision_bytes`).
    pub bytes: u64,
}

/// `sizing.etcd_growth`: bytes created minus bytes deleted, from the `responseObject` of each
/// successful create and delete that has one logged (Request/RequestResponse level).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EtcdGrowth {
    /// How the estimate was made.
    pub method: &'static str,
    /// Successful creates of objects.
    pub creates: u64,
    /// Of which with the created object logged.
    pub creates_measured: u64,
    /// Bytes of those objects.
    pub created_bytes: u64,
    /// Successful deletes and deletecollections.
    pub deletes: u64,
    /// Of which with the deleted object (or list) logged.
    pub deletes_measured: u64,
    /// Bytes of those objects.
    pub deleted_bytes: u64,
    /// (created − deleted bytes) per hour of the report's span; absent for a span of zero.
    pub net_bytes_per_hour: Option<f64>,
}

//! Findings: what a rule says about one client — severity, score, evidence and remediation
//! (the `findings[]` of the JSON contract). Rules make them (`rules::finding`).

use std::collections::BTreeMap;

use serde::Serialize;

/// How bad a finding is.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    #[default]
    Info,
    /// Small cost.
    Low,
    /// Noticeable cost.
    Medium,
    /// A large share of the control plane.
    High,
    /// Hurting the control plane now.
    Critical,
}

impl Severity {
    /// Severity from a score in seat-seconds per hour: ≥ 1,800 (half a seat all the time)
    /// critical, ≥ 360 high, ≥ 36 medium, ≥ 3.6 low, else info.
    #[must_use]
    pub fn from_score(score: f64) -> Self {
        match score {
            s if s >= 1800.0 => Self::Critical,
            s if s >= 360.0 => Self::High,
            s if s >= 36.0 => Self::Medium,
            s if s >= 3.6 => Self::Low,
            _ => Self::Info,
        }
    }

    /// Lower-case name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// What a rule saw.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, Default)]
pub struct Evidence {
    /// The measured quantity (`writes_per_minute`).
    pub metric: String,
    /// Its value.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// First time seen.
    pub first: Option<String>,
    /// Last time seen.
    pub last: Option<String>,
    /// The busiest minute of the finding (its object's or its client's), when known.
    pub busiest_minute: Option<String>,
    /// Seconds from `first` to `last`: the active window the score is judged over.
    pub window_seconds: Option<f64>,
    /// Example auditIDs (look them up in the log).
    pub sample_audit_ids: Vec<String>,
    /// Other numbers behind the finding.
    pub details: BTreeMap<String, serde_json::Value>,
    /// The client's requests per second over the finding's episodes (its active span), when
    /// it has any: beside [`Evidence::window_per_second`], what the incident looked like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_per_second: Option<f64>,
    /// The client's requests per second averaged over the report's whole span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_per_second: Option<f64>,
}

/// A span of minutes in which one client's behaviour departs from its own baseline: its
/// requests, errors (answers ≥ 400) or APF seat time (latency × width) in a minute well above
/// its typical minute of the report's window. Detected from the per-client per-minute table
/// (`build::episodes`); the clients table lists each client's, a finding those of its client
/// that overlap what it counted. Times are minute boundaries (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Episode {
    /// Start of the first minute.
    pub start: String,
    /// End of the last minute (exclusive: the start of the minute after it).
    pub end: String,
    /// Its length, minutes (`end − start`).
    pub minutes: u64,
    /// The minute with the most requests.
    pub peak_minute: String,
    /// Requests per second in that minute.
    pub peak_per_second: f64,
    /// The client's requests in the episode.
    pub requests: u64,
    /// Its requests per second over the episode.
    pub per_second: f64,
    /// Its typical requests per second: its median minute over the report's window (zeros
    /// included).
    pub baseline_per_second: f64,
    /// What departed from the baseline in some minute of it: `rate`, `errors`, `seats`.
    pub signals: Vec<&'static str>,
}

/// The requests per second over `episodes` (their requests over their minutes), if any: the
/// rate of the active span, beside the window's average.
#[must_use]
pub fn active_per_second(episodes: &[Episode]) -> Option<f64> {
    let minutes: u64 = episodes.iter().map(|e| e.minutes).sum();
    let requests: u64 = episodes.iter().map(|e| e.requests).sum();
    (minutes > 0).then(|| (requests as f64 / (minutes * 60) as f64 * 100.0).round() / 100.0)
}

/// Where a finding sits in time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Temporal {
    /// Throughout what it counted: no episode of its client bounds it.
    #[default]
    Chronic,
    /// Bounded: its window is its client's episodes (`episodes`), not the whole log.
    Episode,
    /// Last seen long before the window's end (`stopped_at`): it has stopped.
    Ended,
}

/// One finding.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Finding {
    /// 1-based rank by score (0 until ranked).
    pub rank: usize,
    /// Rule code, e.g. `AS201`.
    pub rule: &'static str,
    /// Rule slug, e.g. `tight-reconcile-loop`.
    pub slug: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Estimated cost to the control plane, seat-seconds per hour ([`cost`]).
    pub score: f64,
    /// The client to tell.
    pub client: String,
    /// The resource, when one.
    pub resource: Option<String>,
    /// The object (`namespace/name`), when one.
    pub object: Option<String>,
    /// One line: what is wrong.
    pub headline: String,
    /// The numbers.
    pub evidence: Evidence,
    /// What the client's owner should change.
    pub remediation: String,
    /// Why it is suppressed, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
    /// A call to an API removed at most two minors after the cluster's version: listed in the
    /// report's "upgrade blockers" group, whatever `--top` says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub upgrade_blocker: bool,
    /// Chronic, an episode, or ended ([`Temporal`]).
    #[serde(default)]
    pub temporal: Temporal,
    /// Its client's episodes that overlap what it counted (start, end, peak minute, peak rate);
    /// when `temporal` is `episode`, `evidence.first`/`last` are theirs.
    #[serde(default)]
    pub episodes: Vec<Episode>,
    /// When `temporal` is `ended`: the last time it was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// The least severity the rule gives it whatever its score ([`Finding::at_least`]).
    #[serde(skip)]
    pub floor: Severity,
}

impl Finding {
    /// Sets the resource.
    #[must_use]
    pub fn resource(mut self, r: &str) -> Self {
        self.resource = Some(r.to_owned());
        self
    }

    /// Sets the object.
    #[must_use]
    pub fn object(mut self, o: String) -> Self {
        self.object = Some(o);
        self
    }

    /// Raises the severity to at least `s` (for rules whose harm is not only cost).
    #[must_use]
    pub fn at_least(mut self, s: Severity) -> Self {
        self.severity = self.severity.max(s);
        self.floor = self.floor.max(s);
        self
    }
}

//! Rules: detections that read the report's tables (never raw events) and say which client
//! hurts the control plane, how much (a score in the shared [`crate::model::cost`] unit), the evidence, and
//! what its owner should change. A registry of units, like a linter's: each rule has a stable
//! code (`AS101`, never reused), a slug, documented thresholds, and its own file.
//! Families: 1xx LIST/watch, 2xx writes and contention, 3xx throttling and errors,
//! 4xx deprecated APIs, 5xx latency.

pub mod config;
pub mod ledger;
mod registry;
pub mod symptoms;
mod window;

pub(crate) mod client_side_throttling;
mod conflict_storm;
mod deprecated_api;
mod expensive_list;
mod fighting_writers;
mod missing_object_loop;
mod noop_updates;
mod object_group;
mod reconcile_loop;
mod slow_requests;
mod slow_webhook;
mod throttled_client;
mod top_consumer;
mod watch_relist_storm;
mod write_heavy_client;

use std::collections::BTreeMap;

pub use config::Config;
pub use registry::{RULES, find};

use crate::model::finding::{Evidence, Finding, Severity};
use crate::model::report::Report;

/// A finding of `rule` with the severity its score earns.
#[must_use]
pub fn finding(
    rule: &dyn Rule,
    client: &str,
    score: f64,
    headline: String,
    evidence: Evidence,
    remediation: String,
) -> Finding {
    let score = (score * 100.0).round() / 100.0;
    Finding {
        rank: 0,
        rule: rule.code(),
        slug: rule.slug(),
        severity: Severity::from_score(score),
        score,
        client: client.to_owned(),
        resource: None,
        object: None,
        headline,
        evidence,
        remediation,
        suppressed: None,
        upgrade_blocker: false,
        temporal: crate::model::finding::Temporal::default(),
        episodes: Vec::new(),
        stopped_at: None,
        floor: Severity::Info,
    }
}

/// A named threshold with its default and where the default comes from.
#[derive(Debug, Clone, Copy)]
pub struct Threshold {
    /// Name used in the config file.
    pub name: &'static str,
    /// Default value.
    pub default: f64,
    /// What it means and where it comes from.
    pub source: &'static str,
}

/// A detection.
pub trait Rule: Sync {
    /// Stable code, `AS` + three digits.
    fn code(&self) -> &'static str;
    /// Kebab-case name of what it flags.
    fn slug(&self) -> &'static str;
    /// One-line title.
    fn title(&self) -> &'static str;
    /// Documentation: What it does, Why is this bad?, Example, Remediation, References.
    fn doc(&self) -> &'static str;
    /// Its thresholds.
    fn thresholds(&self) -> &'static [Threshold];
    /// Appends findings for `report`, with thresholds from `t`.
    fn check(&self, report: &Report, t: &Thresholds, out: &mut Vec<Finding>);
}

/// Threshold values for one rule: the config's, else the defaults.
pub struct Thresholds<'a> {
    rule: &'a dyn Rule,
    overrides: Option<&'a BTreeMap<String, f64>>,
}

impl Thresholds<'_> {
    /// The value of threshold `name` (a name the rule declares). An undeclared name is a
    /// misspelling in the rule: NaN would silently fail every comparison, so debug builds (the
    /// tests) stop on it.
    #[must_use]
    pub fn get(&self, name: &str) -> f64 {
        debug_assert!(
            self.rule.thresholds().iter().any(|t| t.name == name),
            "rule {} reads threshold '{name}', which it does not declare",
            self.rule.code()
        );
        self.overrides
            .and_then(|o| o.get(name).copied())
            .or_else(|| {
                self.rule
                    .thresholds()
                    .iter()
                    .find(|t| t.name == name)
                    .map(|t| t.default)
            })
            .unwrap_or(f64::NAN)
    }
}

/// Runs every rule (or those `select`ed), places each finding in its own window
/// ([`window::place`]) and ranks them: severity first, then score within a severity, so a HIGH
/// never sits below a LOW. Suppressed findings come back apart, never dropped.
#[must_use]
pub fn run(report: &Report, config: &Config, today: &str) -> (Vec<Finding>, Vec<Finding>) {
    let mut all = Vec::new();
    for rule in RULES.iter().filter(|r| config.runs(r.code())) {
        let t = Thresholds {
            rule: *rule,
            overrides: config.rules.get(rule.code()),
        };
        rule.check(report, &t, &mut all);
    }
    // The top consumer is said once: every finding names its client's dominant cost (from the
    // ledger), and AS503 is dropped where another finding already names the client.
    let costs = ledger::ledger(report);
    let named: std::collections::BTreeSet<String> = all
        .iter()
        .filter(|f| f.rule != "AS503")
        .map(|f| f.client.clone())
        .collect();
    all.retain(|f| f.rule != "AS503" || !named.contains(&f.client));
    for f in &mut all {
        if let Some(d) = costs.get(&f.client).and_then(|l| l.dominant.clone()) {
            f.evidence
                .details
                .insert("client_dominant_cost".into(), d.into());
        }
    }
    for f in &mut all {
        window::place(f, report);
    }
    // After AS503's check (a victim folded into its cause is still named there) and after each
    // finding's window (which re-judges severity): a symptom's cap to low must be the last word.
    symptoms::fold(&mut all, report);
    all.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| {
                (a.rule, &a.client, &a.resource, &a.object).cmp(&(
                    b.rule,
                    &b.client,
                    &b.resource,
                    &b.object,
                ))
            })
    });
    let (mut active, mut suppressed) = (Vec::new(), Vec::new());
    for mut f in all {
        match config.suppression(&f, today) {
            Some(reason) => {
                f.suppressed = Some(reason);
                suppressed.push(f);
            }
            None => active.push(f),
        }
    }
    rank(&mut active);
    (active, suppressed)
}

/// Numbers the findings 1, 2, … in their order (the one place a rank is given).
pub fn rank(findings: &mut [Finding]) {
    for (i, f) in findings.iter_mut().enumerate() {
        f.rank = i + 1;
    }
}

/// `group/resource` rows and the client's latency, shared by rules.
pub(crate) fn client_mean_ms(report: &Report, client: &str) -> f64 {
    report
        .clients
        .iter()
        .find(|c| c.client == client)
        .and_then(|c| c.latency_ms.map(|l| l.mean))
        .unwrap_or(10.0)
}

/// The cluster's successful writes to the resources `keep(resource, subresource)` accepts: from
/// the cluster scope of a filtered scan, else from the report's write rows (then the cluster's).
pub(crate) fn cluster_writes(report: &Report, keep: impl Fn(&str, &str) -> bool) -> u64 {
    match &report.summary.selection {
        Some(s) => s
            .cluster_writes_by_resource
            .iter()
            .filter(|w| keep(&w.resource, &w.subresource))
            .map(|w| w.count)
            .sum(),
        None => report
            .writes
            .iter()
            .filter(|w| keep(&w.resource, &w.subresource))
            .map(|w| w.count)
            .sum(),
    }
}

/// Rounds for display in headlines.
pub(crate) fn r1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Requests of `client` with `verb` on `resource` (from the report's `calls`).
pub(crate) fn calls(report: &Report, client: &str, verb: &str, resource: &str) -> u64 {
    report
        .calls
        .iter()
        .filter(|c| c.client == client && c.verb == verb && c.resource == resource)
        .map(|c| c.count)
        .sum()
}

/// An object row's resource as the other tables name it (`deployments.apps`).
pub(crate) fn qualified(o: &crate::model::report::ObjectRow) -> String {
    if o.group.is_empty() {
        o.resource.clone()
    } else {
        format!("{}.{}", o.resource, o.group)
    }
}

/// `namespace/name`, or `name` for cluster-scoped objects.
pub(crate) fn object_name(o: &crate::model::report::ObjectRow) -> String {
    if o.namespace.is_empty() {
        o.name.clone()
    } else {
        format!("{}/{}", o.namespace, o.name)
    }
}

/// The rustdoc of a rule's struct, from its file's text: what `audit-scan rules CODE` prints.
#[must_use]
pub fn documentation(rule: &dyn Rule) -> String {
    let src = rule.doc();
    let end = src.find("pub struct").unwrap_or(src.len());
    let lines: Vec<&str> = src[..end]
        .lines()
        .rev()
        .take_while(|l| l.starts_with("///"))
        .collect();
    lines
        .iter()
        .rev()
        .map(|l| {
            l.trim_start_matches("///")
                .strip_prefix(' ')
                .unwrap_or(l.trim_start_matches("///"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

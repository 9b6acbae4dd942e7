//! `audit-scan diff BASE.json CURRENT.json`: what regressed between two runs, per client.
//!
//! Both sides are `audit-scan/report/v1` documents. Rates are compared, not counts, so a one-day
//! baseline and a seven-day run compare fairly: requests/s, writes/s, LISTs/h and errors/h per
//! client (from the rows' own per-span rates), plus the client's P99 latency. A change is a
//! regression when it rises by more than `--threshold` percent and the current value is above
//! the metric's noise floor (a client going from 1 to 3 writes an hour is +200% and nothing).
//! Findings are matched by rule, client, resource and object: a new one, or one whose severity
//! rose, is a regression; one that disappeared is listed as resolved. `--client` globs match a
//! client's name or its product; a glob that matches no client of either report is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::aggregate::filter::Patterns;
use crate::decode::client::client_product;

/// The parts of a report the diff reads.
#[derive(Debug, Deserialize)]
struct View {
    schema: String,
    summary: ViewSummary,
    #[serde(default)]
    clients: Vec<ViewClient>,
    #[serde(default)]
    writes: Vec<ViewWrite>,
    #[serde(default)]
    lists: Vec<ViewList>,
    #[serde(default)]
    findings: Vec<ViewFinding>,
}

#[derive(Debug, Deserialize)]
struct ViewSummary {
    span_seconds: f64,
    first_timestamp: Option<String>,
    last_timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ViewLatency {
    p99: f64,
    samples: u64,
}

#[derive(Debug, Deserialize)]
struct ViewClient {
    client: String,
    errors: u64,
    mean_qps: f64,
    latency_ms: Option<ViewLatency>,
}

#[derive(Debug, Deserialize)]
struct ViewWrite {
    client: String,
    resource: String,
    subresource: String,
    verb: String,
    per_second: f64,
}

#[derive(Debug, Deserialize)]
struct ViewList {
    client: String,
    per_hour: f64,
}

#[derive(Debug, Deserialize)]
struct ViewFinding {
    rule: String,
    slug: String,
    severity: String,
    score: f64,
    client: String,
    resource: Option<String>,
    object: Option<String>,
    headline: String,
}

/// A compared metric.
#[derive(Debug, Clone, Copy)]
struct Metric {
    name: &'static str,
    unit: &'static str,
    /// Seconds per unit of a rate (1 for /s, 3600 for /h), to count the events behind it;
    /// `None` for a latency, which is not a count.
    seconds_per_unit: Option<f64>,
    /// Below this (current value) a rise is noise.
    floor: f64,
}

const REQUESTS: Metric = Metric {
    name: "requests",
    unit: "/s",
    seconds_per_unit: Some(1.0),
    floor: 0.1,
};
const WRITES: Metric = Metric {
    name: "writes",
    unit: "/s",
    seconds_per_unit: Some(1.0),
    floor: 0.01,
};
const LISTS: Metric = Metric {
    name: "lists",
    unit: "/h",
    seconds_per_unit: Some(3600.0),
    floor: 6.0,
};
const ERRORS: Metric = Metric {
    name: "errors",
    unit: "/h",
    seconds_per_unit: Some(3600.0),
    floor: 6.0,
};
const P99: Metric = Metric {
    name: "p99_latency",
    unit: " ms",
    seconds_per_unit: None,
    floor: 50.0,
};

/// A rate is judged only when at least this many events stand behind the larger side.
const MIN_EVENTS: f64 = 10.0;
/// P99 latencies are compared only when both sides have this many samples.
const MIN_LATENCY_SAMPLES: u64 = 100;

/// Noise floors, for the documentation and `--help`.
pub const FLOORS: &str = "requests 0.1/s, writes 0.01/s, LISTs 6/h, errors 6/h, P99 50 ms and ±20 ms (100+ samples a side); 10+ events behind a rate";

/// Per-client figures of one report.
#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    requests: f64,
    writes: f64,
    lists: f64,
    errors: f64,
    /// P99 and its sample count.
    p99: Option<(f64, u64)>,
}

/// Whether `--client` lets `client` through: a glob matches the name or its product (the part
/// before the first `/` or `@`), as the scan's `--client` does.
fn keep(only: Option<&Patterns>, client: &str) -> bool {
    only.is_none_or(|p| p.matches_client(client, client_product(client)))
}

/// Every client a report names, in any table the diff reads.
fn client_names(v: &View) -> impl Iterator<Item = &str> {
    v.clients
        .iter()
        .map(|c| c.client.as_str())
        .chain(v.writes.iter().map(|w| w.client.as_str()))
        .chain(v.lists.iter().map(|l| l.client.as_str()))
        .chain(v.findings.iter().map(|f| f.client.as_str()))
}

/// `--client` patterns that match no client of either report: a typo would otherwise compare
/// nothing and pass forever. The error names the nearest clients.
fn check_matches(b: &View, c: &View, only: Option<&Patterns>) -> Result<()> {
    let Some(p) = only else { return Ok(()) };
    if client_names(b)
        .chain(client_names(c))
        .any(|n| keep(only, n))
    {
        return Ok(());
    }
    let names: BTreeSet<&str> = client_names(b).chain(client_names(c)).collect();
    let mut near: Vec<&str> = Vec::new();
    for pattern in p.raw() {
        for n in crate::decode::client::nearest(pattern, names.iter().copied(), 3) {
            if !near.contains(&n) && near.len() < 3 {
                near.push(n);
            }
        }
    }
    let near = if near.is_empty() {
        "neither report has any client".to_owned()
    } else {
        format!("nearest clients: {}", near.join(", "))
    };
    anyhow::bail!(
        "--client {} matches no client in BASE or CURRENT; {near}",
        p.raw()
            .iter()
            .map(|r| format!("'{r}'"))
            .collect::<Vec<_>>()
            .join(" --client ")
    )
}

fn figures(v: &View, only: Option<&Patterns>) -> BTreeMap<String, Figures> {
    let span = v.summary.span_seconds.max(1.0);
    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    for c in v.clients.iter().filter(|c| keep(only, &c.client)) {
        let f = out.entry(c.client.clone()).or_default();
        f.requests = c.mean_qps;
        f.errors = c.errors as f64 / span * 3600.0;
        f.p99 = c.latency_ms.as_ref().map(|l| (l.p99, l.samples));
    }
    for w in v.writes.iter().filter(|w| keep(only, &w.client)) {
        out.entry(w.client.clone()).or_default().writes += w.per_second;
    }
    for l in v.lists.iter().filter(|l| keep(only, &l.client)) {
        out.entry(l.client.clone()).or_default().lists += l.per_hour;
    }
    out
}

/// One metric of one client that changed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// Client.
    pub client: String,
    /// `requests`, `writes`, `lists`, `errors`, `p99_latency`, or `writes:VERB RESOURCE`.
    pub metric: String,
    /// Unit of the values (`/s`, `/h`, ` ms`).
    pub unit: &'static str,
    /// Baseline value (0 for a client new in CURRENT).
    pub base: f64,
    /// Current value.
    pub current: f64,
    /// Percent change; `null` when the baseline is 0 (a new load).
    pub change_pct: Option<f64>,
}

/// A finding that is new, worse or gone.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FindingChange {
    /// Rule code.
    pub rule: String,
    /// Rule slug.
    pub slug: String,
    /// Client.
    pub client: String,
    /// Resource, when one.
    pub resource: Option<String>,
    /// Object, when one.
    pub object: Option<String>,
    /// Severity in BASE (`null`: new).
    pub base_severity: Option<String>,
    /// Severity in CURRENT (`null`: resolved).
    pub current_severity: Option<String>,
    /// Score in CURRENT (or BASE when resolved), seat-seconds per hour.
    pub score: f64,
    /// The headline.
    pub headline: String,
}

/// The comparison, `audit-scan/diff/v1`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Diff {
    /// `audit-scan/diff/v1`.
    pub schema: &'static str,
    /// BASE's time range.
    pub base: (Option<String>, Option<String>),
    /// CURRENT's time range.
    pub current: (Option<String>, Option<String>),
    /// Percent rise that counts as a regression.
    pub threshold_pct: f64,
    /// Metrics that rose past the threshold, worst first.
    pub regressions: Vec<Change>,
    /// Metrics that fell by more than the threshold.
    pub improvements: Vec<Change>,
    /// Findings new in CURRENT or with a higher severity.
    pub new_findings: Vec<FindingChange>,
    /// Findings of BASE absent from CURRENT.
    pub resolved_findings: Vec<FindingChange>,
}

impl Diff {
    /// Whether CI should fail: a rise over `pct` percent, or any new or worse finding.
    #[must_use]
    pub fn fails(&self, pct: f64) -> bool {
        !self.new_findings.is_empty()
            || self
                .regressions
                .iter()
                .any(|c| c.change_pct.is_none_or(|p| p > pct))
    }
}

fn load(path: &std::path::Path) -> Result<View> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: View = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not an audit-scan JSON report (write one with --format json)",
            path.display()
        )
    })?;
    if v.schema != crate::model::report::SCHEMA {
        anyhow::bail!(
            "{}: schema '{}' is not {}",
            path.display(),
            v.schema,
            crate::model::report::SCHEMA
        );
    }
    Ok(v)
}

fn change(client: &str, m: Metric, metric: String, base: f64, current: f64) -> Change {
    Change {
        client: client.to_owned(),
        metric,
        unit: m.unit,
        base: round(base),
        current: round(current),
        change_pct: (base > 0.0).then(|| round((current / base - 1.0) * 100.0)),
    }
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Compares two reports.
///
/// # Errors
/// A file cannot be read or is not a v1 report.
pub fn compare(
    base: &std::path::Path,
    current: &std::path::Path,
    threshold_pct: f64,
    only: Option<&Patterns>,
) -> Result<Diff> {
    let (b, c) = (load(base)?, load(current)?);
    check_matches(&b, &c, only)?;
    let (fb, fc) = (figures(&b, only), figures(&c, only));
    let mut regressions = Vec::new();
    let mut improvements = Vec::new();
    let up = 1.0 + threshold_pct / 100.0;
    let spans = (
        b.summary.span_seconds.max(1.0),
        c.summary.span_seconds.max(1.0),
    );
    let mut judge = |client: &str, m: Metric, name: String, base: f64, current: f64| {
        // Events behind the larger rate: a rate from a handful of events is noise.
        if let Some(unit_s) = m.seconds_per_unit
            && (base * spans.0).max(current * spans.1) / unit_s < MIN_EVENTS
        {
            return;
        }
        if current > base * up && current >= m.floor {
            regressions.push(change(client, m, name, base, current));
        } else if base > current * up && base >= m.floor {
            improvements.push(change(client, m, name, base, current));
        }
    };
    let clients: BTreeSet<&String> = fb.keys().chain(fc.keys()).collect();
    let zero = Figures::default();
    for client in clients {
        let (x, y) = (
            fb.get(client).unwrap_or(&zero),
            fc.get(client).unwrap_or(&zero),
        );
        for (m, bx, cy) in [
            (REQUESTS, x.requests, y.requests),
            (WRITES, x.writes, y.writes),
            (LISTS, x.lists, y.lists),
            (ERRORS, x.errors, y.errors),
        ] {
            judge(client, m, m.name.to_owned(), bx, cy);
        }
        // Latency only compares where both runs saw the client.
        if let (Some((bx, bn)), Some((cy, cn))) = (x.p99, y.p99)
            && (cy - bx).abs() >= 20.0
            && bn.min(cn) >= MIN_LATENCY_SAMPLES
        {
            judge(client, P99, P99.name.to_owned(), bx, cy);
        }
    }
    // Writes per verb and resource: where the client's new writes land.
    let per_write = |v: &View| {
        let mut m: BTreeMap<(String, String), f64> = BTreeMap::new();
        for w in v.writes.iter().filter(|w| keep(only, &w.client)) {
            let res = crate::model::report::resource_path(&w.resource, &w.subresource);
            *m.entry((w.client.clone(), format!("writes:{} {res}", w.verb)))
                .or_default() += w.per_second;
        }
        m
    };
    let (wb, wc) = (per_write(&b), per_write(&c));
    let keys: BTreeSet<&(String, String)> = wb.keys().chain(wc.keys()).collect();
    for k in keys {
        let (bx, cy) = (
            wb.get(k).copied().unwrap_or(0.0),
            wc.get(k).copied().unwrap_or(0.0),
        );
        judge(&k.0, WRITES, k.1.clone(), bx, cy);
    }
    let sort = |v: &mut Vec<Change>| {
        v.sort_by(|a, b| {
            let key = |c: &Change| c.change_pct.unwrap_or(f64::INFINITY);
            key(b)
                .total_cmp(&key(a))
                .then_with(|| a.client.cmp(&b.client))
                .then_with(|| a.metric.cmp(&b.metric))
        });
    };
    sort(&mut regressions);
    improvements.sort_by(|a, b| {
        let key = |c: &Change| c.change_pct.unwrap_or(0.0);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| a.client.cmp(&b.client))
            .then_with(|| a.metric.cmp(&b.metric))
    });
    let (new_findings, resolved_findings) = compare_findings(&b, &c, only);
    Ok(Diff {
        schema: "audit-scan/diff/v1",
        base: (b.summary.first_timestamp, b.summary.last_timestamp),
        current: (c.summary.first_timestamp, c.summary.last_timestamp),
        threshold_pct,
        regressions,
        improvements,
        new_findings,
        resolved_findings,
    })
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

fn compare_findings(
    b: &View,
    c: &View,
    only: Option<&Patterns>,
) -> (Vec<FindingChange>, Vec<FindingChange>) {
    type Key = (String, String, Option<String>, Option<String>);
    let key = |f: &ViewFinding| -> Key {
        (
            f.rule.clone(),
            f.client.clone(),
            f.resource.clone(),
            f.object.clone(),
        )
    };
    let index = |v: &View| -> BTreeMap<Key, usize> {
        v.findings
            .iter()
            .enumerate()
            .filter(|(_, f)| keep(only, &f.client))
            .map(|(i, f)| (key(f), i))
            .collect()
    };
    let (ib, ic) = (index(b), index(c));
    let row = |f: &ViewFinding, base: Option<&ViewFinding>, current: Option<&ViewFinding>| {
        FindingChange {
            rule: f.rule.clone(),
            slug: f.slug.clone(),
            client: f.client.clone(),
            resource: f.resource.clone(),
            object: f.object.clone(),
            base_severity: base.map(|x| x.severity.clone()),
            current_severity: current.map(|x| x.severity.clone()),
            score: f.score,
            headline: f.headline.clone(),
        }
    };
    let mut new = Vec::new();
    for (k, &i) in &ic {
        let f = &c.findings[i];
        match ib.get(k).map(|&j| &b.findings[j]) {
            None => new.push(row(f, None, Some(f))),
            Some(old) if severity_rank(&f.severity) > severity_rank(&old.severity) => {
                new.push(row(f, Some(old), Some(f)));
            }
            Some(_) => {}
        }
    }
    let mut resolved: Vec<FindingChange> = ib
        .iter()
        .filter(|(k, _)| !ic.contains_key(*k))
        .map(|(_, &j)| row(&b.findings[j], Some(&b.findings[j]), None))
        .collect();
    new.sort_by(|a, b| b.score.total_cmp(&a.score));
    resolved.sort_by(|a, b| b.score.total_cmp(&a.score));
    (new, resolved)
}

fn fmt_value(x: f64, unit: &str) -> String {
    let v = if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    };
    format!("{v}{unit}")
}

fn pct(c: &Change) -> String {
    c.change_pct
        .map_or_else(|| "new".to_owned(), |p| format!("{p:+.0}%"))
}

/// Changes grouped per client, in the order of each client's first (worst) change.
fn grouped(out: &mut String, changes: &[Change]) {
    use crate::render::table::sanitize;
    let mut order: Vec<&str> = Vec::new();
    for c in changes {
        if !order.contains(&c.client.as_str()) {
            order.push(&c.client);
        }
    }
    for client in order {
        let _ = writeln!(out, "  {}", sanitize(client));
        for c in changes.iter().filter(|c| c.client == client) {
            let _ = writeln!(
                out,
                "    {:<40} {:>14} -> {:<14} {}",
                sanitize(&c.metric),
                fmt_value(c.base, c.unit),
                fmt_value(c.current, c.unit),
                pct(c)
            );
        }
    }
}

/// The diff for the terminal, grouped per client.
#[must_use]
pub fn render_text(d: &Diff) -> String {
    use crate::render::table::sanitize;
    let mut out = String::new();
    let range = |r: &(Option<String>, Option<String>)| {
        format!(
            "{} – {}",
            r.0.as_deref().unwrap_or("?"),
            r.1.as_deref().unwrap_or("?")
        )
    };
    let _ = writeln!(
        out,
        "BASE    {}\nCURRENT {}\nthreshold +{}% (noise floors: {FLOORS})",
        range(&d.base),
        range(&d.current),
        d.threshold_pct
    );
    if d.regressions.is_empty() && d.new_findings.is_empty() {
        out.push_str("\nNo regression.\n");
    }
    if !d.regressions.is_empty() {
        out.push_str("\nRegressions, per client\n");
        grouped(&mut out, &d.regressions);
    }
    if !d.new_findings.is_empty() {
        out.push_str("\nNew or worse findings\n");
        for f in &d.new_findings {
            let _ = writeln!(
                out,
                "  {} {:<8} {} {}: {}",
                f.rule,
                f.current_severity.as_deref().unwrap_or("?"),
                sanitize(&f.client),
                f.base_severity
                    .as_deref()
                    .map_or_else(|| "(new)".to_owned(), |s| format!("(was {s})")),
                crate::render::sanitize::terminal(&f.headline, crate::render::sanitize::Cap::Prose)
            );
        }
    }
    if !d.improvements.is_empty() {
        out.push_str("\nImprovements, per client\n");
        grouped(&mut out, &d.improvements);
    }
    if !d.resolved_findings.is_empty() {
        out.push_str("\nResolved findings\n");
        for f in &d.resolved_findings {
            let _ = writeln!(
                out,
                "  {} {} {}",
                f.rule,
                sanitize(&f.client),
                crate::render::sanitize::terminal(&f.headline, crate::render::sanitize::Cap::Prose)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A hand-written report: one hour unless `span` says otherwise.
    struct Side {
        span: f64,
        clients: Vec<Value>,
        writes: Vec<Value>,
        lists: Vec<Value>,
        findings: Vec<Value>,
    }

    impl Side {
        fn hour() -> Self {
            Self {
                span: 3600.0,
                clients: vec![],
                writes: vec![],
                lists: vec![],
                findings: vec![],
            }
        }
        fn client(mut self, name: &str, qps: f64, errors: u64, p99: Option<(f64, u64)>) -> Self {
            let latency = p99.map(|(p, n)| json!({"p99": p, "samples": n}));
            self.clients.push(
                json!({"client": name, "errors": errors, "mean_qps": qps, "latency_ms": latency}),
            );
            self
        }
        fn write(mut self, name: &str, verb: &str, per_second: f64) -> Self {
            self.writes.push(json!({"client": name, "resource": "configmaps", "subresource": "", "verb": verb, "per_second": per_second}));
            self
        }
        fn list(mut self, name: &str, per_hour: f64) -> Self {
            self.lists
                .push(json!({"client": name, "per_hour": per_hour}));
            self
        }
        fn finding(mut self, rule: &str, name: &str, severity: &str) -> Self {
            self.findings.push(json!({"rule": rule, "slug": "s", "severity": severity, "score": 1.0, "client": name, "resource": "configmaps", "object": null, "headline": "h"}));
            self
        }
        fn save(&self, dir: &std::path::Path, name: &str) -> std::path::PathBuf {
            let doc = json!({
                "schema": crate::model::report::SCHEMA,
                "summary": {"span_seconds": self.span, "first_timestamp": null, "last_timestamp": null},
                "clients": self.clients, "writes": self.writes, "lists": self.lists, "findings": self.findings,
            });
            let p = dir.join(name);
            std::fs::write(&p, doc.to_string()).unwrap();
            p
        }
    }

    fn diff(base: &Side, current: &Side, threshold: f64, only: &[&str]) -> Diff {
        let dir = tempfile::tempdir().unwrap();
        let only: Vec<String> = only.iter().map(|s| (*s).to_owned()).collect();
        let patterns = Patterns::new("--client", &only).unwrap();
        compare(
            &base.save(dir.path(), "base.json"),
            &current.save(dir.path(), "current.json"),
            threshold,
            patterns.as_ref(),
        )
        .unwrap()
    }

    fn metrics(changes: &[Change]) -> Vec<(String, String, Option<f64>)> {
        changes
            .iter()
            .map(|c| (c.client.clone(), c.metric.clone(), c.change_pct))
            .collect()
    }

    #[test]
    fn request_rates_regress_above_the_threshold_and_the_floor_only() {
        let base = Side::hour()
            .client("a", 0.10, 0, None)
            .client("quiet", 0.05, 0, None);
        // a: 0.10 → 0.25/s is +150%; quiet: 0.05 → 0.09/s is +80% but under the 0.1/s floor.
        let cur = Side::hour()
            .client("a", 0.25, 0, None)
            .client("quiet", 0.09, 0, None);
        let d = diff(&base, &cur, 50.0, &[]);
        assert_eq!(
            metrics(&d.regressions),
            [("a".into(), "requests".into(), Some(150.0))]
        );
        assert!(
            d.fails(100.0) && !d.fails(150.0),
            "exit 1 only past --fail-on-regression"
        );
        // +150% is under a 200% threshold.
        assert!(diff(&base, &cur, 200.0, &[]).regressions.is_empty());
        // Reversed: an improvement of the same client, no regression.
        let back = diff(&cur, &base, 50.0, &[]);
        assert!(back.regressions.is_empty());
        assert_eq!(
            metrics(&back.improvements),
            [("a".into(), "requests".into(), Some(-60.0))]
        );
    }

    #[test]
    fn a_rate_needs_ten_events_behind_it() {
        // 0.05 → 0.15 writes/s over 60 s is 9 events at most: noise. Over 100 s, 15: judged.
        let side = |span: f64, w: f64| {
            Side {
                span,
                ..Side::hour()
            }
            .write("w", "update", w)
        };
        assert!(
            diff(&side(60.0, 0.05), &side(60.0, 0.15), 50.0, &[])
                .regressions
                .is_empty()
        );
        let d = diff(&side(100.0, 0.05), &side(100.0, 0.15), 50.0, &[]);
        let got = metrics(&d.regressions);
        assert!(
            got.contains(&("w".into(), "writes".into(), Some(200.0))),
            "{got:?}"
        );
        assert!(
            got.contains(&("w".into(), "writes:update configmaps".into(), Some(200.0))),
            "{got:?}"
        );
    }

    #[test]
    fn lists_errors_and_new_loads() {
        // LISTs 4 → 12/h (+200%, over the 6/h floor); errors 10 → 30 in an hour (+200%).
        let base = Side::hour().client("c", 1.0, 10, None).list("c", 4.0);
        let cur = Side::hour()
            .client("c", 1.0, 30, None)
            .list("c", 12.0)
            .write("new", "patch", 0.5);
        let d = diff(&base, &cur, 50.0, &[]);
        let got = metrics(&d.regressions);
        for want in [
            ("c".to_owned(), "lists".to_owned(), Some(200.0)),
            ("c".to_owned(), "errors".to_owned(), Some(200.0)),
            ("new".to_owned(), "writes".to_owned(), None),
        ] {
            assert!(got.contains(&want), "{want:?} in {got:?}");
        }
        // A new load has no percentage and fails any --fail-on-regression.
        assert!(d.fails(1e9));
        // LISTs 2 → 5/h: +150% but under the floor.
        let quiet = diff(
            &Side::hour().list("q", 2.0),
            &Side::hour().list("q", 5.0),
            50.0,
            &[],
        );
        assert!(quiet.regressions.is_empty());
    }

    #[test]
    fn p99_needs_samples_on_both_sides_and_twenty_ms() {
        let p = |ms: f64, n: u64| Side::hour().client("l", 1.0, 0, Some((ms, n)));
        let p99 = |d: &Diff| d.regressions.iter().any(|c| c.metric == "p99_latency");
        assert!(
            p99(&diff(&p(40.0, 100), &p(70.0, 100), 50.0, &[])),
            "+75%, 30 ms"
        );
        assert!(
            !p99(&diff(&p(40.0, 99), &p(70.0, 100), 50.0, &[])),
            "99 samples"
        );
        assert!(
            !p99(&diff(&p(20.0, 500), &p(35.0, 500), 50.0, &[])),
            "15 ms apart"
        );
        assert!(
            !p99(&diff(&p(10.0, 500), &p(45.0, 500), 50.0, &[])),
            "under the 50 ms floor"
        );
    }

    #[test]
    fn findings_new_worse_and_resolved() {
        let base = Side::hour()
            .finding("AS201", "a", "low")
            .finding("AS301", "b", "high")
            .finding("AS101", "gone", "medium");
        let cur = Side::hour()
            .finding("AS201", "a", "high")
            .finding("AS301", "b", "medium")
            .finding("AS204", "fresh", "low");
        let d = diff(&base, &cur, 50.0, &[]);
        let new: Vec<_> = d
            .new_findings
            .iter()
            .map(|f| {
                (
                    f.rule.as_str(),
                    f.base_severity.as_deref(),
                    f.current_severity.as_deref(),
                )
            })
            .collect();
        assert_eq!(new.len(), 2, "{new:?}");
        assert!(new.contains(&("AS201", Some("low"), Some("high"))), "worse");
        assert!(new.contains(&("AS204", None, Some("low"))), "new");
        let resolved: Vec<_> = d
            .resolved_findings
            .iter()
            .map(|f| f.rule.as_str())
            .collect();
        assert_eq!(resolved, ["AS101"]);
        assert!(
            d.fails(1e9),
            "a new or worse finding fails whatever the percentage"
        );
        // The same findings on both sides: nothing to report, exit 0.
        let same = diff(&base, &base, 50.0, &[]);
        assert!(same.new_findings.is_empty() && same.resolved_findings.is_empty());
        assert!(!same.fails(0.0));
    }

    #[test]
    fn client_patterns_limit_every_part() {
        let base = Side::hour()
            .client("kube-a", 0.1, 0, None)
            .client("other", 0.1, 0, None);
        let cur = Side::hour()
            .client("kube-a", 0.3, 0, None)
            .client("other", 0.3, 0, None)
            .finding("AS201", "other", "high");
        let d = diff(&base, &cur, 50.0, &["kube-*"]);
        assert_eq!(
            metrics(&d.regressions),
            [("kube-a".into(), "requests".into(), Some(200.0))]
        );
        assert!(
            d.new_findings.is_empty(),
            "another client's finding is filtered out"
        );
    }
}

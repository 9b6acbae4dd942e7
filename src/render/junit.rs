//! Report: JUnit XML for CI test reports (GitHub Actions, GitLab, Jenkins). One test suite; each
//! finding is a test case named by its rule and client, failing when it is at or above
//! `--fail-on` (every finding fails without it); a rule with no finding is one passing case, so a
//! dashboard shows what was checked; a suppressed finding is a skipped case. All log text goes
//! through [`super::sanitize::xml`].

use std::fmt::Write as _;

use super::sanitize::{self, Cap};
use crate::model::finding::{Finding, Severity};
use crate::model::report::Report;
use crate::rules::RULES;

/// One `<testcase>`: its name and class, and its outcome.
struct Case<'a> {
    class: String,
    name: String,
    outcome: Outcome<'a>,
}

enum Outcome<'a> {
    Pass(Option<&'a Finding>),
    Fail(&'a Finding),
    Skip(&'a Finding),
}

fn case_name(f: &Finding) -> String {
    let mut name = format!("{} {}", f.slug, sanitize::xml(&f.client, Cap::Field));
    for part in f.resource.iter().chain(&f.object) {
        let _ = write!(name, " {}", sanitize::xml(part, Cap::Field));
    }
    name
}

fn cases(r: &Report, fail_on: Option<Severity>) -> Vec<Case<'_>> {
    let mut cases = Vec::new();
    for rule in RULES {
        let class = format!("audit-scan.{}", rule.code());
        let found: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.rule == rule.code())
            .collect();
        if found.is_empty() {
            cases.push(Case {
                class: class.clone(),
                name: format!("{} no finding", rule.slug()),
                outcome: Outcome::Pass(None),
            });
        }
        for f in found {
            let failing = fail_on.is_none_or(|level| f.severity >= level);
            cases.push(Case {
                class: class.clone(),
                name: case_name(f),
                outcome: if failing {
                    Outcome::Fail(f)
                } else {
                    Outcome::Pass(Some(f))
                },
            });
        }
        for f in r.suppressed.iter().filter(|f| f.rule == rule.code()) {
            cases.push(Case {
                class: class.clone(),
                name: case_name(f),
                outcome: Outcome::Skip(f),
            });
        }
    }
    cases
}

/// The evidence and the remedy, as a failure's or a passing case's text.
fn details(f: &Finding) -> String {
    let e = &f.evidence;
    let mut s = format!(
        "{} severity, score {:.0} seat-seconds/hour\nclient: {}\n",
        f.severity.name(),
        f.score,
        sanitize::xml(&f.client, Cap::Field)
    );
    if let Some(res) = &f.resource {
        let _ = writeln!(s, "resource: {}", sanitize::xml(res, Cap::Field));
    }
    if let Some(o) = &f.object {
        let _ = writeln!(s, "object: {}", sanitize::xml(o, Cap::Field));
    }
    let _ = writeln!(
        s,
        "{}: {} (threshold {})\nwhen: {} – {}",
        sanitize::xml(&e.metric, Cap::Field),
        e.value,
        e.threshold,
        sanitize::xml(e.first.as_deref().unwrap_or("?"), Cap::Field),
        sanitize::xml(e.last.as_deref().unwrap_or("?"), Cap::Field),
    );
    if !e.sample_audit_ids.is_empty() {
        let ids: Vec<String> = e
            .sample_audit_ids
            .iter()
            .map(|i| sanitize::xml(i, Cap::Field))
            .collect();
        let _ = writeln!(s, "auditIDs: {}", ids.join(", "));
    }
    let _ = write!(s, "fix: {}", sanitize::xml(&f.remediation, Cap::Prose));
    s
}

/// Renders the JUnit document.
#[must_use]
pub fn render(r: &Report, fail_on: Option<Severity>) -> String {
    let cases = cases(r, fail_on);
    let failures = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Skip(_)))
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        r#"<testsuites name="audit-scan" tests="{n}" failures="{failures}" errors="0" skipped="{skipped}">"#,
        n = cases.len()
    );
    let _ = writeln!(
        out,
        r#"  <testsuite name="audit-scan" tests="{n}" failures="{failures}" errors="0" skipped="{skipped}" time="0">"#,
        n = cases.len()
    );
    out.push_str("    <properties>\n");
    let mut property = |name: &str, value: &str| {
        let _ = writeln!(
            out,
            r#"      <property name="{name}" value="{}"/>"#,
            sanitize::xml(value, Cap::Prose)
        );
    };
    property("version", r.tool.version);
    property("fail_on", fail_on.map_or("any finding", Severity::name));
    for i in &r.summary.inputs {
        property("input", &i.name);
    }
    for note in r.summary.coverage.iter().chain(&sanitize::altered_note(r)) {
        property("note", note);
    }
    out.push_str("    </properties>\n");
    for c in &cases {
        let _ = write!(
            out,
            r#"    <testcase classname="{}" name="{}" time="0""#,
            c.class, c.name
        );
        match c.outcome {
            Outcome::Pass(None) => out.push_str("/>\n"),
            Outcome::Pass(Some(f)) => {
                let _ = writeln!(
                    out,
                    ">\n      <system-out>below --fail-on: {}\n{}</system-out>\n    </testcase>",
                    sanitize::xml(&f.headline, Cap::Prose),
                    details(f)
                );
            }
            Outcome::Fail(f) => {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                    sanitize::xml(&f.headline, Cap::Prose),
                    f.severity.name(),
                    details(f)
                );
            }
            Outcome::Skip(f) => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"suppressed: {}\"/>\n    </testcase>",
                    sanitize::xml(f.suppressed.as_deref().unwrap_or(""), Cap::Prose)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

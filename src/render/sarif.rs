//! Report: SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, Azure DevOps, any
//! SARIF viewer). `tool.driver.rules` carries every rule of the registry (its documentation's
//! "What it does" as the full description, its "Remediation" as help); each finding is a result
//! whose message names the client and the object, with the score and the evidence in its
//! properties. Text a viewer shows goes through [`super::sanitize::plain`] (visible escapes,
//! length cap); the JSON encoder does the rest.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::sanitize::{self, Cap};
use crate::model::finding::{Finding, Severity};
use crate::model::report::Report;
use crate::rules::{RULES, Rule, documentation};

/// The schema a SARIF 2.1.0 log names.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// One section of a rule's documentation (`# What it does`), as one paragraph.
fn section(doc: &str, title: &str) -> String {
    let heading = format!("# {title}");
    doc.lines()
        .skip_while(|l| l.trim() != heading)
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `expensive-list` → `ExpensiveList`.
fn pascal(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule(r: &dyn Rule) -> Value {
    let doc = documentation(r);
    json!({
        "id": r.code(),
        "name": pascal(r.slug()),
        "shortDescription": { "text": r.title() },
        "fullDescription": {
            "text": format!("{} {}", section(&doc, "What it does"), section(&doc, "Why is this bad?"))
        },
        "help": { "text": section(&doc, "Remediation"), "markdown": section(&doc, "Remediation") },
        "properties": { "slug": r.slug() },
    })
}

/// SARIF's levels from our severities.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// A URI reference for an input name (a path, or a CloudWatch group/stream).
fn uri(name: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'[')
        .add(b'\\')
        .add(b']')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    percent_encoding::utf8_percent_encode(name, SET).to_string()
}

fn result(f: &Finding, index: Option<usize>, artifact: Option<&str>) -> Value {
    let field = |s: &str| sanitize::plain(s, Cap::Field);
    let mut message = format!(
        "{} — client {}",
        sanitize::plain(&f.headline, Cap::Prose),
        field(&f.client)
    );
    if let Some(res) = &f.resource {
        let _ = write!(message, ", resource {}", field(res));
    }
    if let Some(o) = &f.object {
        let _ = write!(message, ", object {}", field(o));
    }
    let e = &f.evidence;
    let mut location = json!({
        "logicalLocations": [{
            "name": field(&f.client),
            "kind": "resource",
        }],
    });
    if let Some(a) = artifact {
        location["physicalLocation"] = json!({ "artifactLocation": { "uri": uri(a) } });
    }
    let mut v = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": message },
        "locations": [location],
        "properties": {
            "rank": f.rank,
            "severity": f.severity.name(),
            "score": f.score,
            "client": field(&f.client),
            "resource": f.resource.as_deref().map(field),
            "object": f.object.as_deref().map(field),
            "evidence": {
                "metric": field(&e.metric),
                "value": e.value,
                "threshold": e.threshold,
                "first": e.first,
                "last": e.last,
                "sample_audit_ids": e.sample_audit_ids.iter().map(|i| field(i)).collect::<Vec<_>>(),
            },
            "remediation": sanitize::plain(&f.remediation, Cap::Prose),
        },
    });
    if let Some(i) = index {
        v["ruleIndex"] = json!(i);
    }
    v
}

/// Renders the SARIF log.
#[must_use]
pub fn render(r: &Report) -> Value {
    let artifact = r.summary.inputs.first().map(|i| i.name.as_str());
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let index = RULES.iter().position(|x| x.code() == f.rule);
            result(f, index, artifact)
        })
        .collect();
    let notes: Vec<Value> = r
        .summary
        .coverage
        .iter()
        .chain(&sanitize::altered_note(r))
        .map(|n| json!({ "level": "note", "message": { "text": sanitize::plain(n, Cap::Prose) } }))
        .collect();
    let artifacts: Vec<Value> = r
        .summary
        .inputs
        .iter()
        .map(|i| json!({ "location": { "uri": uri(&i.name) }, "length": i.raw_bytes }))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": r.tool.name,
                    "version": r.tool.version,
                    "semanticVersion": r.tool.version,
                    "rules": RULES.iter().map(|x| rule(*x)).collect::<Vec<_>>(),
                }
            },
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notes,
            }],
            "artifacts": artifacts,
            "results": results,
            "properties": {
                "suppressed": r.suppressed.len(),
                "events": r.summary.events,
                "requests": r.summary.requests,
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_metadata_comes_from_the_documentation() {
        let doc = "# What it does\nFlags a\nthing.\n\n# Why is this bad?\nIt costs.\n# Remediation\nFix it.";
        assert_eq!(section(doc, "What it does"), "Flags a thing.");
        assert_eq!(section(doc, "Remediation"), "Fix it.");
        assert_eq!(pascal("expensive-list"), "ExpensiveList");
        assert_eq!(uri("/logs/a b#1.jsonl"), "/logs/a%20b%231.jsonl");
        for r in RULES {
            let v = rule(*r);
            assert!(
                !v["help"]["text"].as_str().unwrap().is_empty(),
                "{}",
                r.code()
            );
            assert!(
                !v["fullDescription"]["text"]
                    .as_str()
                    .unwrap()
                    .trim()
                    .is_empty()
            );
        }
    }
}

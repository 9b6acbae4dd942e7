//! Report: Markdown for incident tickets — findings first, then the tables. Every string from
//! the log is escaped: a userAgent is attacker-controlled, and in a ticket tracker raw Markdown
//! or HTML in it would render as links, images or markup.

use std::fmt::Write as _;

use super::sanitize::{self, Cap};
use crate::model::report::Report;

/// Escapes one name or value from the log for a Markdown table cell or paragraph
/// ([`super::sanitize::markdown`]).
#[must_use]
pub fn escape(s: &str) -> String {
    sanitize::markdown(s, Cap::Field)
}

/// Escapes a sentence that embeds log text (a headline, a remedy).
fn prose(s: &str) -> String {
    sanitize::markdown(s, Cap::Prose)
}

fn table(out: &mut String, title: &str, headers: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## {title}\n");
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        headers.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
}

/// Renders the Markdown report (`top` rows per table).
#[must_use]
pub fn render(r: &Report, top: usize) -> String {
    let s = &r.summary;
    let mut out = String::from("# audit-scan report\n\n");
    let _ = writeln!(
        out,
        "{} events, {} requests, {} → {}; skipped lines or EventList items: {}.",
        s.events,
        s.requests,
        escape(s.first_timestamp.as_deref().unwrap_or("-")),
        escape(s.last_timestamp.as_deref().unwrap_or("-")),
        s.skipped.total
    );
    if let Some(sel) = &s.selection {
        let _ = writeln!(out, "\n**{}**", prose(&sel.line()));
    }
    for c in s.coverage.iter().chain(&sanitize::altered_note(r)) {
        let _ = writeln!(out, "\n> {}", prose(c));
    }
    let _ = writeln!(out, "\n## Findings\n");
    if r.findings.is_empty() {
        out.push_str("None.\n");
    }
    for f in r.findings.iter().take(top) {
        let _ = writeln!(
            out,
            "{}. **{}** `{}` {} (score {:.0}): {}  \n   **Fix:** {}",
            f.rank,
            f.severity.name().to_uppercase(),
            f.rule,
            f.slug,
            f.score,
            prose(&f.headline),
            prose(&f.remediation)
        );
        if !f.evidence.sample_audit_ids.is_empty() {
            let ids: Vec<String> = f
                .evidence
                .sample_audit_ids
                .iter()
                .map(|i| escape(i))
                .collect();
            let _ = writeln!(out, "   Sample auditIDs: {}", ids.join(", "));
        }
    }
    let blockers: Vec<_> = r.findings.iter().filter(|f| f.upgrade_blocker).collect();
    if !blockers.is_empty() {
        let _ = writeln!(
            out,
            "\n### Upgrade blockers\n\nCalls to APIs removed at most two minors after the cluster's version (always shown):\n"
        );
        for f in blockers {
            let _ = writeln!(
                out,
                "- {}. **{}** `{}` {}",
                f.rank,
                f.severity.name().to_uppercase(),
                f.rule,
                escape(&f.headline)
            );
        }
    }
    if !r.suppressed.is_empty() {
        let _ = writeln!(
            out,
            "\n{} finding(s) suppressed by the config:",
            r.suppressed.len()
        );
        for f in &r.suppressed {
            let _ = writeln!(
                out,
                "- `{}` {}: {}",
                f.rule,
                escape(&f.client),
                prose(f.suppressed.as_deref().unwrap_or(""))
            );
        }
    }
    table(
        &mut out,
        "Clients",
        &[
            "client", "requests", "reads", "writes", "errors", "peak/min", "p99 ms",
        ],
        r.clients
            .iter()
            .take(top)
            .map(|c| {
                vec![
                    escape(&c.client),
                    c.requests.to_string(),
                    c.reads.to_string(),
                    c.writes.to_string(),
                    c.errors.to_string(),
                    c.peak_qpm.to_string(),
                    c.latency_ms
                        .map_or_else(|| "-".into(), |l| format!("{:.0}", l.p99)),
                ]
            })
            .collect(),
    );
    table(
        &mut out,
        "LISTs per userAgent",
        &[
            "userAgent",
            "resource",
            "lists",
            "per hour",
            "p99 ms",
            "from etcd (inferred)",
        ],
        r.lists
            .iter()
            .take(top)
            .map(|l| {
                vec![
                    escape(&l.user_agent),
                    escape(&l.resource),
                    l.count.to_string(),
                    format!("{:.0}", l.per_hour),
                    l.latency_ms
                        .map_or_else(|| "-".into(), |x| format!("{:.0}", x.p99)),
                    l.served_from_etcd.to_string(),
                ]
            })
            .collect(),
    );
    table(
        &mut out,
        "Writes",
        &["client", "resource", "verb", "writes", "per second"],
        r.writes
            .iter()
            .take(top)
            .map(|w| {
                vec![
                    escape(&w.client),
                    escape(&w.resource),
                    escape(&w.verb),
                    w.count.to_string(),
                    format!("{:.3}", w.per_second),
                ]
            })
            .collect(),
    );
    table(
        &mut out,
        "Most-written objects",
        &["object", "writes", "peak/min", "writers"],
        r.objects
            .iter()
            .take(top)
            .map(|o| {
                let writers: Vec<String> = o
                    .writers
                    .iter()
                    .map(|w| format!("{} ({})", escape(&w.name), w.count))
                    .collect();
                vec![
                    escape(&format!("{} {}/{}", o.resource, o.namespace, o.name)),
                    o.writes.to_string(),
                    o.peak_writes.to_string(),
                    writers.join(", "),
                ]
            })
            .collect(),
    );
    table(
        &mut out,
        "Errors",
        &["client", "code", "reason", "verb", "resource", "count"],
        r.errors
            .iter()
            .take(top)
            .map(|e| {
                vec![
                    escape(&e.client),
                    e.code.to_string(),
                    escape(&e.reason),
                    escape(&e.verb),
                    escape(&e.resource),
                    e.count.to_string(),
                ]
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_inert() {
        let e = escape("<script>alert(1)</script> [x](http://evil) | **b**\n# h");
        assert!(!e.contains('<') && !e.contains('\n'));
        assert!(e.contains("\\[x\\](http\\://evil)"));
        assert!(e.contains("\\|"));
    }
}

//! Report: Markdown for incident tickets — findings first, then the tables. Every string from
//! the log is escaped: a userAgent is attacker-controlled, and in a ticket tracker raw Markdown
//! or HTML in it would render as links, images or markup.

use std::fmt::Write as _;

use super::sanitize::{self, Cap};
use crate::model::finding::active_per_second;
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

/// A table of the first `top` of `rows`, one line of `cells` each, with "N of M" when cut.
fn table<R>(
    out: &mut String,
    title: &str,
    headers: &[&str],
    rows: &[R],
    top: usize,
    cells: impl Fn(&R) -> Vec<String>,
) {
    if rows.is_empty() || top == 0 {
        return;
    }
    let _ = writeln!(out, "\n## {title}\n");
    if rows.len() > top {
        let _ = writeln!(out, "Top {top} of {} (`--top N` for more).\n", rows.len());
    }
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        headers.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows.iter().take(top) {
        let _ = writeln!(out, "| {} |", cells(r).join(" | "));
    }
}

fn ms(l: Option<&crate::model::rows::LatencyRow>) -> String {
    l.map_or_else(|| "-".into(), |x| format!("{:.0}", x.p99))
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
    if let Some(c) = &s.config {
        let _ = writeln!(out, "\n{}", prose(&c.line()));
    }
    if let Some(sel) = &s.selection {
        let _ = writeln!(out, "\n**{}**", prose(&sel.line()));
    }
    if let Some(line) = s.serving_line() {
        let _ = writeln!(out, "\n{}.", prose(&line));
    }
    if let Some(w) = &s.window {
        let _ = writeln!(
            out,
            "\nWindow {} → {}.",
            escape(w.since.as_deref().unwrap_or("start")),
            escape(w.until.as_deref().unwrap_or("now"))
        );
    }
    for (reason, n) in &s.skipped.by_reason {
        let _ = writeln!(out, "\nSkipped {}: {n}.", escape(reason));
    }
    for c in s.coverage.iter().chain(&sanitize::altered_note(r)) {
        let _ = writeln!(out, "\n> {}", prose(c));
    }
    for w in &s.warnings {
        let _ = writeln!(out, "\n> **Warning:** {}", prose(w));
    }
    incident_timeline(&mut out, r);
    let _ = writeln!(out, "\n## Findings\n");
    if r.findings.is_empty() {
        out.push_str("None.\n");
    } else if r.findings.len() > top {
        let _ = writeln!(
            out,
            "Top {top} of {} findings, ranked by severity, then cost (`--top N` for more).\n",
            r.findings.len()
        );
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
            "client",
            "requests",
            "reads",
            "writes",
            "errors",
            "qps",
            "qps in episodes",
            "peak/min",
            "p99 ms",
        ],
        &r.clients,
        top,
        |c| {
            vec![
                escape(&c.client),
                c.requests.to_string(),
                c.reads.to_string(),
                c.writes.to_string(),
                c.errors.to_string(),
                format!("{:.2}", c.mean_qps),
                active_per_second(&c.episodes)
                    .map_or_else(|| "-".to_owned(), |q| format!("{q:.2}")),
                c.peak_qpm.to_string(),
                c.latency_ms
                    .map_or_else(|| "-".into(), |l| format!("{:.0}", l.p99)),
            ]
        },
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
        &r.lists,
        top,
        |l| {
            vec![
                escape(&l.user_agent),
                escape(&l.resource),
                l.count.to_string(),
                format!("{:.0}", l.per_hour),
                l.latency_ms
                    .map_or_else(|| "-".into(), |x| format!("{:.0}", x.p99)),
                l.served_from_etcd.to_string(),
            ]
        },
    );
    table(
        &mut out,
        "Writes",
        &["client", "resource", "verb", "writes", "per second"],
        &r.writes,
        top,
        |w| {
            vec![
                escape(&w.client),
                escape(&w.resource),
                escape(&w.verb),
                w.count.to_string(),
                format!("{:.3}", w.per_second),
            ]
        },
    );
    table(
        &mut out,
        "Most-written objects",
        &["object", "writes", "peak/min", "writers"],
        &r.objects,
        top,
        |o| {
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
        },
    );
    table(
        &mut out,
        "Errors",
        &["client", "code", "reason", "verb", "resource", "count"],
        &r.errors,
        top,
        |e| {
            vec![
                escape(&e.client),
                e.code.to_string(),
                escape(&e.reason),
                escape(&e.verb),
                escape(&e.resource),
                e.count.to_string(),
            ]
        },
    );
    sections(&mut out, r, top);
    out
}

/// The sections after the traffic tables, in the text report's order of subjects: watches,
/// CRDs, deprecated APIs, webhooks, then health and sizing.
fn sections(out: &mut String, r: &Report, top: usize) {
    table(
        out,
        "Watches",
        &[
            "client",
            "resource",
            "watches",
            "p50 s",
            "ended early",
            "relists",
        ],
        &r.watches,
        top,
        |w| {
            vec![
                escape(&w.client),
                escape(&w.resource),
                w.count.to_string(),
                w.duration_ms
                    .as_ref()
                    .map_or_else(|| "-".into(), |d| format!("{:.0}", d.p50 / 1000.0)),
                w.ended_early.to_string(),
                w.lists.to_string(),
            ]
        },
    );
    table(
        out,
        "CRD and aggregated API calls",
        &["group", "resource", "verb", "client", "count", "p99 ms"],
        &r.crds,
        top,
        |c| {
            vec![
                escape(&c.group),
                escape(&c.resource),
                escape(&c.verb),
                escape(&c.client),
                c.count.to_string(),
                ms(c.latency_ms.as_ref()),
            ]
        },
    );
    table(
        out,
        "Deprecated APIs",
        &["client", "API", "removed in", "calls", "last call"],
        &r.deprecated,
        top,
        |d| {
            vec![
                escape(&d.client),
                escape(&d.api),
                escape(d.removed_release.as_deref().unwrap_or("-")),
                d.count.to_string(),
                escape(d.last.as_deref().unwrap_or("-")),
            ]
        },
    );
    table(
        out,
        "Admission webhooks",
        &[
            "webhook",
            "requests",
            "p99 ms (slow requests)",
            "failed open",
            "failed closed",
        ],
        &r.webhooks,
        top,
        |w| {
            vec![
                escape(&w.webhook),
                w.requests.to_string(),
                ms(w.latency_ms.as_ref()),
                w.failed_open.to_string(),
                w.failed_closed.to_string(),
            ]
        },
    );
    health(out, r, top);
    sizing(out, r, top);
}

fn incident_timeline(out: &mut String, r: &Report) {
    use super::timeline::{Line, lines, title};
    let Some(t) = &r.incident_timeline else {
        return;
    };
    let _ = writeln!(out, "\n## {}\n", title(t));
    for line in lines(t, super::format::multi_day(r), &escape) {
        match line {
            Line::Head(s) => _ = writeln!(out, "- {s}"),
            Line::Detail(s) => _ = writeln!(out, "  - {s}"),
        }
    }
}

fn health(out: &mut String, r: &Report, top: usize) {
    let h = &r.health;
    let _ = writeln!(
        out,
        "\n## Health\n\n{} minute(s) below {:.0}% success{}; {} of {} SLO windows missed the upstream latency SLO.",
        h.below_threshold.len(),
        h.success_threshold * 100.0,
        super::format::below_span(h, &escape),
        h.slo_violations.len(),
        h.slo_windows_checked,
    );
    table(
        out,
        "SLO windows missed",
        &[
            "window",
            "resource",
            "class",
            "calls",
            "over",
            "threshold s",
        ],
        &h.slo_violations,
        top,
        |v| {
            vec![
                escape(&v.window),
                escape(&v.resource),
                escape(&v.class),
                v.calls.to_string(),
                v.over.to_string(),
                v.threshold_s.to_string(),
            ]
        },
    );
    table(
        out,
        "Clients over the latency SLO",
        &["client", "class", "calls", "p99 ms", "threshold s"],
        &h.slo_clients_over,
        top,
        |x| {
            vec![
                escape(&x.client),
                escape(&x.class),
                x.latency_ms.map_or(0, |l| l.samples).to_string(),
                ms(x.latency_ms.as_ref()),
                x.threshold_s.to_string(),
            ]
        },
    );
}

fn sizing(out: &mut String, r: &Report, top: usize) {
    let z = &r.sizing;
    let _ = writeln!(
        out,
        "\n## Sizing (estimate)\n\nPeak {:.1} APF seats{} (p99 {:.1}); peak {} pod bindings/s; peak {:.1} writes/s; EKS tier: **{}**{}{}.",
        z.peak_seats,
        z.peak_minute
            .as_deref()
            .map_or_else(String::new, |m| format!(" at {}", escape(m))),
        z.p99_seats,
        z.peak_pod_bindings_per_second,
        z.peak_writes_per_second,
        escape(&z.tier.recommended),
        if z.tier.exceeds_largest {
            " (load exceeds even this tier)"
        } else {
            ""
        },
        super::format::rejection_note(z, super::format::multi_day(r)),
    );
    for step in &z.tier.arithmetic {
        let _ = writeln!(out, "- {}", prose(step));
    }
    table(
        out,
        "Most seat-seconds",
        &["client", "seat-seconds"],
        &z.top_clients,
        top,
        |c| vec![escape(&c.name), c.count.to_string()],
    );
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

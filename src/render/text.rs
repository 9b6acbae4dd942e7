//! Report: the terminal report — a summary block, then the top rows of each table.

use std::fmt::Write as _;

use super::TextStyle;
use super::format::num;
use super::sanitize::{self, Cap};
use super::table::{Align, Table, sanitize};
use crate::model::finding::active_per_second;
use crate::model::report::Report;
use crate::model::rows::LatencyRow;

fn ms(l: Option<&LatencyRow>, f: impl Fn(&LatencyRow) -> f64) -> String {
    l.map_or_else(|| "-".into(), |l| format!("{:.0}", f(l)))
}

/// Per-minute counts as a sparkline of `width` cells; a cell covering several minutes shows
/// the busiest (a spike must not average away).
#[must_use]
pub fn sparkline(counts: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if counts.is_empty() || width == 0 {
        return String::new();
    }
    let per = counts.len().div_ceil(width);
    let cells: Vec<u64> = counts
        .chunks(per)
        .map(|c| c.iter().copied().max().unwrap_or(0))
        .collect();
    let max = cells.iter().copied().max().unwrap_or(0);
    cells
        .iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                // 1..=max onto the 8 levels; any request shows at least the lowest bar.
                let i = ((v - 1) * 8 / max.max(1)).min(7);
                BARS[usize::try_from(i).unwrap_or(7)]
            }
        })
        .collect()
}

fn hhmm(t: Option<&String>, dated: bool) -> String {
    t.map_or_else(|| "-".into(), |t| super::format::when(t, dated))
}

fn section(
    out: &mut String,
    title: &str,
    shown: usize,
    total: usize,
    table: &Table,
    style: TextStyle,
) {
    if total == 0 {
        return;
    }
    let more = if total > shown {
        format!(" (top {shown} of {total}; --top N for more)")
    } else {
        String::new()
    };
    let _ = writeln!(out, "\n{title}{more}");
    out.push_str(&table.render(style.width, style.color));
}

/// Renders the text report.
#[must_use]
pub fn render(r: &Report, style: TextStyle) -> String {
    let mut out = String::new();
    summary(&mut out, r);
    incident_timeline(&mut out, r);
    findings(&mut out, r, style);
    health(&mut out, r);
    let top = style.top;
    let dated = super::format::multi_day(r);

    let mut t = Table::new(&[
        ("CLIENT", Align::Left),
        ("REQUESTS", Align::Right),
        ("READS", Align::Right),
        ("WRITES", Align::Right),
        ("WATCHES", Align::Right),
        ("ERRORS", Align::Right),
        ("QPS", Align::Right),
        ("ACTIVE", Align::Right),
        ("PEAK/MIN", Align::Right),
        ("AT", Align::Left),
        ("P99/MIN", Align::Right),
        ("P99 MS", Align::Right),
        ("SEATS", Align::Right),
        ("COST %", Align::Right),
        ("TOP POD", Align::Left),
        ("PER MINUTE", Align::Left),
    ]);
    for c in r.clients.iter().take(top) {
        t.row(vec![
            c.client.clone(),
            num(c.requests),
            num(c.reads),
            num(c.writes),
            num(c.watches),
            num(c.errors),
            format!("{:.2}", c.mean_qps),
            active_per_second(&c.episodes).map_or_else(|| "-".to_owned(), |q| format!("{q:.2}")),
            num(c.peak_qpm),
            hhmm(c.peak_minute.as_ref(), dated),
            num(c.p99_qpm),
            ms(c.latency_ms.as_ref(), |l| l.p99),
            format!("{:.2}", c.apf_seats),
            format!("{:.0}", c.cost_share * 100.0),
            c.top_pods
                .first()
                .map_or_else(|| "-".to_owned(), |p| p.name.clone()),
            if c.per_minute.omitted {
                "(omitted)".to_owned()
            } else {
                sparkline(&c.per_minute.counts, 24)
            },
        ]);
    }
    section(
        &mut out,
        "Clients",
        top.min(r.clients.len()),
        r.clients.len(),
        &t,
        style,
    );
    for axis in
        super::format::sparkline_axes(r.clients.iter().take(top).map(|c| &c.per_minute), 24, dated)
    {
        let _ = writeln!(out, "PER MINUTE: {axis}");
    }

    let mut t = Table::new(&[
        ("USER AGENT", Align::Left),
        ("RESOURCE", Align::Left),
        ("LISTS", Align::Right),
        ("/HOUR", Align::Right),
        ("P50 MS", Align::Right),
        ("P99 MS", Align::Right),
        ("MAX MS", Align::Right),
        ("CLUSTER", Align::Right),
        ("ETCD*", Align::Right),
        ("PAGED", Align::Right),
    ]);
    for l in r.lists.iter().take(top) {
        let ua = if l.user_agent.is_empty() {
            format!("({})", l.client)
        } else {
            l.user_agent.clone()
        };
        t.row(vec![
            ua,
            l.resource.clone(),
            num(l.count),
            format!("{:.0}", l.per_hour),
            ms(l.latency_ms.as_ref(), |x| x.p50),
            ms(l.latency_ms.as_ref(), |x| x.p99),
            ms(l.latency_ms.as_ref(), |x| x.max),
            num(l.cluster_scope),
            num(l.served_from_etcd),
            num(l.paginated),
        ]);
    }
    section(
        &mut out,
        "LISTs per userAgent (ETCD* inferred from resourceVersion)",
        top.min(r.lists.len()),
        r.lists.len(),
        &t,
        style,
    );

    let mut t = Table::new(&[
        ("CLIENT", Align::Left),
        ("RESOURCE", Align::Left),
        ("VERB", Align::Left),
        ("WRITES", Align::Right),
        ("PER SEC", Align::Right),
    ]);
    for w in r.writes.iter().take(top) {
        let res = w.target();
        t.row(vec![
            w.client.clone(),
            res,
            w.verb.clone(),
            num(w.count),
            format!("{:.3}", w.per_second),
        ]);
    }
    section(
        &mut out,
        "Writes",
        top.min(r.writes.len()),
        r.writes.len(),
        &t,
        style,
    );

    let mut t = Table::new(&[
        ("OBJECT", Align::Left),
        ("WRITES", Align::Right),
        ("PEAK/MIN", Align::Right),
        ("WRITERS", Align::Right),
        ("TOP WRITER", Align::Left),
    ]);
    for o in r.objects.iter().take(top) {
        let ns = if o.namespace.is_empty() {
            String::new()
        } else {
            format!("{}/", o.namespace)
        };
        t.row(vec![
            format!("{}:{ns}{}", o.resource, o.name),
            num(o.writes),
            num(o.peak_writes),
            num(o.writers.len() as u64),
            o.writers
                .first()
                .map_or_else(String::new, |w| w.name.clone()),
        ]);
    }
    section(
        &mut out,
        "Most-written objects",
        top.min(r.objects.len()),
        r.objects.len(),
        &t,
        style,
    );

    let mut t = Table::new(&[
        ("CLIENT", Align::Left),
        ("CODE", Align::Right),
        ("REASON", Align::Left),
        ("VERB", Align::Left),
        ("RESOURCE", Align::Left),
        ("COUNT", Align::Right),
    ]);
    for e in r.errors.iter().take(top) {
        t.row(vec![
            e.client.clone(),
            e.code.to_string(),
            e.reason.clone(),
            e.verb.clone(),
            e.resource.clone(),
            num(e.count),
        ]);
    }
    section(
        &mut out,
        "Errors",
        top.min(r.errors.len()),
        r.errors.len(),
        &t,
        style,
    );

    let mut t = Table::new(&[
        ("CLIENT", Align::Left),
        ("RESOURCE", Align::Left),
        ("WATCHES", Align::Right),
        ("P50 S", Align::Right),
        ("EARLY", Align::Right),
        ("RELISTS", Align::Right),
    ]);
    for w in r.watches.iter().take(top) {
        t.row(vec![
            w.client.clone(),
            w.resource.clone(),
            num(w.count),
            w.duration_ms
                .as_ref()
                .map_or_else(|| "-".into(), |d| format!("{:.0}", d.p50 / 1000.0)),
            num(w.ended_early),
            num(w.lists),
        ]);
    }
    section(
        &mut out,
        "Watches",
        top.min(r.watches.len()),
        r.watches.len(),
        &t,
        style,
    );

    let mut t = Table::new(&[
        ("GROUP", Align::Left),
        ("RESOURCE", Align::Left),
        ("VERB", Align::Left),
        ("CLIENT", Align::Left),
        ("COUNT", Align::Right),
        ("P99 MS", Align::Right),
    ]);
    for c in r.crds.iter().take(top) {
        t.row(vec![
            c.group.clone(),
            c.resource.clone(),
            c.verb.clone(),
            c.client.clone(),
            num(c.count),
            ms(c.latency_ms.as_ref(), |l| l.p99),
        ]);
    }
    section(
        &mut out,
        "CRD and aggregated API calls",
        top.min(r.crds.len()),
        r.crds.len(),
        &t,
        style,
    );
    out
}

fn summary(out: &mut String, r: &Report) {
    let s = &r.summary;
    let bytes: u64 = s.inputs.iter().map(|i| i.bytes).sum();
    let _ = writeln!(
        out,
        "audit-scan: {} events in {} input(s), {:.1} MB; {} → {} ({:.0} s)",
        num(s.events),
        s.inputs.len(),
        bytes as f64 / 1e6,
        s.first_timestamp.as_deref().unwrap_or("-"),
        s.last_timestamp.as_deref().unwrap_or("-"),
        s.span_seconds,
    );
    let _ = writeln!(
        out,
        "requests {} (long-running {}) · skipped {} · truncated {} · untimed {} · outside window {} · filtered out {}",
        num(s.requests),
        num(s.long_running),
        num(s.skipped.total),
        num(s.truncated),
        num(s.untimed),
        num(s.outside_window),
        num(s.filtered_out),
    );
    if let Some(c) = &s.config {
        let _ = writeln!(out, "{}", sanitize(&c.line()));
    }
    if let Some(sel) = &s.selection {
        let _ = writeln!(out, "{}", sanitize(&sel.line()));
    }
    if let Some(line) = s.serving_line() {
        let _ = writeln!(out, "{}", sanitize(&line));
    }
    if let Some(w) = &s.window {
        let _ = writeln!(
            out,
            "window {} → {}",
            w.since.as_deref().unwrap_or("start"),
            w.until.as_deref().unwrap_or("now")
        );
    }
    if let Some(c) = &s.cloudwatch {
        let n = |k: &str| c[k].as_u64().unwrap_or(0);
        let _ = writeln!(
            out,
            "cloudwatch {} ({}): {} streams, {} events fetched, {} duplicates dropped, {} pages, {} retries ({} throttled), {:.1} MB in {:.1} s",
            sanitize(c["log_group"].as_str().unwrap_or("")),
            c["region"].as_str().unwrap_or(""),
            n("streams"),
            num(n("events_fetched")),
            num(n("duplicates_dropped")),
            num(n("pages")),
            num(n("retries")),
            num(n("throttles")),
            n("bytes") as f64 / 1e6,
            c["elapsed_s"].as_f64().unwrap_or(0.0),
        );
        let per: Vec<String> = s
            .inputs
            .iter()
            .map(|i| {
                format!(
                    "{} {}",
                    sanitize(i.name.rsplit('/').next().unwrap_or(&i.name)),
                    num(i.requests)
                )
            })
            .collect();
        let _ = writeln!(out, "requests per API server stream: {}", per.join(", "));
    }
    for (reason, n) in &s.skipped.by_reason {
        let _ = writeln!(out, "skipped {reason}: {}", num(*n));
    }
    for e in &s.skipped.examples {
        let _ = writeln!(
            out,
            "  {}:{}: {}",
            sanitize(&e.input),
            e.line,
            prose(&e.message)
        );
    }
    for c in s.coverage.iter().chain(&sanitize::altered_note(r)) {
        let _ = writeln!(out, "note: {}", prose(c));
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {}", prose(w));
    }
}

fn findings(out: &mut String, r: &Report, style: TextStyle) {
    if r.findings.is_empty() {
        let _ = writeln!(out, "\nFindings: none at or above the chosen severity");
    } else {
        let shown = r.findings.len().min(style.top);
        let _ = writeln!(
            out,
            "\nFindings ({} of {}; ranked by severity, then estimated cost in APF seat-seconds per hour of each finding's window)",
            shown,
            r.findings.len()
        );
    }
    let wrap = style.width.max(40) - 7;
    for f in r.findings.iter().take(style.top) {
        let sev = f.severity.name().to_uppercase();
        let sev = if style.color {
            let code = match f.severity {
                crate::model::finding::Severity::Critical
                | crate::model::finding::Severity::High => "31",
                crate::model::finding::Severity::Medium => "33",
                _ => "2",
            };
            format!("\x1b[{code}m{sev}\x1b[0m")
        } else {
            sev
        };
        let _ = writeln!(
            out,
            "{:>3}. {sev} {} {} score {}",
            f.rank,
            f.rule,
            f.slug,
            num(f.score.round() as u64)
        );
        for line in textwrap(&prose(&f.headline), wrap) {
            let _ = writeln!(out, "     {line}");
        }
        for (i, line) in textwrap(&prose(&f.remediation), wrap)
            .into_iter()
            .enumerate()
        {
            let _ = writeln!(out, "     {}{line}", if i == 0 { "fix: " } else { "     " });
        }
    }
    let blockers: Vec<_> = r.findings.iter().filter(|f| f.upgrade_blocker).collect();
    if !blockers.is_empty() {
        let _ = writeln!(
            out,
            "\nUpgrade blockers (calls to APIs removed at most two minors after the cluster's version; always shown)"
        );
        for f in blockers {
            for (i, line) in textwrap(&sanitize(&f.headline), wrap)
                .into_iter()
                .enumerate()
            {
                if i == 0 {
                    let _ = writeln!(
                        out,
                        "{:>3}. {} {line}",
                        f.rank,
                        f.severity.name().to_uppercase()
                    );
                } else {
                    let _ = writeln!(out, "     {line}");
                }
            }
        }
    }
    if !r.suppressed.is_empty() {
        let _ = writeln!(
            out,
            "({} finding(s) suppressed by --config; listed in the JSON report)",
            r.suppressed.len()
        );
    }
}

/// A sentence that embeds log text, for the terminal.
fn prose(s: &str) -> String {
    sanitize::terminal(s, Cap::Prose)
}

/// Greedy word wrap.
fn textwrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn incident_timeline(out: &mut String, r: &Report) {
    use super::timeline::{Line, lines, title};
    let Some(t) = &r.incident_timeline else {
        return;
    };
    let _ = writeln!(out, "\n{}", title(t));
    let esc = |s: &str| sanitize(s);
    for line in lines(t, super::format::multi_day(r), &esc) {
        match line {
            Line::Head(s) => _ = writeln!(out, "  {s}"),
            Line::Detail(s) => _ = writeln!(out, "      {s}"),
        }
    }
}

fn health(out: &mut String, r: &Report) {
    let h = &r.health;
    let z = &r.sizing;
    let dated = super::format::multi_day(r);
    let _ = writeln!(
        out,
        "\nHealth: {} minute(s) below {:.0}% success{}; {} of {} SLO windows missed the upstream latency SLO",
        h.below_threshold.len(),
        h.success_threshold * 100.0,
        super::format::below_span(h, &|s: &str| s.to_owned()),
        h.slo_violations.len(),
        h.slo_windows_checked,
    );
    let _ = writeln!(
        out,
        "Sizing (estimate): peak {:.1} APF seats{} (p99 {:.1}); peak {} pod bindings/s; peak {:.1} writes/s; EKS tier: {}{}{}",
        z.peak_seats,
        z.peak_minute
            .as_deref()
            .map_or_else(String::new, |m| format!(" at {m}")),
        z.p99_seats,
        z.peak_pod_bindings_per_second,
        z.peak_writes_per_second,
        z.tier.recommended,
        if z.tier.exceeds_largest {
            " (load exceeds even this tier)"
        } else {
            ""
        },
        super::format::rejection_note(z, dated),
    );
    if let Some(top) = z.top_clients.first() {
        let _ = writeln!(
            out,
            "  most seat-seconds: {} ({} s)",
            sanitize(&top.name),
            num(top.count)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn sparkline_keeps_spikes_and_zeros() {
        assert_eq!(sparkline(&[0, 1, 4, 8], 4), " ▁▄█");
        // 8 minutes in 4 cells: each cell is the busiest of its two minutes.
        assert_eq!(sparkline(&[0, 0, 8, 0, 0, 1, 0, 0], 4), " █▁ ");
        assert_eq!(sparkline(&[], 4), "");
    }
}

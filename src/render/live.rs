//! Report: the `--follow` terminal view, one screen redrawn every refresh — the window's pulse
//! (requests/s, 429 and 5xx shares, success rate), the top clients with a sparkline of their
//! last minutes, the current findings with how long each has been active and whether it is
//! rising or falling, and how far the log runs behind real time. Every string from the log
//! goes through the table's sanitizer (a userAgent is attacker-controlled); colour only when
//! allowed (`NO_COLOR`).

use std::fmt::Write as _;

use super::table::{Align, Table, sanitize};
use crate::model::report::Report;

/// The window's rates, from its timeline.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pulse {
    /// All requests per second.
    pub requests_per_s: f64,
    /// Short requests answered 429, as a share of short requests.
    pub throttled_share: Option<f64>,
    /// Short requests answered 5xx, as a share.
    pub server_error_share: Option<f64>,
    /// 1 − both.
    pub success_rate: Option<f64>,
}

/// Where a finding's score went since the last refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// First seen in this refresh.
    New,
    /// Score up by more than 5%.
    Rising,
    /// Score down by more than 5%.
    Falling,
    /// Within 5%.
    Steady,
}

impl Trend {
    fn label(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Rising => "▲ rising",
            Self::Falling => "▼ falling",
            Self::Steady => "= steady",
        }
    }
}

/// One finding's history, in the order of `report.findings`.
#[derive(Debug, Clone, Copy)]
pub struct LiveFinding {
    /// Seconds since it first appeared (in consecutive refreshes).
    pub active_s: u64,
    /// Its score against the last refresh.
    pub trend: Trend,
}

/// What the view shows beyond the report.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The window's rates.
    pub pulse: Pulse,
    /// Per finding of the report.
    pub findings: Vec<LiveFinding>,
}

/// The screen's size and colour.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// ANSI bold and colour.
    pub color: bool,
}

/// Minutes a sparkline shows.
const SPARK_MINUTES: usize = 15;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn duration(s: u64) -> String {
    match s {
        60..3600 if s.is_multiple_of(60) => format!("{}m", s / 60),
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// The last [`SPARK_MINUTES`] of a per-minute series as bars scaled to its own peak.
fn sparkline(counts: &[u64]) -> String {
    let tail = &counts[counts.len().saturating_sub(SPARK_MINUTES)..];
    let peak = tail.iter().copied().max().unwrap_or(0).max(1);
    tail.iter()
        .map(|&n| {
            if n == 0 {
                ' '
            } else {
                BARS[((n * 8).div_ceil(peak) - 1).min(7) as usize]
            }
        })
        .collect()
}

fn header_line(report: &Report) -> String {
    let s = &report.summary;
    let span = s.window.as_ref().map_or_else(String::new, |w| {
        let clock = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| t.get(11..19))
                .unwrap_or("")
                .to_owned()
        };
        format!("{}–{} UTC", clock(&w.since), clock(&w.until))
    });
    let Some(f) = &s.follow else {
        return span;
    };
    let lag = f.lag_ms.map_or_else(
        || "no event yet".to_owned(),
        |ms| format!("lag {:.1} s", ms as f64 / 1000.0),
    );
    format!(
        "audit-scan --follow   window {} {span}   refresh {} every {}s   {lag}",
        duration(f.window_seconds),
        f.refresh,
        f.refresh_seconds
    )
}

/// Draws the view (without the escape that clears the screen).
#[must_use]
pub fn render(report: &Report, live: &Live, screen: Screen) -> String {
    let bold = |s: &str| {
        if screen.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    let mut out = String::new();
    let p = &live.pulse;
    let _ = writeln!(out, "{}", bold(&header_line(report)));
    let _ = writeln!(
        out,
        "requests/s {:.1}   429 {}   5xx {}   success {}   requests {}",
        p.requests_per_s,
        percent(p.throttled_share),
        percent(p.server_error_share),
        percent(p.success_rate),
        report.summary.requests
    );
    // Rows left for the two tables: a third for clients, the rest for findings.
    let rows = screen.height.saturating_sub(8).max(4);
    let client_rows = (rows / 3).max(3);
    out.push('\n');
    let _ = writeln!(out, "{}", bold("TOP CLIENTS"));
    let mut t = Table::new(&[
        ("client", Align::Left),
        ("req/s", Align::Right),
        ("share", Align::Right),
        ("last minutes", Align::Left),
    ]);
    let total = report.summary.requests.max(1) as f64;
    let seconds = (report.timeline.len() as f64 * 60.0).max(60.0);
    for c in report.clients.iter().take(client_rows) {
        t.row(vec![
            c.client.clone(),
            format!("{:.2}", c.requests as f64 / seconds),
            format!("{:.0}%", c.requests as f64 / total * 100.0),
            sparkline(&c.per_minute.counts),
        ]);
    }
    out.push_str(&t.render(screen.width, screen.color));
    out.push('\n');
    let _ = writeln!(out, "{}", bold("FINDINGS"));
    if report.findings.is_empty() {
        out.push_str("none in this window\n");
        return out;
    }
    let mut t = Table::new(&[
        ("severity", Align::Left),
        ("rule", Align::Left),
        ("client", Align::Left),
        ("active", Align::Right),
        ("trend", Align::Left),
        ("finding", Align::Left),
    ]);
    let shown = rows.saturating_sub(client_rows).max(1);
    for (f, l) in report.findings.iter().zip(&live.findings).take(shown) {
        t.row(vec![
            f.severity.name().to_owned(),
            f.rule.to_owned(),
            f.client.clone(),
            duration(l.active_s),
            l.trend.label().to_owned(),
            f.headline.clone(),
        ]);
    }
    out.push_str(&t.render(screen.width, screen.color));
    if report.findings.len() > shown {
        let _ = writeln!(
            out,
            "… and {} more ({} in all)",
            report.findings.len() - shown,
            sanitize(&report.findings.len().to_string())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_their_peak_and_show_the_last_minutes() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), " ▁▂▄█");
        let long: Vec<u64> = (0..40).collect();
        assert_eq!(sparkline(&long).chars().count(), SPARK_MINUTES);
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(190), "3m10s");
        assert_eq!(duration(900), "15m");
        assert_eq!(duration(7300), "2h01m");
    }
}

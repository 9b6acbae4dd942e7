//! Render: the incident timeline's lines, shared by the text and Markdown reports (each passes
//! its own escaping for client names, which come from the log).

use super::format::{num, span, when};
use crate::model::timeline::{Burst, IncidentTimeline};

/// A dip's headline, its clients' lines, and one line per kind of burst; `esc` escapes a client
/// name, `dated` puts dates on the times.
pub(crate) fn lines(t: &IncidentTimeline, dated: bool, esc: &dyn Fn(&str) -> String) -> Vec<Line> {
    let mut out = Vec::new();
    for (i, d) in t.dips.iter().enumerate() {
        out.push(Line::Head(format!(
            "dip {}: {} ({} min, {} below; worst {:.1}% at {}): {} of {} requests failed ({} answered 429)",
            i + 1,
            span(&d.start, &d.end, dated),
            d.minutes,
            d.minutes_below,
            d.worst_success_rate * 100.0,
            when(&d.worst_minute, dated),
            num(d.failed),
            num(d.requests),
            num(d.throttled),
        )));
        for c in &d.clients {
            out.push(Line::Detail(format!(
                "{} explains {:.0}% ({:.0}% of the failures, {:.0}% of the excess load; {}/min against {}/min outside the dips){}",
                esc(&c.client),
                c.explains * 100.0,
                c.failed_share * 100.0,
                c.excess_share * 100.0,
                super::format::fnum(c.per_minute),
                super::format::fnum(c.baseline_per_minute),
                c.episode.as_ref().map_or_else(String::new, |e| format!(
                    "; its episode {} ({})",
                    span(&e.start, &e.end, dated),
                    e.signals.join(", ")
                )),
            )));
        }
    }
    for (name, bursts) in [("429", &t.throttle_bursts), ("5xx", &t.error_bursts)] {
        if !bursts.is_empty() {
            let list: Vec<String> = bursts.iter().map(|b| burst(b, dated, esc)).collect();
            out.push(Line::Head(format!("{name} bursts: {}", list.join("; "))));
        }
    }
    out
}

/// One line of the timeline.
pub(crate) enum Line {
    /// A dip or a burst list.
    Head(String),
    /// A client of the dip above.
    Detail(String),
}

fn burst(b: &Burst, dated: bool, esc: &dyn Fn(&str) -> String) -> String {
    let who: Vec<String> = b
        .clients
        .iter()
        .map(|c| format!("{} {}", esc(&c.name), num(c.count)))
        .collect();
    format!(
        "{} ({}, peak {} at {}{}{})",
        span(&b.start, &b.end, dated),
        num(b.count),
        num(b.peak),
        when(&b.peak_minute, dated),
        if who.is_empty() { "" } else { "; " },
        who.join(", ")
    )
}

/// The section's title.
pub(crate) fn title(t: &IncidentTimeline) -> String {
    format!(
        "Incident timeline ({} dip(s) below {:.0}% success; below-SLO minutes at most {} healthy minutes apart are one dip)",
        t.dips.len(),
        t.success_threshold * 100.0,
        t.merge_gap_minutes
    )
}

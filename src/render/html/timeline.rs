//! Report/HTML: the incident timeline section (windows longer than a few hours) — the same lines
//! as the text and Markdown reports (`render::timeline`), each dip a list item with its clients
//! beneath, and the worst dip as the page's default shaded window.

use std::fmt::Write as _;

use super::esc;
use crate::model::report::Report;
use crate::model::timeline::IncidentTimeline;
use crate::render::timeline::{Line, lines, title};
use crate::timefmt::{MINUTE_US, Micros, parse_rfc3339};

/// The section, or nothing for a report without a timeline.
pub(super) fn incident_timeline(out: &mut String, r: &Report) {
    let Some(t) = &r.incident_timeline else {
        return;
    };
    let _ = write!(
        out,
        r#"<h2 id="timeline">{}</h2><ul class="timeline">"#,
        esc(&title(t))
    );
    // Client names are escaped as the lines are made; the rest of each line is ours.
    let mut open = false;
    for line in lines(t, crate::render::format::multi_day(r), &|s: &str| esc(s)) {
        match line {
            Line::Head(s) => {
                if open {
                    out.push_str("</ul></li>");
                }
                let _ = write!(out, "<li>{s}<ul>");
                open = true;
            }
            Line::Detail(s) => {
                let _ = write!(out, "<li>{s}</li>");
            }
        }
    }
    if open {
        out.push_str("</ul></li>");
    }
    out.push_str("</ul>");
    if t.dips.is_empty() {
        out.push_str(r#"<p class="note">No minute fell below the success-rate SLO.</p>"#);
    }
}

/// The worst dip, `[first minute, minute after the last)` µs: the one whose worst minute has
/// the lowest success rate (the earliest of equals). The page shades it when `--mark` is not
/// given.
pub(super) fn worst_dip(t: &IncidentTimeline) -> Option<(Micros, Micros)> {
    let d = t
        .dips
        .iter()
        .min_by(|x, y| x.worst_success_rate.total_cmp(&y.worst_success_rate))?;
    Some((parse_rfc3339(&d.start)?, parse_rfc3339(&d.end)? + MINUTE_US))
}

//! HTML sections: how the API server answered — errors, watches — and what was read.

use std::fmt::Write as _;

use super::{Cell, ms, n, opt, t, table};
use crate::model::report::Report;
use crate::render::format::num;
use crate::render::html::charts::{Axis, Layer, bar_chart, legend, pct_chart, timeline_columns};
use crate::render::html::{HtmlOptions, esc, prose};
use crate::render::sanitize;
use crate::timefmt::{Micros, parse_rfc3339};

pub(in crate::render::html) fn errors(
    out: &mut String,
    r: &Report,
    axis: Option<Axis>,
    o: &HtmlOptions,
) {
    out.push_str(r#"<h2 id="errors">Errors and success rate</h2>"#);
    if let Some(axis) = axis {
        out.push_str(r"<h3>Failed requests per minute (5xx and 429, short requests)</h3>");
        let (e5, e429) = (
            timeline_columns(r, axis, |m| m.server_errors),
            timeline_columns(r, axis, |m| m.throttled),
        );
        if e5.iter().chain(&e429).all(|v| *v == 0.0) {
            out.push_str(r#"<p class="note">No request was answered 5xx or 429.</p>"#);
        } else {
            legend(out, &[("#c8382b", "5xx"), ("#e08a1e", "429 throttled")]);
            let layers = [
                Layer {
                    name: "5xx",
                    class: "e5",
                    columns: e5,
                },
                Layer {
                    name: "429",
                    class: "e429",
                    columns: e429,
                },
            ];
            bar_chart(out, axis, &layers, 110.0, "requests");
        }
        let rate: Vec<(Micros, f64)> = r
            .timeline
            .iter()
            .filter_map(|m| Some((parse_rfc3339(&m.minute)?, m.success_rate? * 100.0)))
            .collect();
        let low = rate.iter().map(|p| p.1).fold(100.0, f64::min);
        let floor = if low >= 99.0 {
            98.0
        } else {
            (low / 10.0).floor() * 10.0
        };
        out.push_str("<h3>Success rate per minute</h3>");
        pct_chart(out, axis, &rate, floor, 110.0);
    }
    let rows: Vec<Vec<Cell>> = r
        .errors
        .iter()
        .take(o.top)
        .map(|e| {
            vec![
                t(e.client.clone()),
                n(e.code.to_string()),
                t(e.kind),
                t(e.reason.clone()),
                t(e.verb.clone()),
                t(e.resource.clone()),
                n(num(e.count)),
                opt(e.first.as_ref()),
            ]
        })
        .collect();
    table(
        out,
        "errors-table",
        &[
            "Client", "Code", "Kind", "Reason", "Verb", "Resource", "Count", "First",
        ],
        &rows,
        r.errors.len(),
    );
}

pub(in crate::render::html) fn watches(out: &mut String, r: &Report, o: &HtmlOptions) {
    if r.watches.is_empty() {
        return;
    }
    out.push_str(r#"<h2 id="watches">Watches</h2>"#);
    let rows: Vec<Vec<Cell>> = r
        .watches
        .iter()
        .take(o.top)
        .map(|w| {
            vec![
                t(w.client.clone()),
                t(w.resource.clone()),
                n(num(w.count)),
                n(ms(w.duration_ms.as_ref(), |l| l.p50 / 1000.0)),
                n(num(w.ended_early)),
                n(num(w.lists)),
                n(num(w.errors)),
            ]
        })
        .collect();
    table(
        out,
        "watches-table",
        &[
            "Client",
            "Resource",
            "Watches",
            "P50 s",
            "Ended early",
            "Relists",
            "Errors",
        ],
        &rows,
        r.watches.len(),
    );
}

pub(in crate::render::html) fn inputs(out: &mut String, r: &Report) {
    let s = &r.summary;
    out.push_str(r#"<h2 id="inputs">Inputs and coverage</h2>"#);
    let rows: Vec<Vec<Cell>> = s
        .inputs
        .iter()
        .map(|i| {
            vec![
                t(i.name.clone()),
                n(num(i.raw_bytes)),
                n(num(i.requests)),
                t(i.error.clone().unwrap_or_default()),
            ]
        })
        .collect();
    table(
        out,
        "inputs-table",
        &["Input", "Bytes", "Requests", "Error"],
        &rows,
        rows.len(),
    );
    if s.skipped.total > 0 {
        let _ = write!(
            out,
            r#"<p class="note">{} lines or EventList items skipped: {}.</p>"#,
            num(s.skipped.total),
            esc(&s
                .skipped
                .by_reason
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "))
        );
    }
    let altered = sanitize::altered_note(r);
    for c in s.coverage.iter().chain(&s.warnings).chain(&altered) {
        let _ = write!(out, r#"<p class="note">{}</p>"#, prose(c));
    }
}

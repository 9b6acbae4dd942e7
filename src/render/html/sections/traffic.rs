//! HTML sections: the traffic over time and the clients behind it.

use std::fmt::Write as _;

use super::{Cell, ms, n, t, table};
use crate::model::report::Report;
use crate::render::format::num;
use crate::render::html::charts::{Axis, Layer, bar_chart, fold_note, legend, timeline_columns};
use crate::render::html::{HtmlOptions, esc};

pub(in crate::render::html) fn traffic(out: &mut String, r: &Report, axis: Option<Axis>) {
    out.push_str(r#"<h2 id="traffic">Requests per minute</h2>"#);
    let Some(axis) = axis else {
        out.push_str(r#"<p class="note">No request in the window.</p>"#);
        return;
    };
    let writes = timeline_columns(r, axis, |m| m.writes);
    let reads: Vec<f64> = timeline_columns(r, axis, |m| m.requests)
        .iter()
        .zip(&writes)
        .map(|(a, w)| (a - w).max(0.0))
        .collect();
    legend(
        out,
        &[("#2f6fb3", "reads and watches"), ("#e08a1e", "writes")],
    );
    bar_chart(
        out,
        axis,
        &[
            Layer {
                name: "reads",
                class: "req",
                columns: reads,
            },
            Layer {
                name: "writes",
                class: "w",
                columns: writes,
            },
        ],
        170.0,
        "requests",
    );
    fold_note(out, axis);
}

pub(in crate::render::html) fn clients(
    out: &mut String,
    r: &Report,
    axis: Option<Axis>,
    o: &HtmlOptions,
) {
    out.push_str(r#"<h2 id="clients">Clients</h2>"#);
    if let Some(axis) = axis {
        out.push_str(r#"<p class="note">Requests per minute of the busiest clients, on one time axis (shaded: <code>--mark</code>).</p>"#);
        let charted = r.clients.iter().filter(|c| !c.per_minute.omitted);
        for c in charted.take(o.top.min(12)) {
            let _ = write!(
                out,
                r#"<h3 class="client">{} <small>— {} requests, peak {}/min at {}</small></h3>"#,
                esc(&c.client),
                num(c.requests),
                num(c.peak_qpm),
                esc(c.peak_minute.as_deref().unwrap_or("?"))
            );
            bar_chart(
                out,
                axis,
                &[Layer {
                    name: &c.client,
                    class: "req",
                    columns: axis
                        .fold(crate::render::points(&c.per_minute).map(|(t, n)| (t, n as f64))),
                }],
                64.0,
                "requests",
            );
            if c.per_minute.truncated {
                out.push_str(r#"<p class="note">Series cut at its first 31 days.</p>"#);
            }
        }
        fold_note(out, axis);
    }
    let rows: Vec<Vec<Cell>> = r
        .clients
        .iter()
        .take(o.top)
        .map(|c| {
            vec![
                t(c.client.clone()),
                t(c.user.clone()),
                n(num(c.requests)),
                n(num(c.reads)),
                n(num(c.writes)),
                n(num(c.lists)),
                n(num(c.watches)),
                n(num(c.errors)),
                n(format!("{:.2}", c.mean_qps)),
                n(num(c.peak_qpm)),
                n(ms(c.latency_ms.as_ref(), |l| l.p99)),
                n(format!("{:.2}", c.apf_seats)),
                n(format!("{:.1}", c.cost_share * 100.0)),
                t(c.dominant_cost.as_deref().unwrap_or("–")),
                t(c.top_pods.first().map_or("–", |p| p.name.as_str())),
            ]
        })
        .collect();
    table(
        out,
        "clients-table",
        &[
            "Client",
            "User",
            "Requests",
            "Reads",
            "Writes",
            "LISTs",
            "Watches",
            "Errors",
            "QPS",
            "Peak/min",
            "P99 ms",
            "Seats",
            "Cost %",
            "Costliest",
            "Top pod",
        ],
        &rows,
        r.clients.len(),
    );
}

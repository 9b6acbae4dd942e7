//! One function per section of the HTML page, each writing its heading, charts and table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::charts::{
    Axis, HBar, Layer, bar_chart, fold_note, hbar_chart, latency_chart, legend, pct_chart,
    timeline_columns,
};
use super::{HtmlOptions, esc, prose};
use crate::model::report::Report;
use crate::model::rows::LatencyRow;
use crate::render::format::{fnum, num};
use crate::render::sanitize;
use crate::timefmt::{Micros, parse_rfc3339};

fn ms(l: Option<&LatencyRow>, f: impl Fn(&LatencyRow) -> f64) -> String {
    l.map_or_else(|| "–".into(), |l| fnum(f(l)))
}

/// A cell of an HTML table.
enum Cell {
    Text(String),
    Num(String),
}

fn table(out: &mut String, id: &str, headers: &[&str], rows: &[Vec<Cell>], total: usize) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(out, r#"<table id="{id}"><thead><tr>"#);
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            match c {
                Cell::Text(s) => {
                    let _ = write!(out, "<td>{}</td>", esc(s));
                }
                Cell::Num(s) => {
                    let _ = write!(out, r#"<td class="n">{}</td>"#, esc(s));
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if total > rows.len() {
        let _ = write!(
            out,
            r#"<p class="more">Top {} of {total} rows; <code>--top N</code> shows more, the JSON report has all.</p>"#,
            rows.len()
        );
    }
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}
fn n(s: impl Into<String>) -> Cell {
    Cell::Num(s.into())
}
fn opt(s: Option<&String>) -> Cell {
    t(s.map_or("–", String::as_str).get(..19).unwrap_or("–"))
}

pub(super) fn cards(out: &mut String, r: &Report) {
    let h = &r.sizing;
    let below = r.health.below_threshold.len();
    let items = [
        (num(r.findings.len() as u64), "findings".to_owned()),
        (
            fnum(r.summary.span_seconds / 60.0),
            "minutes of log".to_owned(),
        ),
        (
            r.timeline
                .iter()
                .map(|m| m.requests)
                .max()
                .map_or("–".into(), num),
            "peak requests / minute".to_owned(),
        ),
        (fnum(h.peak_seats), "peak APF seats in use".to_owned()),
        (
            num(below as u64),
            format!(
                "minutes below {}% success",
                fnum(r.health.success_threshold * 100.0)
            ),
        ),
        (esc(&h.tier.recommended), "EKS tier that fits".to_owned()),
    ];
    out.push_str(r#"<div class="cards">"#);
    for (v, what) in items {
        let _ = write!(
            out,
            r#"<div class="card"><b>{v}</b><span>{what}</span></div>"#
        );
    }
    out.push_str("</div>");
}

pub(super) fn findings(out: &mut String, r: &Report) {
    out.push_str(
        r#"<h2 id="findings">Findings, ranked by severity, then cost to the control plane</h2>"#,
    );
    if r.findings.is_empty() {
        out.push_str(r#"<p class="note">No finding: no rule's threshold was crossed.</p>"#);
        return;
    }
    out.push_str(r#"<table id="findings-table"><thead><tr><th>#</th><th>Severity</th><th>Rule</th><th>Client</th><th>Where</th><th>What</th><th>Cost<br><small>seat-s/h</small></th></tr></thead><tbody>"#);
    for f in &r.findings {
        let sev = f.severity.name();
        let place = f
            .object
            .as_deref()
            .map(|o| format!("{} {o}", f.resource.as_deref().unwrap_or("")))
            .or_else(|| f.resource.clone())
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<tr class="finding"><td class="n">{}</td><td><span class="sev sev-{sev}">{sev}</span></td><td>{} <small>{}</small></td><td class="client">{}</td><td>{}</td><td>{}<details><summary>evidence and remedy</summary><dl class="kv"><dt>{}</dt><dd>{} (threshold {})</dd><dt>when</dt><dd>{} – {}</dd>"#,
            f.rank,
            esc(f.rule),
            esc(f.slug),
            esc(&f.client),
            esc(place.trim()),
            prose(&f.headline),
            esc(&f.evidence.metric),
            fnum(f.evidence.value),
            fnum(f.evidence.threshold),
            esc(f.evidence.first.as_deref().unwrap_or("?")),
            esc(f.evidence.last.as_deref().unwrap_or("?")),
        );
        for (k, v) in &f.evidence.details {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
        }
        if !f.evidence.sample_audit_ids.is_empty() {
            let _ = write!(
                out,
                "<dt>auditIDs</dt><dd>{}</dd>",
                esc(&f.evidence.sample_audit_ids.join(", "))
            );
        }
        let _ = write!(
            out,
            r#"<dt>remedy</dt><dd>{}</dd></dl></details></td><td class="n">{}</td></tr>"#,
            prose(&f.remediation),
            fnum(f.score)
        );
    }
    out.push_str("</tbody></table>");
    if !r.suppressed.is_empty() {
        let _ = write!(
            out,
            r#"<p class="note">{} finding(s) suppressed by the configuration (listed in the JSON report).</p>"#,
            r.suppressed.len()
        );
    }
}

pub(super) fn traffic(out: &mut String, r: &Report, axis: Option<Axis>) {
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

pub(super) fn clients(out: &mut String, r: &Report, axis: Option<Axis>, o: &HtmlOptions) {
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

fn list_name(l: &crate::model::report::ListRow) -> String {
    let who = if l.user_agent.is_empty() {
        format!("({})", l.client)
    } else {
        l.user_agent.clone()
    };
    format!("{who} · {}", l.resource)
}

pub(super) fn lists(out: &mut String, r: &Report, o: &HtmlOptions) {
    out.push_str(r#"<h2 id="lists">LISTs per userAgent</h2>"#);
    let rows: Vec<(String, &LatencyRow)> = r
        .lists
        .iter()
        .take(o.top)
        .filter_map(|l| Some((list_name(l), l.latency_ms.as_ref()?)))
        .collect();
    if !rows.is_empty() {
        legend(
            out,
            &[
                ("#2f6fb3", "p50"),
                ("#8fb8e0", "p90"),
                ("#d6e4f0", "p99"),
                ("#c8382b", "max"),
            ],
        );
        latency_chart(out, &rows);
    }
    let rows: Vec<Vec<Cell>> = r
        .lists
        .iter()
        .take(o.top)
        .map(|l| {
            let lat = l.latency_ms.as_ref();
            vec![
                t(if l.user_agent.is_empty() {
                    format!("({})", l.client)
                } else {
                    l.user_agent.clone()
                }),
                t(l.resource.clone()),
                n(num(l.count)),
                n(fnum(l.per_hour)),
                n(ms(lat, |x| x.p50)),
                n(ms(lat, |x| x.p90)),
                n(ms(lat, |x| x.p99)),
                n(ms(lat, |x| x.max)),
                n(num(l.cluster_scope)),
                n(num(l.served_from_etcd)),
                n(num(l.paginated)),
            ]
        })
        .collect();
    table(
        out,
        "lists-table",
        &[
            "userAgent",
            "Resource",
            "LISTs",
            "/hour",
            "P50 ms",
            "P90 ms",
            "P99 ms",
            "Max ms",
            "Cluster",
            "From etcd",
            "Paginated",
        ],
        &rows,
        r.lists.len(),
    );
}

pub(super) fn writes(out: &mut String, r: &Report, o: &HtmlOptions) {
    out.push_str(r#"<h2 id="writes">Write load per client</h2>"#);
    let mut by_client: BTreeMap<&str, ([f64; 5], u64)> = BTreeMap::new();
    for w in &r.writes {
        let slot = match w.verb.as_str() {
            "create" => 0,
            "update" => 1,
            "patch" => 2,
            "delete" | "deletecollection" => 3,
            _ => 4,
        };
        let e = by_client.entry(&w.client).or_default();
        e.0[slot] += w.per_second;
        e.1 += w.count;
    }
    let mut per_client: Vec<(&str, [f64; 5], u64)> =
        by_client.into_iter().map(|(c, (v, n))| (c, v, n)).collect();
    per_client.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    let rows: Vec<HBar<'_>> = per_client
        .iter()
        .take(o.top)
        .map(|(c, v, total)| {
            let parts = ["create", "update", "patch", "delete", "other"]
                .into_iter()
                .zip(v.iter().copied())
                .collect();
            (
                (*c).to_owned(),
                parts,
                format!("{}/s ({} writes)", fnum(v.iter().sum()), num(*total)),
            )
        })
        .collect();
    if !rows.is_empty() {
        legend(
            out,
            &[
                ("#2f855a", "create"),
                ("#2f6fb3", "update"),
                ("#8fb8e0", "patch"),
                ("#c8382b", "delete"),
                ("#9aa5b1", "other"),
            ],
        );
        hbar_chart(out, &rows, "writes/s");
    }
    let rows: Vec<Vec<Cell>> = r
        .writes
        .iter()
        .take(o.top)
        .map(|w| {
            vec![
                t(w.client.clone()),
                t(w.target()),
                t(w.verb.clone()),
                n(num(w.count)),
                n(fnum(w.per_second)),
                n(num(w.noop)),
            ]
        })
        .collect();
    table(
        out,
        "writes-table",
        &["Client", "Resource", "Verb", "Writes", "Per s", "No-op"],
        &rows,
        r.writes.len(),
    );
    out.push_str("<h3>Most-written objects</h3>");
    let rows: Vec<Vec<Cell>> = r
        .objects
        .iter()
        .take(o.top)
        .map(|x| {
            let writers: Vec<String> = x
                .writers
                .iter()
                .take(3)
                .map(|w| format!("{} ({})", w.name, w.count))
                .collect();
            vec![
                t(format!("{}/{}/{}", x.resource, x.namespace, x.name)),
                n(num(x.writes)),
                n(num(x.status_writes)),
                n(num(x.peak_writes)),
                n(num(x.conflicts)),
                t(writers.join(", ")),
            ]
        })
        .collect();
    table(
        out,
        "objects-table",
        &["Object", "Writes", "Status", "Peak/min", "409s", "Writers"],
        &rows,
        r.objects.len(),
    );
}

pub(super) fn errors(out: &mut String, r: &Report, axis: Option<Axis>, o: &HtmlOptions) {
    out.push_str(r#"<h2 id="errors">Errors and success rate</h2>"#);
    if let Some(axis) = axis {
        out.push_str(r#"<h3>Failed requests per minute (5xx and 429, short requests)</h3>"#);
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

pub(super) fn watches(out: &mut String, r: &Report, o: &HtmlOptions) {
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

pub(super) fn inputs(out: &mut String, r: &Report) {
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

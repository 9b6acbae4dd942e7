//! Report: one self-contained HTML page — findings first, then per-minute charts and the tables.
//!
//! No network and no script: CSS and SVG are inline, and a Content-Security-Policy of
//! `default-src 'none'` makes the browser refuse anything else, so even a missed escape could
//! not load or run code. Every string from the log goes through [`esc`] (a userAgent is
//! attacker-controlled text). Charts are drawn here, in Rust, as SVG: bars per minute with a
//! `<title>` tooltip each, so the page works offline, prints, and needs no JavaScript.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::format::{fnum, num};
use super::sanitize::{self, Cap};
use crate::model::report::{MinuteRow, Report};
use crate::model::rows::LatencyRow;
use crate::timefmt::{MINUTE_US, Micros, format_rfc3339, parse_rfc3339};

/// How to draw the page.
#[derive(Debug, Clone, Copy)]
pub struct HtmlOptions {
    /// Rows per table and charts per section.
    pub top: usize,
    /// The incident window to shade on every time chart, `[from, to)` µs.
    pub mark: Option<(Micros, Micros)>,
}

/// Columns a time chart draws at most: longer spans fold several minutes into a column, which
/// shows the busiest of its minutes (a peak must stay visible).
const MAX_COLUMNS: usize = 720;
const CHART_W: f64 = 960.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;

/// Escapes one name or value for HTML element content and quoted attribute values
/// ([`super::sanitize::html`]).
#[must_use]
pub fn esc(s: &str) -> String {
    sanitize::html(s, Cap::Field)
}

/// Escapes a sentence that embeds log text (a headline, a remedy, a note).
fn prose(s: &str) -> String {
    sanitize::html(s, Cap::Prose)
}

fn ms(l: Option<&LatencyRow>, f: impl Fn(&LatencyRow) -> f64) -> String {
    l.map_or_else(|| "–".into(), |l| fnum(f(l)))
}

/// `2024-05-01T10:05:00Z` → `05-01 10:05` (or `10:05` when `short`).
fn label(t: Micros, short: bool) -> String {
    let s = format_rfc3339(t);
    if short {
        s.get(11..16).unwrap_or(&s).to_owned()
    } else {
        format!(
            "{} {}",
            s.get(5..10).unwrap_or(&s),
            s.get(11..16).unwrap_or("")
        )
    }
}

/// The shared time axis of every time chart: whole minutes `[x0, x1)`, µs.
#[derive(Clone, Copy)]
struct Axis {
    x0: Micros,
    x1: Micros,
    mark: Option<(Micros, Micros)>,
}

impl Axis {
    fn minutes(self) -> usize {
        usize::try_from((self.x1 - self.x0) / MINUTE_US).unwrap_or(0)
    }
    fn per_column(self) -> usize {
        self.minutes().div_ceil(MAX_COLUMNS).max(1)
    }
    fn columns(self) -> usize {
        self.minutes().div_ceil(self.per_column())
    }
    fn x(self, t: Micros) -> f64 {
        let span = (self.x1 - self.x0).max(1) as f64;
        LEFT + (CHART_W - LEFT - RIGHT) * ((t - self.x0) as f64 / span)
    }
    /// Folds per-minute points into columns (max of the minutes in a column).
    fn fold(self, points: impl Iterator<Item = (Micros, f64)>) -> Vec<f64> {
        let mut cols = vec![0.0f64; self.columns()];
        let per = self.per_column() as i64;
        for (t, v) in points {
            if t < self.x0 || t >= self.x1 {
                continue;
            }
            let i = usize::try_from((t - self.x0) / MINUTE_US / per).unwrap_or(usize::MAX);
            if let Some(c) = cols.get_mut(i) {
                *c = c.max(v);
            }
        }
        cols
    }
}

/// A ceiling for the y axis: 1, 2 or 5 times a power of ten.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * p)
}

/// One stacked layer of a bar chart.
struct Layer<'a> {
    name: &'a str,
    class: &'a str,
    columns: Vec<f64>,
}

/// A per-minute bar chart on `axis`: layers stack; each column's tooltip gives its values.
fn bar_chart(out: &mut String, axis: Axis, layers: &[Layer<'_>], height: f64, unit: &str) {
    let cols = axis.columns();
    let per = axis.per_column();
    let top_pad = 6.0;
    let bottom = height - 18.0;
    let totals: Vec<f64> = (0..cols)
        .map(|i| layers.iter().map(|l| l.columns[i]).sum())
        .collect();
    let ymax = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let y = |v: f64| bottom - (bottom - top_pad) * (v / ymax);
    let points = totals.iter().filter(|v| **v > 0.0).count();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {CHART_W} {height}" data-points="{points}" role="img">"#
    );
    mark(out, axis, top_pad, bottom);
    let grid: Vec<(f64, String)> = [0.0, 0.5, 1.0]
        .iter()
        .map(|f| (y(ymax * f), fnum(ymax * f)))
        .collect();
    y_grid(out, &grid);
    time_ticks(out, axis, bottom);
    let colw = (CHART_W - LEFT - RIGHT) / cols.max(1) as f64;
    let per_col_us = MINUTE_US * per as i64;
    // The same for every column: built once.
    let folded = if per > 1 {
        format!(" (+{per} min, busiest minute)")
    } else {
        String::new()
    };
    let names: Vec<String> = layers.iter().map(|l| esc(l.name)).collect();
    for (i, total) in totals.iter().enumerate() {
        if *total <= 0.0 {
            continue;
        }
        let t = axis.x0 + i as i64 * per_col_us;
        let x = LEFT + colw * i as f64;
        let mut base = 0.0;
        let mut tip = format!("{}{folded}", label(t, false));
        for (l, name) in layers.iter().zip(&names) {
            let _ = write!(tip, " · {name}: {} {unit}", fnum(l.columns[i]));
        }
        let _ = write!(out, "<g><title>{tip}</title>");
        for l in layers {
            let v = l.columns[i];
            if v > 0.0 {
                let (y1, y0) = (y(base + v), y(base));
                let _ = write!(
                    out,
                    r#"<rect class="{}" x="{x:.2}" y="{y1:.2}" width="{:.2}" height="{:.2}"/>"#,
                    l.class,
                    colw.max(0.6),
                    (y0 - y1).max(0.5)
                );
            }
            base += v;
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
}

/// A line chart of a percentage per minute (gaps where there is no value).
fn pct_chart(out: &mut String, axis: Axis, points: &[(Micros, f64)], floor: f64, height: f64) {
    let top_pad = 6.0;
    let bottom = height - 18.0;
    let y = |v: f64| bottom - (bottom - top_pad) * ((v - floor) / (100.0 - floor)).clamp(0.0, 1.0);
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {CHART_W} {height}" data-points="{}" role="img">"#,
        points.len()
    );
    mark(out, axis, top_pad, bottom);
    let grid: Vec<(f64, String)> = [floor, f64::midpoint(floor, 100.0), 100.0]
        .iter()
        .map(|&v| (y(v), format!("{}%", fnum(v))))
        .collect();
    y_grid(out, &grid);
    time_ticks(out, axis, bottom);
    let mut path = String::new();
    let mut prev: Option<Micros> = None;
    for (t, v) in points {
        let cmd = if prev.is_some_and(|p| t - p <= MINUTE_US) {
            'L'
        } else {
            'M'
        };
        let _ = write!(path, "{cmd}{:.2},{:.2}", axis.x(*t + MINUTE_US / 2), y(*v));
        prev = Some(*t);
    }
    let _ = write!(out, r#"<path class="line" d="{path}"/>"#);
    for (t, v) in points.iter().filter(|(_, v)| *v < 99.0) {
        let _ = write!(
            out,
            r#"<circle class="bad" cx="{:.2}" cy="{:.2}" r="2.5"><title>{}: {:.2}% succeeded</title></circle>"#,
            axis.x(*t + MINUTE_US / 2),
            y(*v),
            label(*t, false),
            v
        );
    }
    out.push_str("</svg>");
}

/// Horizontal grid lines at `(y, label)`.
fn y_grid(out: &mut String, lines: &[(f64, String)]) {
    for (y, text) in lines {
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{text}</text>"#,
            CHART_W - RIGHT,
            LEFT - 4.0,
            y + 3.0,
        );
    }
}

fn mark(out: &mut String, axis: Axis, top: f64, bottom: f64) {
    if let Some((from, to)) = axis.mark {
        let (a, b) = (from.max(axis.x0), to.min(axis.x1));
        if a < b {
            let _ = write!(
                out,
                r#"<rect class="mark" x="{:.2}" y="{top}" width="{:.2}" height="{:.2}"><title>incident window {} – {}</title></rect>"#,
                axis.x(a),
                axis.x(b) - axis.x(a),
                bottom - top,
                label(from, false),
                label(to, false)
            );
        }
    }
}

fn time_ticks(out: &mut String, axis: Axis, bottom: f64) {
    let minutes = axis.minutes().max(1) as i64;
    let short = minutes <= 24 * 60;
    // About 8 ticks, on round minutes.
    let step = [
        1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080,
    ]
    .into_iter()
    .find(|s| minutes / s <= 8)
    .unwrap_or(minutes / 8 + 1);
    let first = (axis.x0 / MINUTE_US).div_euclid(step) * step
        + if (axis.x0 / MINUTE_US) % step == 0 {
            0
        } else {
            step
        };
    let mut m = first;
    while m * MINUTE_US < axis.x1 {
        let t = m * MINUTE_US;
        let x = axis.x(t);
        let _ = write!(
            out,
            r#"<line class="axis" x1="{x:.2}" x2="{x:.2}" y1="{bottom}" y2="{}"/><text class="tick" x="{x:.2}" y="{}" text-anchor="middle">{}</text>"#,
            bottom + 3.0,
            bottom + 13.0,
            label(t, short)
        );
        m += step;
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{bottom}" y2="{bottom}"/>"#,
        CHART_W - RIGHT
    );
}

/// A row label cut to 52 characters (the full text stays in the row's tooltip).
fn row_label(name: &str) -> String {
    if name.chars().count() > 52 {
        name.chars().take(51).chain(['…']).collect()
    } else {
        name.to_owned()
    }
}

/// One row of a horizontal bar chart: its label, stacked (CSS class, value) parts, a note.
type HBar<'a> = (String, Vec<(&'a str, f64)>, String);

/// Horizontal bars, one row per item, each with stacked parts.
fn hbar_chart(out: &mut String, rows: &[HBar<'_>], unit: &str) {
    let row_h = 20.0;
    let label_w = 330.0;
    let height = row_h * rows.len() as f64 + 22.0;
    let max = nice_max(
        rows.iter()
            .map(|(_, parts, _)| parts.iter().map(|p| p.1).sum::<f64>())
            .fold(0.0, f64::max),
    );
    let scale = (CHART_W - label_w - 90.0) / max;
    let _ = write!(
        out,
        r#"<svg class="chart hbar" viewBox="0 0 {CHART_W} {height}" data-points="{}" role="img">"#,
        rows.len()
    );
    for (i, (name, parts, note)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let short = row_label(name);
        let _ = write!(
            out,
            r#"<g><title>{}: {}</title><text class="rowlabel" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            esc(name),
            esc(note),
            label_w - 6.0,
            y + 13.0,
            esc(&short)
        );
        let mut x = label_w;
        for (class, v) in parts {
            let w = v * scale;
            if w > 0.0 {
                let _ = write!(
                    out,
                    r#"<rect class="{class}" x="{x:.2}" y="{y:.1}" width="{:.2}" height="{}"/>"#,
                    w.max(0.8),
                    row_h - 6.0
                );
            }
            x += w;
        }
        let _ = write!(
            out,
            r#"<text class="value" x="{:.2}" y="{:.1}">{}</text></g>"#,
            x + 4.0,
            y + 13.0,
            esc(note)
        );
    }
    let _ = write!(
        out,
        r#"<text class="tick" x="{label_w}" y="{:.1}">0</text><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{} {unit}</text></svg>"#,
        height - 4.0,
        label_w + max * scale,
        height - 4.0,
        fnum(max)
    );
}

/// LIST latency on a log scale: p50, p90 and p99 as nested bars, max as a tick.
fn latency_chart(out: &mut String, rows: &[(String, &LatencyRow)]) {
    let row_h = 20.0;
    let label_w = 330.0;
    let height = row_h * rows.len() as f64 + 24.0;
    let hi = rows
        .iter()
        .map(|(_, l)| l.max.max(l.p99))
        .fold(10.0, f64::max);
    let decades = hi.log10().ceil().max(1.0);
    let plot_w = CHART_W - label_w - 150.0;
    let x = |v: f64| label_w + plot_w * ((v.max(1.0)).log10() / decades).clamp(0.0, 1.0);
    let _ = write!(
        out,
        r#"<svg class="chart hbar" viewBox="0 0 {CHART_W} {height}" data-points="{}" role="img">"#,
        rows.len()
    );
    let mut d = 0.0;
    while d <= decades {
        let v = 10f64.powf(d);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{:.1}" x2="{:.1}" y1="2" y2="{:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{} ms</text>"#,
            x(v),
            x(v),
            height - 18.0,
            x(v),
            height - 5.0,
            fnum(v)
        );
        d += 1.0;
    }
    for (i, (name, l)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let short = row_label(name);
        let _ = write!(
            out,
            r#"<g><title>{}: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms ({} samples)</title><text class="rowlabel" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            esc(name),
            fnum(l.p50),
            fnum(l.p90),
            fnum(l.p99),
            fnum(l.max),
            l.samples,
            label_w - 6.0,
            y + 13.0,
            esc(&short)
        );
        for (class, v) in [("p99", l.p99), ("p90", l.p90), ("p50", l.p50)] {
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{label_w}" y="{y:.1}" width="{:.2}" height="{}"/>"#,
                (x(v) - label_w).max(0.8),
                row_h - 6.0
            );
        }
        let _ = write!(
            out,
            r#"<line class="maxtick" x1="{mx:.2}" x2="{mx:.2}" y1="{y:.1}" y2="{:.1}"/><text class="value" x="{:.2}" y="{:.1}">p99 {} ms</text></g>"#,
            y + row_h - 6.0,
            x(l.max.max(l.p99)) + 4.0,
            y + 13.0,
            fnum(l.p99),
            mx = x(l.max)
        );
    }
    out.push_str("</svg>");
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

const CSS: &str = r"
:root{--fg:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bar:#2f6fb3;--bar2:#8fb8e0;--err:#c8382b;--warn:#e08a1e;--ok:#2f855a;--mark:#fde68a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);margin:0 auto;max-width:1100px;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:14px 0 2px}
.meta{color:var(--muted);margin:0 0 8px}
nav a{margin-right:12px;color:var(--bar)}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f0f4f8;font-weight:600;white-space:nowrap}
#findings-table td:nth-child(6){width:42%}#findings-table td:nth-child(2),#findings-table td:nth-child(3){white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.more,.note{color:var(--muted);font-size:12px;margin:2px 0 10px}
.sev{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px;font-weight:600}
.sev-critical{background:#7b1d1d}.sev-high{background:var(--err)}.sev-medium{background:var(--warn)}.sev-low{background:#4a6fa5}.sev-info{background:#829ab1}
details{margin-top:2px}summary{cursor:pointer;color:var(--muted)}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:0 12px;margin:4px 0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;margin:8px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:6px 10px}.card b{display:block;font-size:18px}.card span{color:var(--muted);font-size:12px}
svg.chart{width:100%;height:auto;display:block;margin:2px 0 6px}
svg text{font:10px system-ui,sans-serif;fill:var(--muted)}svg text.rowlabel{fill:var(--fg);font-size:11px}svg text.value{font-size:10px}
.grid{stroke:var(--line);stroke-width:.6}.axis{stroke:#9aa5b1;stroke-width:.8}
rect.req{fill:var(--bar)}rect.w{fill:var(--warn)}rect.e5{fill:var(--err)}rect.e429{fill:var(--warn)}rect.mark{fill:var(--mark);opacity:.6}
rect.create{fill:#2f855a}rect.update{fill:var(--bar)}rect.patch{fill:#8fb8e0}rect.delete{fill:var(--err)}rect.other{fill:#9aa5b1}
rect.p99{fill:#d6e4f0}rect.p90{fill:#8fb8e0}rect.p50{fill:var(--bar)}.maxtick{stroke:var(--err);stroke-width:1.5}
path.line{fill:none;stroke:var(--ok);stroke-width:1.4}circle.bad{fill:var(--err)}
.legend span{display:inline-block;margin-right:12px;font-size:12px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
@media print{body{max-width:none;padding:0}nav{display:none}h2{break-after:avoid}svg.chart,tr,.card{break-inside:avoid}details{display:block}}
";

/// Renders the page.
#[must_use]
pub fn render(r: &Report, o: &HtmlOptions) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let s = &r.summary;
    let title = format!(
        "audit-scan report: {} – {}",
        s.first_timestamp.as_deref().unwrap_or("?"),
        s.last_timestamp.as_deref().unwrap_or("?")
    );
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="generator" content="audit-scan {}"><title>{}</title><style>{CSS}</style></head><body>"#,
        esc(r.tool.version),
        esc(&title)
    );
    let _ = write!(
        out,
        r#"<h1>Which client is hurting the API server?</h1><p class="meta">{} · {} input{} · {} events · {} requests{}{}</p>"#,
        esc(&title),
        s.inputs.len(),
        if s.inputs.len() == 1 { "" } else { "s" },
        num(s.events),
        num(s.requests),
        if s.skipped.total > 0 {
            format!(" · <b>{} skipped</b>", num(s.skipped.total))
        } else {
            String::new()
        },
        s.server_version
            .as_deref()
            .map(|v| format!(" · kube-apiserver {}", esc(v)))
            .unwrap_or_default()
    );
    if let Some(c) = &s.config {
        let _ = write!(out, r#"<p class="meta">{}</p>"#, esc(&c.line()));
    }
    if let Some(sel) = &s.selection {
        let _ = write!(out, r#"<p class="meta">{}</p>"#, esc(&sel.line()));
    }
    out.push_str(r##"<nav><a href="#findings">Findings</a><a href="#traffic">Traffic</a><a href="#clients">Clients</a><a href="#lists">LISTs</a><a href="#writes">Writes</a><a href="#errors">Errors</a><a href="#watches">Watches</a><a href="#inputs">Inputs</a></nav>"##);
    cards(&mut out, r);
    findings(&mut out, r);
    let axis = axis(r, o.mark);
    traffic(&mut out, r, axis);
    clients(&mut out, r, axis, o);
    lists(&mut out, r, o);
    writes(&mut out, r, o);
    errors(&mut out, r, axis, o);
    watches(&mut out, r, o);
    inputs(&mut out, r);
    out.push_str("</body></html>\n");
    out
}

fn cards(out: &mut String, r: &Report) {
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

fn findings(out: &mut String, r: &Report) {
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

fn axis(r: &Report, mark: Option<(Micros, Micros)>) -> Option<Axis> {
    let first = r.timeline.first().and_then(|m| parse_rfc3339(&m.minute))?;
    let last = r.timeline.last().and_then(|m| parse_rfc3339(&m.minute))?;
    Some(Axis {
        x0: first,
        x1: last + MINUTE_US,
        mark,
    })
}

fn legend(out: &mut String, items: &[(&str, &str)]) {
    out.push_str(r#"<div class="legend">"#);
    for (color, name) in items {
        let _ = write!(
            out,
            r#"<span><i style="background:{color}"></i>{}</span>"#,
            esc(name)
        );
    }
    out.push_str("</div>");
}

fn fold_note(out: &mut String, axis: Axis) {
    if axis.per_column() > 1 {
        let _ = write!(
            out,
            r#"<p class="note">Each column is {} minutes and shows its busiest minute.</p>"#,
            axis.per_column()
        );
    }
}

/// One timeline column per chart column (see [`Axis::fold`]).
fn timeline_columns(r: &Report, axis: Axis, f: fn(&MinuteRow) -> u64) -> Vec<f64> {
    axis.fold(
        r.timeline
            .iter()
            .filter_map(|m| Some((parse_rfc3339(&m.minute)?, f(m) as f64))),
    )
}

fn traffic(out: &mut String, r: &Report, axis: Option<Axis>) {
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

fn clients(out: &mut String, r: &Report, axis: Option<Axis>, o: &HtmlOptions) {
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
                    columns: axis.fold(super::points(&c.per_minute).map(|(t, n)| (t, n as f64))),
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
            ]
        })
        .collect();
    table(
        out,
        "clients-table",
        &[
            "Client", "User", "Requests", "Reads", "Writes", "LISTs", "Watches", "Errors", "QPS",
            "Peak/min", "P99 ms",
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

fn lists(out: &mut String, r: &Report, o: &HtmlOptions) {
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

fn writes(out: &mut String, r: &Report, o: &HtmlOptions) {
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

fn errors(out: &mut String, r: &Report, axis: Option<Axis>, o: &HtmlOptions) {
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

fn watches(out: &mut String, r: &Report, o: &HtmlOptions) {
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

fn inputs(out: &mut String, r: &Report) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(esc("a\u{1b}[31mb"), "⚠a\\u{1b}[31mb");
    }

    #[test]
    fn long_spans_fold_minutes_into_columns_keeping_the_peak() {
        let axis = Axis {
            x0: 0,
            x1: 1440 * MINUTE_US,
            mark: None,
        };
        assert_eq!(axis.per_column(), 2);
        assert_eq!(axis.columns(), 720);
        let cols = axis.fold([(0, 3.0), (MINUTE_US, 9.0), (2 * MINUTE_US, 1.0)].into_iter());
        assert_eq!(&cols[..2], &[9.0, 1.0]);
    }

    #[test]
    fn nice_ceilings() {
        assert!((nice_max(0.0) - 1.0).abs() < 1e-9);
        assert!((nice_max(7.0) - 10.0).abs() < 1e-9);
        assert!((nice_max(120.0) - 200.0).abs() < 1e-9);
        assert!((nice_max(500.0) - 500.0).abs() < 1e-9);
    }
}

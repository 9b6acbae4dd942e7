//! The SVG charts of the HTML page: per-minute bars and lines on one time axis, horizontal bars
//! and the LIST latency chart.

use std::fmt::Write as _;

use super::esc;
use crate::model::report::{MinuteRow, Report};
use crate::model::rows::LatencyRow;
use crate::render::format::fnum;
use crate::timefmt::{MINUTE_US, Micros, format_rfc3339, parse_rfc3339};

/// Columns a time chart draws at most: longer spans fold several minutes into a column, which
/// shows the busiest of its minutes (a peak must stay visible).
const MAX_COLUMNS: usize = 720;
const CHART_W: f64 = 960.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;

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
pub(super) struct Axis {
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
    pub(super) fn fold(self, points: impl Iterator<Item = (Micros, f64)>) -> Vec<f64> {
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
pub(super) fn nice_max(v: f64) -> f64 {
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
pub(super) struct Layer<'a> {
    pub(super) name: &'a str,
    pub(super) class: &'a str,
    pub(super) columns: Vec<f64>,
}

/// A per-minute bar chart on `axis`: layers stack; each column's tooltip gives its values.
pub(super) fn bar_chart(
    out: &mut String,
    axis: Axis,
    layers: &[Layer<'_>],
    height: f64,
    unit: &str,
) {
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
pub(super) fn pct_chart(
    out: &mut String,
    axis: Axis,
    points: &[(Micros, f64)],
    floor: f64,
    height: f64,
) {
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
pub(super) type HBar<'a> = (String, Vec<(&'a str, f64)>, String);

/// Horizontal bars, one row per item, each with stacked parts.
pub(super) fn hbar_chart(out: &mut String, rows: &[HBar<'_>], unit: &str) {
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
pub(super) fn latency_chart(out: &mut String, rows: &[(String, &LatencyRow)]) {
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

pub(super) fn axis(r: &Report, mark: Option<(Micros, Micros)>) -> Option<Axis> {
    let first = r.timeline.first().and_then(|m| parse_rfc3339(&m.minute))?;
    let last = r.timeline.last().and_then(|m| parse_rfc3339(&m.minute))?;
    Some(Axis {
        x0: first,
        x1: last + MINUTE_US,
        mark,
    })
}

pub(super) fn legend(out: &mut String, items: &[(&str, &str)]) {
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

pub(super) fn fold_note(out: &mut String, axis: Axis) {
    if axis.per_column() > 1 {
        let _ = write!(
            out,
            r#"<p class="note">Each column is {} minutes and shows its busiest minute.</p>"#,
            axis.per_column()
        );
    }
}

/// One timeline column per chart column (see [`Axis::fold`]).
pub(super) fn timeline_columns(r: &Report, axis: Axis, f: fn(&MinuteRow) -> u64) -> Vec<f64> {
    axis.fold(
        r.timeline
            .iter()
            .filter_map(|m| Some((parse_rfc3339(&m.minute)?, f(m) as f64))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

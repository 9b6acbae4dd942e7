//! One function per section of the HTML page, each writing its heading, charts and table;
//! the sections live by family (summary, traffic, requests, health) and share the table
//! helpers below.

use std::fmt::Write as _;

use super::esc;
use crate::model::rows::LatencyRow;
use crate::render::format::fnum;

mod health;
mod requests;
mod summary;
mod traffic;

pub(super) use health::{errors, inputs, watches};
pub(super) use requests::{lists, writes};
pub(super) use summary::{cards, findings};
pub(super) use traffic::{clients, traffic};

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

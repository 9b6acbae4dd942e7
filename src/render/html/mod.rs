//! Report: one self-contained HTML page — findings first, then per-minute charts and the tables.
//!
//! No network and no script: CSS and SVG are inline, and a Content-Security-Policy of
//! `default-src 'none'` makes the browser refuse anything else, so even a missed escape could
//! not load or run code. Every string from the log goes through [`esc`] (a userAgent is
//! attacker-controlled text). Charts are drawn here, in Rust, as SVG: bars per minute with a
//! `<title>` tooltip each, so the page works offline, prints, and needs no JavaScript.

use std::fmt::Write as _;

use super::format::num;
use super::sanitize::{self, Cap};
use crate::model::report::Report;
use crate::timefmt::Micros;
use charts::axis;
use sections::{cards, clients, errors, findings, inputs, lists, traffic, watches, writes};

mod charts;
mod sections;
mod timeline;

/// How to draw the page.
#[derive(Debug, Clone, Copy)]
pub struct HtmlOptions {
    /// Rows per table and charts per section.
    pub top: usize,
    /// The incident window to shade on every time chart, `[from, to)` µs.
    pub mark: Option<(Micros, Micros)>,
}

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

/// The page's stylesheet, inlined into its `<style>` element.
const CSS: &str = include_str!("style.css");

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
    let timeline_link = if r.incident_timeline.is_some() {
        r##"<a href="#timeline">Timeline</a>"##
    } else {
        ""
    };
    let _ = write!(
        out,
        r##"<nav>{timeline_link}<a href="#findings">Findings</a><a href="#traffic">Traffic</a><a href="#clients">Clients</a><a href="#lists">LISTs</a><a href="#writes">Writes</a><a href="#errors">Errors</a><a href="#watches">Watches</a><a href="#inputs">Inputs</a></nav>"##
    );
    cards(&mut out, r);
    timeline::incident_timeline(&mut out, r);
    findings(&mut out, r);
    // Without `--mark`, a long window's worst dip is the window worth shading.
    let default_mark = r.incident_timeline.as_ref().and_then(timeline::worst_dip);
    if o.mark.is_none() && default_mark.is_some() {
        out.push_str(r#"<p class="note">Shaded on every time chart: the worst dip of the incident timeline (<code>--mark FROM..TO</code> shades another window).</p>"#);
    }
    let axis = axis(r, o.mark.or(default_mark));
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
}

//! Report: renders one [`Report`] value in each output format. Only this module and `main.rs`
//! write to the terminal.

pub mod format;
pub mod html;
pub mod junit;
pub mod live;
pub mod markdown;
pub mod sanitize;
pub mod sarif;
pub mod schema;
pub mod table;
pub mod text;
pub mod timeline;

use std::io::Write;

use crate::model::report::{Report, Series};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for the terminal.
    Text,
    /// The `audit-scan/report/v1` document.
    Json,
    /// Markdown for incident tickets.
    #[value(alias = "markdown")]
    Md,
    /// One self-contained HTML page with charts (write it with `-o report.html`).
    Html,
    /// JUnit XML for CI test reports: a test case per finding, failing at `--fail-on`.
    Junit,
    /// SARIF 2.1.0 for code-scanning dashboards.
    Sarif,
}

/// How to render text.
#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    /// Columns available.
    pub width: usize,
    /// Rows per section.
    pub top: usize,
    /// ANSI bold for headers.
    pub color: bool,
    /// The incident window `[from, to)` (µs) that HTML charts shade.
    pub mark: Option<(crate::timefmt::Micros, crate::timefmt::Micros)>,
    /// `--fail-on`: the severity from which a JUnit case fails (`None`: every finding).
    pub fail_on: Option<crate::model::finding::Severity>,
}

/// Writes `report` in `format`.
///
/// # Errors
/// Writing fails (a closed pipe is the caller's to treat as success).
pub fn render(
    report: &Report,
    format: Format,
    style: TextStyle,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            out.write_all(b"\n")
        }
        Format::Text => out.write_all(text::render(report, style).as_bytes()),
        Format::Md => out.write_all(markdown::render(report, style.top).as_bytes()),
        Format::Html => {
            let opts = html::HtmlOptions {
                top: style.top,
                mark: style.mark,
            };
            out.write_all(html::render(report, &opts).as_bytes())
        }
        Format::Junit => out.write_all(junit::render(report, style.fail_on).as_bytes()),
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif::render(report))?;
            out.write_all(b"\n")
        }
    }
}

/// (minute start in µs, requests) for every minute of the series.
pub fn points(series: &Series) -> impl Iterator<Item = (crate::timefmt::Micros, u64)> + '_ {
    let start = series
        .start
        .as_deref()
        .and_then(crate::timefmt::parse_rfc3339);
    series
        .counts
        .iter()
        .enumerate()
        .filter_map(move |(i, n)| Some((start? + i as i64 * crate::timefmt::MINUTE_US, *n)))
}

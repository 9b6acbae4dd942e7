//! Where `--follow` writes each refresh and the final report: NDJSON lines (`--format json`,
//! to stdout or appended to `-o FILE`), a file rewritten atomically (`-o FILE`, any other
//! format: written beside it, then renamed over it, so a reader never sees half a page), the
//! live view redrawn in place (text to a terminal), or appended plain blocks (piped).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::super::plan::now_micros;
use super::super::scan::{color_allowed, text_style};
use super::super::to_stdout;
use super::history::History;
use crate::cli::scan::ScanArgs;
use crate::model::report::Report;
use crate::render::live::{self, Screen};
use crate::render::{self, Format, TextStyle};
use crate::timefmt::Micros;

enum Mode {
    /// One compact JSON document per line.
    Ndjson(Option<BufWriter<File>>),
    /// `-o FILE` rewritten whole on every refresh.
    Rewrite(PathBuf),
    /// Text to a terminal: the screen redrawn.
    Live(History),
    /// Piped: one block per refresh.
    Blocks,
}

/// The refreshes' destination.
pub(crate) struct Output {
    mode: Mode,
    format: Format,
    style: TextStyle,
}

impl Output {
    /// Where `args` send the reports (an `-o` NDJSON file is created now).
    ///
    /// # Errors
    /// The `-o` file cannot be created.
    pub(crate) fn new(args: &ScanArgs, mark: Option<(Micros, Micros)>) -> Result<Self> {
        let mode = match (&args.output, args.format) {
            (Some(path), Format::Json) => Mode::Ndjson(Some(BufWriter::new(
                File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
            ))),
            (None, Format::Json) => Mode::Ndjson(None),
            (Some(path), _) => Mode::Rewrite(path.clone()),
            (None, Format::Text) if std::io::stdout().is_terminal() => {
                Mode::Live(History::default())
            }
            (None, _) => Mode::Blocks,
        };
        Ok(Self {
            mode,
            format: args.format,
            style: text_style(args, mark),
        })
    }

    /// Writes one refresh of the window.
    ///
    /// # Errors
    /// Writing fails (a closed stdout is not an error).
    pub(crate) fn refresh(&mut self, report: &Report) -> Result<()> {
        match &mut self.mode {
            Mode::Ndjson(file) => ndjson(file.as_mut(), report),
            Mode::Rewrite(path) => rewrite(path, report, self.format, self.style),
            Mode::Live(history) => {
                let live = history.update(report, now_micros());
                let (width, height) = terminal_size::terminal_size()
                    .map_or((120, 40), |(w, h)| (usize::from(w.0), usize::from(h.0)));
                let screen = Screen {
                    width,
                    height,
                    color: color_allowed(),
                };
                let view = live::render(report, &live, screen);
                to_stdout(|w| write!(w, "\x1b[H\x1b[2J{view}")).context("cannot write the view")
            }
            Mode::Blocks => {
                let (format, style) = (self.format, self.style);
                to_stdout(|w| {
                    writeln!(w, "{}", block_header(report))?;
                    render::render(report, format, style, w)
                })
                .context("cannot write the report")
            }
        }
    }

    /// Writes the final report of the whole followed period.
    ///
    /// # Errors
    /// Writing fails (a closed stdout is not an error).
    pub(crate) fn finish(&mut self, report: &Report) -> Result<()> {
        match &mut self.mode {
            Mode::Live(_) => {
                let (format, style) = (self.format, self.style);
                to_stdout(|w| {
                    write!(w, "\x1b[H\x1b[2J")?;
                    writeln!(w, "{}", block_header(report))?;
                    render::render(report, format, style, w)
                })
                .context("cannot write the report")
            }
            _ => self.refresh(report),
        }
    }
}

/// `== audit-scan --follow: window 10:00:00Z..10:15:00Z, refresh 3, newest event 2.1 s behind ==`
fn block_header(report: &Report) -> String {
    let Some(f) = &report.summary.follow else {
        return String::new();
    };
    let span = report
        .summary
        .window
        .as_ref()
        .map_or_else(String::new, |w| {
            format!(
                "{}..{}",
                w.since.as_deref().unwrap_or(""),
                w.until.as_deref().unwrap_or("now")
            )
        });
    let lag = f.lag_ms.map_or_else(
        || "no event yet".to_owned(),
        |ms| format!("newest event {:.1} s behind", ms as f64 / 1000.0),
    );
    if f.is_final {
        format!(
            "== audit-scan --follow: final report of the whole followed period {span}, {lag} =="
        )
    } else {
        format!(
            "== audit-scan --follow: window {span}, refresh {}, {lag} ==",
            f.refresh
        )
    }
}

fn ndjson(file: Option<&mut BufWriter<File>>, report: &Report) -> Result<()> {
    let write = |w: &mut dyn Write| -> std::io::Result<()> {
        serde_json::to_writer(&mut *w, report)?;
        w.write_all(b"\n")?;
        w.flush()
    };
    match file {
        Some(f) => write(f).context("cannot write the report"),
        None => to_stdout(write).context("cannot write the report"),
    }
}

/// Renders into a file beside `path` and renames it over `path`.
fn rewrite(path: &PathBuf, report: &Report, format: Format, style: TextStyle) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = File::create(&tmp).and_then(|f| {
        let mut w = BufWriter::new(f);
        render::render(report, format, style, &mut w)?;
        w.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

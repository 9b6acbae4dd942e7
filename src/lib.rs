//! audit-scan: which Kubernetes client is hurting the API server and etcd, how badly, and what
//! its owner should change — from kube-apiserver audit logs.
//!
//! Data flow: [`source`] (bytes) → [`decode`] (borrowed events) → [`aggregate`] (mergeable
//! tables, folded with rayon in [`pipeline`]) → [`report`] (text, JSON).
#![warn(missing_docs)]

pub mod aggregate;
pub mod cli;
pub mod decode;
pub mod pipeline;
pub mod report;
pub mod source;
pub mod synth;
pub mod timefmt;

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result, bail};

use cli::{Cli, Command, ScanArgs};
use report::{Format, TextStyle};

/// Exit code: the run worked.
pub const EXIT_OK: u8 = 0;
/// Exit code: usage, input or I/O error, or a skipped line under `--strict`.
pub const EXIT_ERROR: u8 = 2;

/// A failure with its exit code; its message is printed as `audit-scan: error: …`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// What went wrong, and what to do.
    pub message: String,
}

fn fail(message: impl Into<String>) -> anyhow::Error {
    Failure {
        message: message.into(),
    }
    .into()
}

/// Runs the command line; returns the exit code.
///
/// # Errors
/// Errors to print, exit code 2.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Some(Command::Generate(g)) => synth::run(&g).map(|()| EXIT_OK),
        None => scan(&cli.scan),
    }
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn scan(args: &ScanArgs) -> Result<u8> {
    let scope = args.scope(now_micros()).map_err(fail)?;
    let mut warnings = Vec::new();
    let inputs = if args.inputs.is_empty() {
        if args.cluster.is_some() {
            bail!(fail(
                "reading CloudWatch Logs (--cluster) is not available in this build yet; export the log group to files and pass them as INPUT"
            ));
        }
        if std::io::stdin().is_terminal() {
            bail!(fail(
                "no input: pass audit log files, directories or globs, or pipe a log to stdin (see --help)"
            ));
        }
        vec![source::Input::stdin()]
    } else {
        if args.cluster.is_some() {
            bail!(fail(
                "--cluster reads CloudWatch Logs and cannot be mixed with INPUT files"
            ));
        }
        source::expand_inputs(&args.inputs, &mut warnings).map_err(|e| fail(e.to_string()))?
    };
    if args.strict && !warnings.is_empty() {
        bail!(fail(format!("{} (--strict)", warnings[0])));
    }
    let opts = pipeline::Options {
        threads: args.threads,
        strict: args.strict,
        progress: !args.no_progress,
        ..pipeline::Options::default()
    };
    let out = pipeline::run(&inputs, &scope, &opts)?;
    let report = report::build::build(&report::build::Inputs {
        aggregates: &out.aggregates,
        inputs: &out.inputs,
        window: scope.window,
        warnings,
    });
    if args.strict {
        if let Some(e) = report.summary.skipped.examples.first() {
            bail!(fail(format!(
                "{}:{}: {} (--strict)",
                e.input, e.line, e.message
            )));
        }
        if let Some(w) = report.summary.warnings.first() {
            bail!(fail(format!("{w} (--strict)")));
        }
    }
    write_report(&report, args)?;
    for w in &report.summary.warnings {
        eprintln!("audit-scan: warning: {}", report::table::sanitize(w));
    }
    if report.summary.skipped.total > 0 {
        eprintln!(
            "audit-scan: skipped {} malformed line(s); the first: {}; use --strict to stop at the first",
            report.summary.skipped.total,
            report
                .summary
                .skipped
                .examples
                .first()
                .map_or_else(String::new, |e| format!(
                    "{}:{}: {}",
                    e.input, e.line, e.message
                )),
        );
    }
    if report.summary.requests == 0 && scope.window.is_set() {
        eprintln!(
            "audit-scan: no request fell inside the window (--since counts back from now: {})",
            timefmt::format_rfc3339(now_micros())
        );
    }
    Ok(EXIT_OK)
}

fn write_report(report: &report::Report, args: &ScanArgs) -> Result<()> {
    let to_tty = args.output.is_none() && std::io::stdout().is_terminal();
    let width = if to_tty {
        terminal_size::terminal_size().map_or(120, |(w, _)| usize::from(w.0))
    } else {
        160
    };
    let style = TextStyle {
        width,
        top: args.top,
        color: to_tty
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && args.format == Format::Text,
    };
    let result = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            report::render(report, args.format, style, &mut w).and_then(|()| w.flush())
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            report::render(report, args.format, style, &mut w).and_then(|()| w.flush())
        }
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("cannot write the report"),
    }
}

//! `audit-scan [INPUT]...`: the scan, from plan to printed report.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result, bail};

use super::plan::{self, Plan, now_micros};
use super::scan_insights::{self, Outcome};
use crate::cli::scan::{Decoder, ScanArgs};
use crate::decode::event::DecodePath;
use crate::error::{EXIT_FINDINGS, EXIT_OK, fail};
use crate::model::report::Report;
use crate::render::{Format, TextStyle};
use crate::{aggregate, build, config_file, export, pipeline, render, rules, source, timefmt};

/// Runs the scan: plan, read (either engine), run the rules, write the report and exports.
///
/// # Errors
/// Errors to print, exit code 2.
pub fn run(args: &ScanArgs) -> Result<u8> {
    #[cfg(not(feature = "polars"))]
    if args.export.is_some() {
        bail!(fail(
            "--export needs the `polars` feature, which this build left out (cargo build --features polars)"
        ));
    }
    // One "now" for the window and the marked span, both relative to the run's start.
    let now = now_micros();
    let mut scope = args.scope(now).map_err(fail)?;
    // Checked before reading anything, not after a long scan.
    let mark = args.mark(now).map_err(fail)?;
    let (config, config_place) = load_config(args)?;
    let mut found = source::inputs::Expansion::default();
    if args.follow.follow {
        return super::follow::run(args, scope, mark, &config, config_place.as_ref());
    }
    let plan = plan::plan(args, &mut scope, &mut found)?;
    if args.strict && !found.warnings.is_empty() {
        bail!(fail(format!("{} (--strict)", found.warnings[0])));
    }
    let mut report = match scan_insights::insights_scan(args, &plan, &scope)? {
        Outcome::DryRun => return Ok(EXIT_OK),
        Outcome::Report(r) => *r,
        Outcome::Download => native_report(args, &plan, &scope, found.warnings)?,
    };
    report.summary.skipped_files = found
        .not_logs
        .iter()
        .map(|f| crate::model::report::SkippedFile {
            name: f.name.clone(),
            reason: f.reason.clone(),
        })
        .collect();
    note_config(&mut report, &config, config_place.as_ref());
    judge(&mut report, &config, args, &scope, now)?;
    write_report(&report, args, mark)?;
    if let Some(dir) = &args.export {
        let files = export::export(&report, dir, args.export_format, args.export_raw)
            .map_err(|e| fail(e.to_string()))?;
        eprintln!(
            "audit-scan: exported {} tables to {}",
            files.len(),
            render::table::sanitize(&dir.display().to_string())
        );
    }
    if let Some(note) = source::sniff::note(&found.not_logs) {
        eprintln!(
            "audit-scan: note: {}",
            render::sanitize::terminal(&note, render::sanitize::Cap::Prose)
        );
    }
    print_warnings(&report);
    Ok(exit_code(&report, args))
}

/// The rules' config: `--config`, `$AUDIT_SCAN_CONFIG` or one found (none with `--no-config`),
/// narrowed to the hidden `--rules`.
fn load_config(args: &ScanArgs) -> Result<(rules::Config, Option<config_file::Place>)> {
    let (mut config, config_place) = if args.no_config {
        (rules::Config::default(), None)
    } else {
        config_file::load(&config_file::Search::from_process(args.config.as_deref()))
            .map_err(fail)?
    };
    config.select(&args.rules).map_err(fail)?;
    Ok((config, config_place))
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Names the config file read in the report (and on stderr), with its expired suppressions.
pub(crate) fn note_config(
    report: &mut Report,
    config: &rules::Config,
    place: Option<&config_file::Place>,
) {
    if let Some(place) = place {
        let (row, expired) = config_file::summary(config, place, &today());
        eprintln!(
            "audit-scan: {}",
            render::sanitize::terminal(&row.line(), render::sanitize::Cap::Prose)
        );
        report.summary.warnings.extend(expired);
        report.summary.config = Some(row);
    }
}

/// Runs the rules over a built report and ranks the findings; adds the warnings of an empty
/// window or selection; under `--strict`, a skipped line or a warning is the error.
pub(crate) fn judge(
    report: &mut Report,
    config: &rules::Config,
    args: &ScanArgs,
    scope: &aggregate::Scope,
    now: timefmt::Micros,
) -> Result<()> {
    rank_findings(report, config, args);
    if report.summary.requests == 0 && scope.window.is_set() && report.summary.outside_window > 0 {
        report
            .summary
            .warnings
            .push(empty_window(&report.summary, args, now));
    }
    if report.summary.requests == 0 && report.summary.filtered_out > 0 {
        report.summary.warnings.push(format!(
            "the filters matched no request ({}): {} request(s) were left out",
            scope.filters.describe(),
            report.summary.filtered_out
        ));
    }
    if args.strict {
        if let Some(e) = report.summary.skipped.examples.first() {
            bail!(fail(format!(
                "{}:{}: {} (--strict)",
                render::table::sanitize(&e.input),
                e.line,
                render::sanitize::terminal(&e.message, render::sanitize::Cap::Prose)
            )));
        }
        if let Some(w) = report.summary.warnings.first() {
            bail!(fail(format!("{w} (--strict)")));
        }
    }
    Ok(())
}

/// Runs the rules over a built report, keeps the findings at or above `--min-severity` and
/// ranks them.
pub(crate) fn rank_findings(report: &mut Report, config: &rules::Config, args: &ScanArgs) {
    let (findings, suppressed) = rules::run(report, config, &today());
    report.findings = findings
        .into_iter()
        .filter(|f| f.severity >= args.min_severity)
        .collect();
    rules::rank(&mut report.findings);
    report.suppressed = suppressed;
}

/// The report's warnings and skipped lines, on stderr.
pub(crate) fn print_warnings(report: &Report) {
    for w in &report.summary.warnings {
        eprintln!(
            "audit-scan: warning: {}",
            render::sanitize::terminal(w, render::sanitize::Cap::Prose)
        );
    }
    if report.summary.skipped.total > 0 {
        eprintln!(
            "audit-scan: skipped {} malformed line(s) or EventList item(s); the first: {}; use --strict to stop at the first",
            report.summary.skipped.total,
            report
                .summary
                .skipped
                .examples
                .first()
                .map_or_else(String::new, |e| {
                    render::sanitize::terminal(
                        &format!("{}:{}: {}", e.input, e.line, e.message),
                        render::sanitize::Cap::Prose,
                    )
                }),
        );
    }
}

/// 1 when a finding is at or above `--fail-on`, else 0.
pub(crate) fn exit_code(report: &Report, args: &ScanArgs) -> u8 {
    let failing = args
        .fail_on
        .is_some_and(|level| report.findings.iter().any(|f| f.severity >= level));
    if failing { EXIT_FINDINGS } else { EXIT_OK }
}

/// The warning for a window that kept no request: what was asked, what lay outside it, and
/// that relative times count back from now (the usual surprise with an old log).
fn empty_window(
    s: &crate::model::report::Summary,
    args: &ScanArgs,
    now: timefmt::Micros,
) -> String {
    let asked: Vec<String> = [("--since", &args.since), ("--until", &args.until)]
        .into_iter()
        .filter_map(|(flag, v)| v.as_deref().map(|v| format!("{flag} {v}")))
        .collect();
    format!(
        "no request fell inside the window ({}): {} request(s) lay outside it; relative times count back from now ({})",
        asked.join(" "),
        s.outside_window,
        timefmt::format_rfc3339(now)
    )
}

/// The native engine: every event read and aggregated here.
fn native_report(
    args: &ScanArgs,
    plan: &Plan,
    scope: &aggregate::Scope,
    warnings: Vec<String>,
) -> Result<Report> {
    let opts = pipeline::Options {
        threads: args.threads,
        strict: args.strict,
        progress: !args.no_progress,
        chunk_size: args
            .chunk_size
            .map_or(source::chunk::CHUNK_SIZE, |b| b as usize),
        decoder: match args.decoder {
            Decoder::Fast => DecodePath::Skim,
            Decoder::SimdJson => DecodePath::SimdJson,
        },
    };
    let out = match plan {
        Plan::Files(inputs) => pipeline::run(inputs, scope, &opts)?,
        #[cfg(feature = "cloudwatch")]
        Plan::CloudWatch(spec) => {
            pipeline::run_source(pipeline::Source::CloudWatch(spec), scope, &opts)?
        }
    };
    #[cfg(feature = "cloudwatch")]
    let cloudwatch = out
        .cloudwatch
        .as_ref()
        .and_then(|c| serde_json::to_value(c).ok());
    #[cfg(not(feature = "cloudwatch"))]
    let cloudwatch = None;
    Ok(build::native::build(&build::native::Inputs {
        aggregates: &out.aggregates,
        inputs: &out.inputs,
        window: scope.window,
        filters: &scope.filters,
        warnings,
        cloudwatch,
    }))
}

/// How text is drawn: the terminal's width and colour (unless `NO_COLOR`) when the report goes
/// to a terminal, 160 plain columns otherwise.
pub(crate) fn text_style(
    args: &ScanArgs,
    mark: Option<(timefmt::Micros, timefmt::Micros)>,
) -> TextStyle {
    let to_tty = args.output.is_none() && std::io::stdout().is_terminal();
    let width = if to_tty {
        terminal_size::terminal_size().map_or(120, |(w, _)| usize::from(w.0))
    } else {
        160
    };
    TextStyle {
        width,
        top: args.top,
        color: to_tty && color_allowed() && args.format == Format::Text,
        mark,
        fail_on: args.fail_on,
    }
}

/// Whether `NO_COLOR` (set and not empty) leaves colour allowed.
pub(crate) fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn write_report(
    report: &Report,
    args: &ScanArgs,
    mark: Option<(timefmt::Micros, timefmt::Micros)>,
) -> Result<()> {
    let style = text_style(args, mark);
    let result = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            render::render(report, args.format, style, &mut w).and_then(|()| w.flush())
        }
        None => super::to_stdout(|w| render::render(report, args.format, style, w)),
    };
    result.context("cannot write the report")
}

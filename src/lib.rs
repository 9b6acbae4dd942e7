//! audit-scan: which Kubernetes client is hurting the API server and etcd, how badly, and what
//! its owner should change — from kube-apiserver audit logs.
//!
//! Data flow: [`source`] (bytes) → [`decode`] (borrowed events) → [`aggregate`] (mergeable
//! tables, folded with rayon in [`pipeline`]) → [`report`] (text, JSON).
#![warn(missing_docs)]

pub mod aggregate;
pub mod cli;
pub mod completions;
pub mod decode;
pub mod diff;
pub mod export;
pub mod fuzzing;
pub mod insights;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod source;
pub mod synth;
pub mod timefmt;

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result, bail};

use cli::{Cli, Command, ScanArgs};
use report::{Format, TextStyle};

/// Exit code: the run worked.
pub const EXIT_OK: u8 = 0;
/// Exit code: a finding at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage, input or I/O error, or under `--strict` any skipped line, unreadable input
/// or warning (wins over 1).
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
        Some(Command::Rules { id }) => print_rules(id.as_deref()),
        Some(Command::Diff(d)) => run_diff(&d),
        Some(Command::Queries(q)) => insights::command::run(&q),
        Some(Command::Completions { shell }) => {
            print_generated(|w| completions::completions(shell, "audit-scan", w))
        }
        Some(Command::Man) => print_generated(completions::man),
        None => scan(&cli.scan),
    }
}

/// Writes generated text (completions, the man page) to stdout; a closed pipe is fine.
fn print_generated(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<u8> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(EXIT_OK),
    }
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Whether stdin carries data: a pipe, a file or a socket — not a terminal, not `/dev/null`.
fn stdin_has_data() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd).metadata().is_ok_and(|m| {
        let t = m.file_type();
        t.is_fifo() || t.is_file() || t.is_socket()
    })
}

enum Plan {
    Files(Vec<source::Input>),
    #[cfg(feature = "cloudwatch")]
    CloudWatch(source::cloudwatch::Spec),
}

fn plan(
    args: &ScanArgs,
    scope: &mut aggregate::Scope,
    found: &mut source::inputs::Expansion,
) -> Result<Plan> {
    if !args.inputs.is_empty() {
        if args.cloudwatch.requested() {
            bail!(fail(
                "--cluster/--log-group read CloudWatch Logs and cannot be mixed with INPUT files; run them separately"
            ));
        }
        return Ok(Plan::Files(
            source::expand_inputs(&args.inputs, found).map_err(|e| fail(e.to_string()))?,
        ));
    }
    if !args.cloudwatch.requested() && stdin_has_data() {
        return Ok(Plan::Files(vec![source::Input::stdin()]));
    }
    cloudwatch_plan(args, scope)
}

#[cfg(not(feature = "cloudwatch"))]
fn cloudwatch_plan(_args: &ScanArgs, _scope: &mut aggregate::Scope) -> Result<Plan> {
    bail!(fail(
        "no input: pass audit log files, directories or globs, or pipe a log to stdin (this build has no CloudWatch support)"
    ))
}

/// Where CloudWatch is read: the log group (from --log-group, --cluster or the kubeconfig's
/// EKS context), region and profile.
#[cfg(feature = "cloudwatch")]
pub(crate) struct CloudTarget {
    pub(crate) log_group: String,
    pub(crate) region: Option<String>,
    pub(crate) profile: Option<String>,
}

/// Resolves where CloudWatch is read (shared by the download and `queries run`).
#[cfg(feature = "cloudwatch")]
pub(crate) fn cloudwatch_target(cw: &cli::Target) -> Result<CloudTarget> {
    let (mut region, mut profile) = (cw.region.clone(), cw.profile.clone());
    let log_group = if let Some(g) = &cw.log_group {
        g.clone()
    } else if let Some(c) = &cw.cluster {
        format!("/aws/eks/{c}/cluster")
    } else {
        let ctx = source::kubeconfig::default_path()
            .ok_or_else(|| "no kubeconfig found".to_owned())
            .and_then(|p| source::kubeconfig::resolve_file(&p))
            .map_err(|e| {
                fail(format!(
                    "no input: {e}. Pass audit log files, pipe a log to stdin, or name the EKS cluster with --cluster NAME (and --region)"
                ))
            })?;
        region = region.or(ctx.region.clone());
        profile = profile
            .or(ctx.profile.clone())
            .or_else(|| std::env::var("AWS_PROFILE").ok());
        eprintln!(
            "audit-scan: reading EKS cluster '{}' from kubeconfig context '{}' (region {}, profile {})",
            ctx.cluster,
            ctx.context,
            region.as_deref().unwrap_or("from the AWS config"),
            profile.as_deref().unwrap_or("default"),
        );
        format!("/aws/eks/{}/cluster", ctx.cluster)
    };
    Ok(CloudTarget {
        log_group,
        region,
        profile,
    })
}

#[cfg(feature = "cloudwatch")]
fn cloudwatch_plan(args: &ScanArgs, scope: &mut aggregate::Scope) -> Result<Plan> {
    let cw = &args.cloudwatch;
    let CloudTarget {
        log_group,
        region,
        profile,
    } = cloudwatch_target(&cw.target)?;
    let now = now_micros();
    if scope.window.since.is_none() {
        scope.window.since = Some(now - 3_600_000_000);
        eprintln!("audit-scan: no --since given: reading the last hour");
    }
    let since = scope.window.since.unwrap_or(now);
    let margin = timefmt::parse_duration(&cw.fetch_margin)
        .map_err(|e| fail(format!("--fetch-margin: {e}")))?;
    let slice = timefmt::parse_duration(&cw.slice).map_err(|e| fail(format!("--slice: {e}")))?;
    let end = scope.window.until.map_or(now, |u| (u + margin).min(now));
    Ok(Plan::CloudWatch(source::cloudwatch::Spec {
        log_group,
        stream_prefix: cw.stream_prefix.clone(),
        region,
        profile,
        endpoint_url: cw.target.endpoint_url.clone(),
        // A minute early: the apiserver's clock and CloudWatch's may disagree a little.
        start_ms: (since - 60_000_000).div_euclid(1000),
        end_ms: end.div_euclid(1000) + 1,
        concurrency: cw.concurrency.max(1),
        rate: cw.rate,
        max_slice_ms: (slice / 1000).max(1000),
        page_limit: cw.page_limit,
        max_attempts: cw.max_attempts.max(1),
        save: cw.save.clone(),
    }))
}

fn scan(args: &ScanArgs) -> Result<u8> {
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
    let config = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| fail(format!("cannot read --config {}: {e}", p.display())))?;
            rules::Config::parse(&text).map_err(|e| fail(format!("{}: {e}", p.display())))?
        }
        None => rules::Config::default(),
    };
    let mut found = source::inputs::Expansion::default();
    let plan = plan(args, &mut scope, &mut found)?;
    if args.strict && !found.warnings.is_empty() {
        bail!(fail(format!("{} (--strict)", found.warnings[0])));
    }
    let mut report = match insights_scan(args, &plan, &scope)? {
        InsightsOutcome::DryRun => return Ok(EXIT_OK),
        InsightsOutcome::Report(r) => *r,
        InsightsOutcome::Download => native_report(args, &plan, &scope, found.warnings)?,
    };
    report.summary.skipped_files = found
        .not_logs
        .iter()
        .map(|f| report::model::SkippedFile {
            name: f.name.clone(),
            reason: f.reason.clone(),
        })
        .collect();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (findings, suppressed) = rules::run(&report, &config, &today);
    report.findings = findings
        .into_iter()
        .filter(|f| f.severity >= args.min_severity)
        .collect();
    for (i, f) in report.findings.iter_mut().enumerate() {
        f.rank = i + 1;
    }
    report.suppressed = suppressed;
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
                report::table::sanitize(&e.input),
                e.line,
                report::sanitize::terminal(&e.message, report::sanitize::Cap::Prose)
            )));
        }
        if let Some(w) = report.summary.warnings.first() {
            bail!(fail(format!("{w} (--strict)")));
        }
    }
    write_report(&report, args, mark)?;
    if let Some(dir) = &args.export {
        let files = export::export(&report, dir, args.export_format, args.export_raw)
            .map_err(|e| fail(e.to_string()))?;
        eprintln!(
            "audit-scan: exported {} tables to {}",
            files.len(),
            report::table::sanitize(&dir.display().to_string())
        );
    }
    if let Some(note) = source::sniff::note(&found.not_logs) {
        eprintln!(
            "audit-scan: note: {}",
            report::sanitize::terminal(&note, report::sanitize::Cap::Prose)
        );
    }
    for w in &report.summary.warnings {
        eprintln!(
            "audit-scan: warning: {}",
            report::sanitize::terminal(w, report::sanitize::Cap::Prose)
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
                    report::sanitize::terminal(
                        &format!("{}:{}: {}", e.input, e.line, e.message),
                        report::sanitize::Cap::Prose,
                    )
                }),
        );
    }
    let failing = args
        .fail_on
        .is_some_and(|level| report.findings.iter().any(|f| f.severity >= level));
    Ok(if failing { EXIT_FINDINGS } else { EXIT_OK })
}

/// The warning for a window that kept no request: what was asked, what lay outside it, and
/// that relative times count back from now (the usual surprise with an old log).
fn empty_window(s: &report::model::Summary, args: &ScanArgs, now: timefmt::Micros) -> String {
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
) -> Result<report::Report> {
    let opts = pipeline::Options {
        threads: args.threads,
        strict: args.strict,
        progress: !args.no_progress,
        chunk_size: args
            .chunk_size
            .map_or(source::chunk::CHUNK_SIZE, |b| b as usize),
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
    Ok(report::build::build(&report::build::Inputs {
        aggregates: &out.aggregates,
        inputs: &out.inputs,
        window: scope.window,
        filters: &scope.filters,
        warnings,
        cloudwatch,
    }))
}

// --- `--engine insights|auto` and `--dry-run` (issue #4): see src/insights/scan.rs. ---

#[cfg_attr(not(feature = "cloudwatch"), allow(dead_code))]
enum InsightsOutcome {
    /// `--dry-run` printed the plan.
    DryRun,
    /// The insights engine built the report.
    Report(Box<report::Report>),
    /// The native engine should run.
    Download,
}

#[cfg_attr(not(feature = "cloudwatch"), allow(unused_variables))]
fn insights_scan(
    args: &ScanArgs,
    plan: &Plan,
    scope: &aggregate::Scope,
) -> Result<InsightsOutcome> {
    use insights::scan::Engine;
    let e = &args.engine;
    match plan {
        Plan::Files(_) if e.engine != Engine::Download || e.dry_run => bail!(fail(
            "--engine insights|auto and --dry-run query CloudWatch Logs: pass --cluster or --log-group instead of INPUT files"
        )),
        Plan::Files(_) => Ok(InsightsOutcome::Download),
        #[cfg(feature = "cloudwatch")]
        Plan::CloudWatch(spec) => insights_cloud(args, spec, scope),
    }
}

#[cfg(feature = "cloudwatch")]
fn insights_cloud(
    args: &ScanArgs,
    spec: &source::cloudwatch::Spec,
    scope: &aggregate::Scope,
) -> Result<InsightsOutcome> {
    use insights::scan::{self as iscan, Engine};
    let e = &args.engine;
    if e.engine == Engine::Download && !e.dry_run {
        return Ok(InsightsOutcome::Download);
    }
    if e.engine == Engine::Insights && spec.save.is_some() {
        bail!(fail(
            "--save keeps the downloaded events, and --engine insights downloads none: drop --save or use --engine download"
        ));
    }
    if e.engine != Engine::Download && !scope.filters.is_empty() {
        bail!(fail(
            "--engine insights|auto does not apply --user/--user-agent/--client/--namespace/--resource/--verb/--code; drop them or use --engine download"
        ));
    }
    let slice = timefmt::parse_duration(&e.insights_slice)
        .map_err(|err| fail(format!("--insights-slice: {err}")))?;
    let limits = insights::engine::Limits {
        concurrency: e.insights_concurrency.max(1),
        row_limit: e.insights_row_limit.max(1),
        min_window_ms: 1000,
    };
    let runner = insights::engine::CloudRunner {
        spec: insights::cloud::Spec {
            log_group: spec.log_group.clone(),
            region: spec.region.clone(),
            profile: spec.profile.clone(),
            endpoint_url: spec.endpoint_url.clone(),
            max_attempts: spec.max_attempts,
            timeout: std::time::Duration::from_secs(3600),
        },
        stream_prefix: Some(spec.stream_prefix.clone()),
    };
    // The insights engine reads exactly the window: sub-windows split on CloudWatch time.
    let now = now_micros();
    let start_ms = scope
        .window
        .since
        .unwrap_or(now - 3_600_000_000)
        .div_euclid(1000);
    let end_ms = scope.window.until.unwrap_or(now).min(now).div_euclid(1000);
    let slice_ms = (slice / 1000).max(1000);
    // One log-volume query with bin(1h) over the whole window sizes it (auto, --dry-run) and
    // plans the sub-windows (insights); its answers feed the report's summary.
    let profiled = (e.engine != Engine::Download || e.dry_run)
        .then(|| iscan::profile(&runner, start_ms, end_ms, &limits))
        .transpose();
    let (estimate, profile) = match profiled {
        Ok(Some(p)) => (Ok(Some(iscan::Estimate::of(&p.volume))), Some(p)),
        Ok(None) => (Ok(None), None),
        // The insights engine cannot plan without it: the same one line as any failed query.
        Err(why) if e.engine == Engine::Insights && !e.dry_run => bail!(fail(why)),
        Err(why) => (Err(why), None),
    };
    if insights::interrupt::requested() {
        // Ctrl-C during the estimate ends the run, whatever the estimate came to.
        anyhow::bail!("{}", estimate.err().as_deref().unwrap_or("interrupted"));
    }
    let engine = match (e.engine, &estimate) {
        (Engine::Auto, Ok(Some(est))) => {
            let (engine, why) = iscan::choose(est, spec.rate);
            eprintln!("audit-scan: --engine auto: {why}");
            engine
        }
        (Engine::Auto, Err(why)) => {
            eprintln!("audit-scan: --engine auto: {why}; downloading");
            Engine::Download
        }
        (engine, _) => engine,
    };
    if engine == Engine::Download {
        // Ctrl-C during the download ends the process, as it always did.
        insights::interrupt::release();
    }
    if e.dry_run {
        let est = match &estimate {
            Ok(Some(est)) => Ok(est),
            Ok(None) => Err("not estimated"),
            Err(why) => Err(why.as_str()),
        };
        let text = if engine == Engine::Download {
            let est_line = est.map_or_else(
                |why| format!("estimate: unavailable: {why}\n"),
                |e| {
                    format!(
                        "estimate: about {:.0} events, {:.2} GB: about {:.0} s of FilterLogEvents at {} calls/s\n",
                        e.records,
                        e.bytes / 1e9,
                        e.download_seconds(spec.rate),
                        spec.rate
                    )
                },
            );
            format!(
                "download plan for {}: FilterLogEvents {} .. {}, {} slices in flight\n{est_line}",
                spec.log_group,
                timefmt::format_rfc3339(spec.start_ms * 1000),
                timefmt::format_rfc3339(spec.end_ms * 1000),
                spec.concurrency
            )
        } else {
            iscan::plan_text(&spec.log_group, start_ms, end_ms, slice_ms, &limits, est)
        };
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(InsightsOutcome::DryRun);
    }
    if engine == Engine::Download {
        return Ok(InsightsOutcome::Download);
    }
    eprintln!(
        "audit-scan: Logs Insights on {}: {} templates, at least {} queries (each template's first hour probes its rows; the rest is cut from that), at most {} in flight",
        spec.log_group,
        insights::report::TEMPLATES.len(),
        iscan::fewest_queries(start_ms, end_ms, slice_ms),
        limits.concurrency
    );
    let report = iscan::run_report(
        &runner,
        &spec.log_group,
        scope.window,
        start_ms,
        end_ms,
        slice_ms,
        &limits,
        profile,
    )
    .map_err(fail)?;
    if let Some(i) = &report.summary.insights {
        match i["bytes_scanned"].as_f64() {
            Some(b) => eprintln!(
                "audit-scan: {} Logs Insights queries scanned {:.1} MB: that is what they bill",
                i["queries"],
                b / 1e6
            ),
            None => eprintln!(
                "audit-scan: {} Logs Insights queries ran; the service sent no statistics (an emulator?): bytes scanned unknown",
                i["queries"]
            ),
        }
    }
    Ok(InsightsOutcome::Report(Box::new(report)))
}

fn run_diff(args: &cli::DiffArgs) -> Result<u8> {
    let only = aggregate::filter::Patterns::new("--client", &args.client).map_err(fail)?;
    if args.threshold.is_nan() || args.threshold < 0.0 {
        bail!(fail("--threshold must be a percentage of 0 or more"));
    }
    // A rise between --fail-on-regression and a higher --threshold must still be seen.
    let threshold = args
        .fail_on_regression
        .map_or(args.threshold, |p| p.min(args.threshold));
    let d = diff::compare(&args.base, &args.current, threshold, only.as_ref())
        .map_err(|e| fail(format!("{e:#}")))?;
    let text = match args.format {
        cli::DiffFormat::Text => diff::render_text(&d),
        cli::DiffFormat::Json => serde_json::to_string_pretty(&d)? + "\n",
    };
    match std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(match args.fail_on_regression {
        Some(pct) if d.fails(pct) => EXIT_FINDINGS,
        _ => EXIT_OK,
    })
}

fn print_rules(id: Option<&str>) -> Result<u8> {
    use std::fmt::Write as _;
    let mut out = String::new();
    match id {
        None => {
            let _ = writeln!(
                out,
                "{:<6} {:<26} {:<68} THRESHOLDS",
                "CODE", "SLUG", "TITLE"
            );
            for r in rules::RULES {
                let th: Vec<String> = r
                    .thresholds()
                    .iter()
                    .map(|t| format!("{}={}", t.name, t.default))
                    .collect();
                let _ = writeln!(
                    out,
                    "{:<6} {:<26} {:<68} {}",
                    r.code(),
                    r.slug(),
                    r.title(),
                    th.join(" ")
                );
            }
        }
        Some(id) => {
            let r = rules::find(id).ok_or_else(|| {
                let codes: Vec<&str> = rules::RULES.iter().map(|r| r.code()).collect();
                fail(format!(
                    "unknown rule '{id}'; the rules are {}",
                    codes.join(", ")
                ))
            })?;
            let _ = writeln!(
                out,
                "{} {}: {}
",
                r.code(),
                r.slug(),
                r.title()
            );
            out.push_str(&rules::documentation(r));
            let _ = writeln!(
                out,
                "

# Thresholds (override in --config under [rules.{}])",
                r.code()
            );
            for t in r.thresholds() {
                let _ = writeln!(out, "- {} = {}: {}", t.name, t.default, t.source);
            }
        }
    }
    match std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(EXIT_OK),
    }
}

fn write_report(
    report: &report::Report,
    args: &ScanArgs,
    mark: Option<(timefmt::Micros, timefmt::Micros)>,
) -> Result<()> {
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
        mark,
        fail_on: args.fail_on,
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

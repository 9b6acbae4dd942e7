//! `--engine insights|auto` and `--dry-run` on the scan (see src/insights/scan.rs): estimate,
//! choose the engine, print the plan or build the report with Logs Insights.

use anyhow::{Result, bail};

use super::plan::Plan;
#[cfg(feature = "cloudwatch")]
use super::plan::now_micros;
use crate::cli::scan::ScanArgs;
use crate::error::fail;
use crate::model::report::Report;
#[cfg(feature = "cloudwatch")]
use crate::source;
#[cfg(feature = "cloudwatch")]
use crate::timefmt;
use crate::{aggregate, insights};

#[cfg_attr(not(feature = "cloudwatch"), allow(dead_code))]
/// What `--engine` and `--dry-run` made of the scan.
pub(crate) enum Outcome {
    /// `--dry-run` printed the plan.
    DryRun,
    /// The insights engine built the report.
    Report(Box<Report>),
    /// The native engine should run.
    Download,
}

#[cfg_attr(not(feature = "cloudwatch"), allow(unused_variables))]
pub(crate) fn insights_scan(
    args: &ScanArgs,
    plan: &Plan,
    scope: &aggregate::Scope,
) -> Result<Outcome> {
    use insights::scan::Engine;
    let e = &args.engine;
    match plan {
        Plan::Files(_) if e.engine != Engine::Download || e.dry_run => bail!(fail(
            "--engine insights|auto and --dry-run query CloudWatch Logs: pass --cluster or --log-group instead of INPUT files"
        )),
        Plan::Files(_) => Ok(Outcome::Download),
        #[cfg(feature = "cloudwatch")]
        Plan::CloudWatch(spec) => insights_cloud(args, spec, scope),
    }
}

#[cfg(feature = "cloudwatch")]
fn insights_cloud(
    args: &ScanArgs,
    spec: &source::cloudwatch::Spec,
    scope: &aggregate::Scope,
) -> Result<Outcome> {
    use insights::scan::{self as iscan, Engine};
    let e = &args.engine;
    if e.engine == Engine::Download && !e.dry_run {
        return Ok(Outcome::Download);
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
        field_indexes: e.use_field_indexes,
    };
    let runner = insights::engine::CloudRunner {
        spec: insights::cloud::Spec {
            log_group: spec.log_group.clone(),
            region: spec.region.clone(),
            profile: spec.profile.clone(),
            endpoint_url: spec.endpoint_url.clone(),
            max_attempts: spec.max_attempts,
            timeout: std::time::Duration::from_hours(1),
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
    if limits.field_indexes && (e.engine != Engine::Download || e.dry_run) {
        let queries = crate::build::insights::queries(limits.row_limit, true).map_err(fail)?;
        insights::cloud::check_field_indexes(
            &runner.spec,
            queries.iter().map(String::as_str),
            start_ms,
        )
        .map_err(fail)?;
    }
    let slice_ms = (slice / 1000).max(1000);
    // One log-volume query with bin(1h) over the whole window sizes it (auto, --dry-run) and
    // plans the sub-windows (insights); its answers feed the report's summary.
    let profiled = (e.engine != Engine::Download || e.dry_run)
        .then(|| iscan::profile(&runner, start_ms, end_ms, &limits))
        .transpose()
        .map_err(|e| e.to_string());
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
        super::to_stdout(|w| w.write_all(text.as_bytes()))?;
        return Ok(Outcome::DryRun);
    }
    if engine == Engine::Download {
        return Ok(Outcome::Download);
    }
    eprintln!(
        "audit-scan: Logs Insights on {}: {} templates, at least {} queries (each template's first hour probes its rows; the rest is cut from that), at most {} in flight",
        spec.log_group,
        crate::build::insights::TEMPLATES.len(),
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
    .map_err(|e| fail(e.to_string()))?;
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
    Ok(Outcome::Report(Box::new(report)))
}

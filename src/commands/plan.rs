//! The scan's plan: which inputs (files, stdin) or which CloudWatch log group, window and
//! download limits, resolved from the arguments before anything is read.

use anyhow::{Result, bail};

#[cfg(feature = "cloudwatch")]
use crate::aws::target::CloudTarget;
use crate::cli::scan::ScanArgs;
#[cfg(feature = "cloudwatch")]
use crate::cli::scan::Target;
use crate::error::fail;
#[cfg(feature = "cloudwatch")]
use crate::timefmt;
use crate::{aggregate, source};

pub(crate) fn now_micros() -> i64 {
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

/// What the scan reads.
pub(crate) enum Plan {
    /// Files, directories, globs or stdin.
    Files(Vec<source::Input>),
    #[cfg(feature = "cloudwatch")]
    /// A CloudWatch Logs download.
    CloudWatch(source::cloudwatch::Spec),
}

pub(crate) fn plan(
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

/// Resolves where CloudWatch is read (shared by the download and `queries run`).
#[cfg(feature = "cloudwatch")]
pub(crate) fn cloudwatch_target(cw: &Target) -> Result<CloudTarget> {
    let target = crate::aws::target::resolve(
        cw.log_group.as_deref(),
        cw.cluster.as_deref(),
        cw.region.clone(),
        cw.profile.clone(),
    )
    .map_err(fail)?;
    if let Some(line) = &target.chosen {
        eprintln!("audit-scan: {line}");
    }
    Ok(target)
}

#[cfg(feature = "cloudwatch")]
pub(crate) fn cloudwatch_plan(args: &ScanArgs, scope: &mut aggregate::Scope) -> Result<Plan> {
    let cw = &args.cloudwatch;
    let CloudTarget {
        log_group,
        region,
        profile,
        ..
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

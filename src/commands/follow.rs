//! `audit-scan --follow [INPUT]`: live incident mode. The batch pipeline, kept running: a
//! [`Feed`] (a growing file or directory, or a CloudWatch log group) hands whole lines to the
//! same decoding worker the scan uses; every event goes into the session's tables (exactly what a batch scan of the same
//! events would build, so the final report equals it) and into its minute of the rolling
//! [`Ring`]. Every `--refresh` the window's minutes are merged, built into a report by the same
//! builder, judged by the same rules and drawn; Ctrl-C ends it with the report of the whole
//! followed period and the batch run's exit codes (a second Ctrl-C exits at once).

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::plan::now_micros;
use super::scan::{exit_code, judge, note_config, print_warnings, rank_findings};
use crate::aggregate::filter::Window;
use crate::aggregate::ring::Ring;
use crate::aggregate::{Aggregates, Scope};
use crate::cli::scan::ScanArgs;
use crate::error::fail;
use crate::insights::interrupt;
use crate::model::report::{FollowRow, InputRow, Report};
use crate::pipeline::Worker;
use crate::source::Chunk;
use crate::source::follow::Lines;
use crate::timefmt::{self, MINUTE_US, Micros, format_rfc3339};
use crate::{build, config_file, rules};

mod feed;
mod history;
mod output;

use feed::Feed;
use output::Output;

/// The loop's settings, from `--window`, `--refresh` and the hidden `--poll-ms`.
pub(crate) struct Pace {
    /// Window length, µs (whole minutes).
    pub window: Micros,
    /// Between refreshes.
    pub refresh: Duration,
    /// Between polls of the files (CloudWatch is polled once per refresh).
    pub poll: Duration,
}

impl Pace {
    fn from_args(args: &ScanArgs) -> Result<Self> {
        let window = timefmt::parse_duration(&args.follow.window)
            .map_err(|e| fail(format!("--window: {e}")))?;
        let refresh = timefmt::parse_duration(&args.follow.refresh)
            .map_err(|e| fail(format!("--refresh: {e}")))?;
        if window < MINUTE_US {
            bail!(fail(format!(
                "--window '{}': the window holds whole minutes; use 1m or more",
                args.follow.window
            )));
        }
        if refresh < 1_000_000 {
            bail!(fail(format!(
                "--refresh '{}': use 1s or more",
                args.follow.refresh
            )));
        }
        Ok(Self {
            // Rounded up to whole minutes: the ring expires minutes, not events.
            window: (window + MINUTE_US - 1) / MINUTE_US * MINUTE_US,
            refresh: Duration::from_micros(refresh as u64),
            poll: Duration::from_millis(args.follow.poll_ms.max(10)),
        })
    }
}

/// What following holds: the session's tables (in the worker), the window's ring, the source.
struct Session {
    worker: Worker,
    ring: Ring,
    feed: Feed,
    scope: Scope,
    strict: bool,
    stop: AtomicBool,
    /// The last poll's failure (CloudWatch), a warning of the documents until a poll succeeds.
    poll_error: Option<String>,
}

/// Decodes chunks of lines into the session's tables and each event's window minute.
fn feeder<'a>(
    worker: &'a mut Worker,
    ring: &'a mut Ring,
    scope: &'a Scope,
    strict: bool,
    stop: &'a AtomicBool,
    now: Micros,
) -> impl FnMut(Lines) + 'a {
    move |lines: Lines| {
        let mut chunk = Chunk {
            origin: lines.origin,
            seq: lines.seq,
            data: lines.data,
            document: false,
            range: None,
        };
        worker.process(&mut chunk, strict, stop, &mut |agg, ev| {
            agg.observe(ev, scope);
            ring.observe(ev, scope, now);
        });
    }
}

impl Session {
    /// Reads what arrived (CloudWatch: when a refresh is `due`, within one refresh); each
    /// event goes to the session and to its window minute. At the `end`, the last lines
    /// without their newline are read too.
    #[allow(
        clippy::print_stderr,
        reason = "a failed poll is not fatal: following goes on, and the user is told"
    )]
    fn poll(&mut self, now: Micros, due: bool, end: bool, budget: Duration) {
        let mut feed = feeder(
            &mut self.worker,
            &mut self.ring,
            &self.scope,
            self.strict,
            &self.stop,
            now,
        );
        match self.feed.poll(due, end, Instant::now() + budget, &mut feed) {
            Ok(()) => self.poll_error = None,
            Err(e) => {
                let e = format!("{e}; following goes on, the next poll takes up from there");
                eprintln!(
                    "audit-scan: warning: {}",
                    crate::render::sanitize::terminal(&e, crate::render::sanitize::Cap::Prose)
                );
                self.poll_error = Some(e);
            }
        }
    }

    /// The inputs' rows, with the requests `agg` counted from each.
    fn input_rows(&self, agg: &Aggregates) -> Vec<InputRow> {
        let mut rows = self.feed.rows();
        crate::pipeline::credit_requests(&mut rows, agg);
        rows
    }

    /// What the follow row says at `now`.
    fn follow_row(&self, pace: &Pace, refresh: u64, now: Micros, is_final: bool) -> FollowRow {
        let newest = self.ring.newest();
        let counts = self.feed.counts();
        FollowRow {
            is_final,
            refresh,
            window_seconds: (pace.window / 1_000_000) as u64,
            refresh_seconds: pace.refresh.as_secs_f64(),
            at: format_rfc3339(now),
            newest_event: newest.map(format_rfc3339),
            lag_ms: newest.map(|t| (now - t).max(0) / 1000),
            rotations: counts.rotations,
            truncations: counts.truncations,
            compressed_skipped: counts.compressed_skipped,
        }
    }

    fn build(&self, agg: &Aggregates, window: Window) -> Report {
        build::native::build(&build::native::Inputs {
            aggregates: agg,
            inputs: &self.input_rows(agg),
            window,
            filters: &self.scope.filters,
            warnings: self.poll_error.iter().cloned().collect(),
            cloudwatch: self.feed.cloudwatch(),
        })
    }
}

/// Follows the one INPUT (or CloudWatch) until Ctrl-C; returns the final report's exit code.
///
/// # Errors
/// Bad flags, an input that cannot be followed, or the report cannot be written.
pub(crate) fn run(
    args: &ScanArgs,
    mut scope: Scope,
    mark: Option<(Micros, Micros)>,
    config: &rules::Config,
    place: Option<&config_file::Place>,
) -> Result<u8> {
    if args.export.is_some() {
        bail!(fail(
            "--export writes tables once; it cannot be used with --follow"
        ));
    }
    let pace = Pace::from_args(args)?;
    let start = now_micros();
    scope.window.since.get_or_insert(start - pace.window);
    let feed = Feed::open(args, &mut scope)?;
    interrupt::install();
    let mut out = Output::new(args, mark)?;
    let mut session = Session {
        worker: Worker::new(crate::decode::event::DecodePath::default()),
        ring: Ring::new(pace.window / MINUTE_US),
        feed,
        scope,
        strict: args.strict,
        stop: AtomicBool::new(false),
        poll_error: None,
    };
    let mut refreshes = 0u64;
    let mut next = Instant::now();
    while !interrupt::requested() {
        let now = now_micros();
        let due = Instant::now() >= next;
        session.poll(now, due, false, pace.refresh);
        if session.stop.load(std::sync::atomic::Ordering::Relaxed) {
            break; // --strict met a bad line: the final report names it
        }
        if due {
            let now = now_micros(); // after a CloudWatch poll, which takes a while
            session.ring.expire(now);
            let agg = session.ring.merged();
            let (since, until) = session.ring.span(now);
            let since = session.scope.window.since.map_or(since, |s| s.max(since));
            let mut report = session.build(
                &agg,
                Window {
                    since: Some(since),
                    until: Some(until),
                },
            );
            report.summary.follow = Some(session.follow_row(&pace, refreshes, now, false));
            rank_findings(&mut report, config, args);
            out.refresh(&report)?;
            refreshes += 1;
            next += pace.refresh;
        }
        sleep_unless_interrupted(pace.poll);
    }
    session.poll(now_micros(), false, true, pace.refresh);
    let now = now_micros();
    let mut report = session.build(&session.worker.agg, session.scope.window);
    report.summary.follow = Some(session.follow_row(&pace, refreshes, now, true));
    note_config(&mut report, config, place);
    let judged = judge(&mut report, config, args, &session.scope, now);
    out.finish(&report)?;
    judged?;
    print_warnings(&report);
    Ok(exit_code(&report, args))
}

/// Sleeps `d`, waking early when Ctrl-C was pressed.
fn sleep_unless_interrupted(d: Duration) {
    let end = Instant::now() + d;
    while !interrupt::requested() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

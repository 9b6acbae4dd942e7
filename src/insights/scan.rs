//! Insights: `--engine insights|auto` and `--dry-run` on the scan — sizes the window with one
//! `log-volume` query (`bin(1h)` over the whole window), picks the engine, prints the plan and cost estimate, runs the
//! report's templates through the [`engine`](super::engine) and builds the report.

use clap::ValueEnum;

use super::engine::{self, Job, Limits, Runner, Sizing};
use super::error::InsightsError;
use super::volume::Volume;
use crate::aggregate::filter::Window;
use crate::build::insights::{self as report, TEMPLATES, follow};

/// How the scan reads CloudWatch Logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Engine {
    /// Download every event (FilterLogEvents) and analyse it here: the full report.
    #[default]
    Download,
    /// Aggregate server-side with Logs Insights: fast on large windows, some sections empty.
    Insights,
    /// Insights when the download would take longer than 10 minutes, else download.
    Auto,
}

/// `--engine auto` picks insights when the download would take longer than this.
pub const AUTO_THRESHOLD_S: f64 = 600.0;
/// Logs Insights price per GB scanned in most regions (us-east-1, eu-west-1), USD.
pub const USD_PER_GB: f64 = 0.005;
/// FilterLogEvents returns at most this much per page…
pub const PAGE_BYTES: f64 = 1_048_576.0;
/// …and at most this many events.
pub const PAGE_EVENTS: f64 = 10_000.0;
pub use super::volume::EVENT_OVERHEAD;
/// Each template first runs over this much of the window (its probe): the answer's rows per
/// record size the rest of the window's sub-windows.
pub const PROBE_MS: i64 = 3_600_000;

/// The window's size, from the volume profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Log events.
    pub records: f64,
    /// Ingested bytes (messages plus CloudWatch's per-event overhead).
    pub bytes: f64,
    /// Bytes of the window's busiest hour (what a re-run probe or sub-window scans again, at
    /// most).
    pub busiest_hour_bytes: f64,
}

impl Estimate {
    /// The estimate of a profiled window.
    #[must_use]
    pub fn of(volume: &Volume) -> Self {
        Self {
            records: volume.records(),
            bytes: volume.bytes(),
            busiest_hour_bytes: volume.busiest_hour_bytes(),
        }
    }

    /// Seconds a download needs: pages (1 MB or 10,000 events each) at `rate` calls per second.
    #[must_use]
    pub fn download_seconds(&self, rate: f64) -> f64 {
        (self.bytes / PAGE_BYTES).max(self.records / PAGE_EVENTS) / rate.max(0.01)
    }

    /// Bytes the insights engine scans when no answer is capped: every template reads the
    /// whole window once (`log-volume`, the profile, included).
    #[must_use]
    pub fn insights_bytes(&self) -> f64 {
        self.bytes * TEMPLATES.len() as f64
    }

    /// The bill's upper end with re-scans: every template but `log-volume` re-running its
    /// busiest hour [`CAPPED_GROWTH`](engine::CAPPED_GROWTH) times (a capped probe or
    /// sub-window is cut again and rerun). An expectation, not a bound: rows far above the
    /// estimate cost more levels.
    #[must_use]
    pub fn insights_bytes_with_rescans(&self) -> f64 {
        self.insights_bytes()
            + (TEMPLATES.len() - 1) as f64 * engine::CAPPED_GROWTH * self.busiest_hour_bytes
    }
}

/// The window's volume per hour and the `log-volume` answers it came from (they feed the
/// report's summary too, so the profile is not queried twice).
#[derive(Debug, Clone)]
pub struct Profile {
    /// Records and bytes per hour.
    pub volume: Volume,
    /// The `log-volume` answers, as [`TEMPLATES`]' `log-volume` entry.
    pub run: engine::Executed,
}

/// Index of `log-volume` in [`TEMPLATES`].
#[must_use]
pub fn log_volume_index() -> usize {
    TEMPLATES
        .iter()
        .position(|(n, _)| *n == "log-volume")
        .unwrap_or(TEMPLATES.len() - 1)
}

/// Profiles `[start, end)`: one `log-volume` query with `bin(1h)` over the whole window (cut
/// again only when its answer is capped: 10,000 hour × stage rows is over a year).
///
/// # Errors
/// A failed query, or rows without the template's columns.
pub fn profile(
    runner: &dyn Runner,
    start_ms: i64,
    end_ms: i64,
    limits: &Limits,
) -> Result<Profile, InsightsError> {
    let query = report::named_queries(limits.row_limit, limits.field_indexes)?
        .swap_remove(log_volume_index());
    let job = Job {
        template: 0,
        start_ms,
        end_ms,
    };
    let mut run = engine::execute(&[query], vec![job], runner, limits)?;
    let sets: Vec<&super::output::ResultSet> = run.done.iter().map(|d| &d.answer.result).collect();
    let volume = Volume::from_rows(&sets, start_ms, end_ms)?;
    for d in &mut run.done {
        d.job.template = log_volume_index();
    }
    Ok(Profile { volume, run })
}

/// `--engine auto`: insights when the download would take longer than [`AUTO_THRESHOLD_S`];
/// the reason is printed.
#[must_use]
pub fn choose(est: &Estimate, rate: f64) -> (Engine, String) {
    let secs = est.download_seconds(rate);
    let why = format!(
        "the window holds about {:.0} events, {:.1} MB: downloading takes about {:.0} s at {rate} FilterLogEvents calls/s",
        est.records,
        est.bytes / 1e6,
        secs
    );
    if secs > AUTO_THRESHOLD_S {
        (
            Engine::Insights,
            format!("{why}, over {AUTO_THRESHOLD_S:.0} s: using Logs Insights"),
        )
    } else {
        (
            Engine::Download,
            format!("{why}, within {AUTO_THRESHOLD_S:.0} s: downloading"),
        )
    }
}

/// Index of `name` in [`TEMPLATES`].
fn index_of(name: &str) -> usize {
    TEMPLATES
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(TEMPLATES.len())
}

/// The templates of the first round: all but `log-volume` (the profile) and `client-qps` (the
/// follow-up, once `client-totals` has named the busiest clients).
#[must_use]
pub fn first_round() -> Vec<usize> {
    let skip = [log_volume_index(), index_of("client-qps")];
    (0..TEMPLATES.len()).filter(|t| !skip.contains(t)).collect()
}

/// The first jobs of `templates` and their deferred rest: each runs first over its probe — the
/// window's first [`PROBE_MS`] (at most one `slice_ms`) — and the rest of the window is cut
/// once the probe's answer gives its rows per record.
#[must_use]
pub fn plan(
    start_ms: i64,
    end_ms: i64,
    slice_ms: i64,
    volume: Option<Volume>,
    templates: &[usize],
) -> (Vec<Job>, Sizing) {
    let probe_end = (start_ms + PROBE_MS.min(slice_ms).max(1000)).min(end_ms);
    let rest = (probe_end < end_ms).then_some((probe_end, end_ms));
    let templates = templates.iter().copied();
    let jobs = templates
        .clone()
        .map(|template| Job {
            template,
            start_ms,
            end_ms: probe_end,
        })
        .collect();
    let mut deferred = vec![None; TEMPLATES.len()];
    for t in templates {
        deferred[t] = rest;
    }
    (
        jobs,
        Sizing {
            volume,
            slice_ms,
            deferred,
        },
    )
}

/// Fewest queries the plan runs: the profile, then per other template its probe and the rest
/// of the window in sub-windows of at most `slice_ms` (more when the probes' rows say so).
#[must_use]
pub fn fewest_queries(start_ms: i64, end_ms: i64, slice_ms: i64) -> usize {
    let probe_end = (start_ms + PROBE_MS.min(slice_ms).max(1000)).min(end_ms);
    let rest = engine::slices(probe_end, end_ms, slice_ms).len();
    1 + (TEMPLATES.len() - 1) * (1 + rest)
}

fn hours(ms: i64) -> String {
    format!("{} h", (ms as f64 / 3.6e6 * 100.0).round() / 100.0)
}

/// The plan `--dry-run` prints.
#[must_use]
pub fn plan_text(
    log_group: &str,
    start_ms: i64,
    end_ms: i64,
    slice_ms: i64,
    limits: &Limits,
    est: Result<&Estimate, &str>,
) -> String {
    use std::fmt::Write as _;
    let t = |ms: i64| crate::timefmt::format_rfc3339(ms * 1000);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Logs Insights plan for {log_group}, {} .. {}",
        t(start_ms),
        t(end_ms)
    );
    let _ = writeln!(
        s,
        "profile: log-volume with bin(1h) over the whole window, 1 query (ran for this estimate; it feeds the report's summary too)"
    );
    let probe_end = (start_ms + PROBE_MS.min(slice_ms).max(1000)).min(end_ms);
    let _ = writeln!(
        s,
        "probe: every other template first over {} .. {}; its rows per record and per second, times each hour's records, cut the rest of the window into sub-windows of at most {} rows estimated ({:.0}% of the limit of {}) and at most --insights-slice long",
        t(start_ms),
        t(probe_end),
        (limits.row_limit.min(super::merge::ROW_CAP) as f64 * engine::TARGET_SHARE) as usize,
        engine::TARGET_SHARE * 100.0,
        limits.row_limit
    );
    let _ = writeln!(s, "templates ({}):", TEMPLATES.len());
    for (name, feeds) in TEMPLATES {
        let _ = writeln!(s, "  {name:<24} -> {feeds}");
    }
    let _ = writeln!(
        s,
        "follow-up: client-qps runs once client-totals has answered, filtered to the userAgents of the {} busiest clients (its rows are minutes × those clients, not × every client)",
        follow::FOLLOWED_CLIENTS
    );
    let _ = writeln!(
        s,
        "queries: at least {} (sub-windows of at most {}), at most {} in flight; an answer still capped is cut again from twice its rows and rerun",
        fewest_queries(start_ms, end_ms, slice_ms),
        hours(slice_ms),
        limits.concurrency,
    );
    match est {
        Ok(e) => {
            let (lo, hi) = (
                e.insights_bytes() / 1e9,
                e.insights_bytes_with_rescans() / 1e9,
            );
            let _ = writeln!(
                s,
                "estimate: about {:.0} events, {:.2} GB in the window; {} templates scan {lo:.2} GB (no re-scan) to about {hi:.2} GB (each template re-running the busiest hour, {:.2} GB, twice), ${:.4} to ${:.4} at ${USD_PER_GB}/GB (most regions; check your region's price)",
                e.records,
                e.bytes / 1e9,
                TEMPLATES.len(),
                e.busiest_hour_bytes / 1e9,
                lo * USD_PER_GB,
                hi * USD_PER_GB
            );
        }
        Err(why) => {
            let _ = writeln!(s, "estimate: unavailable: {why}");
        }
    }
    s
}

/// Runs the report's templates over `[start, end)`: the window's [`profile`] (run first unless
/// the caller already has it, as `--engine auto` does), then every other template's probe and
/// the sub-windows cut from it, then `client-qps` for the busiest clients of `client-totals`
/// ([`follow_up`]). The answers of all, in [`TEMPLATES`]' indexes, and the volume.
///
/// # Errors
/// A failed query, or rows without the template's columns.
pub fn execute_report(
    runner: &dyn Runner,
    start_ms: i64,
    end_ms: i64,
    slice_ms: i64,
    limits: &Limits,
    profile: Option<Profile>,
) -> Result<(engine::Executed, Volume), InsightsError> {
    let profile = match profile {
        Some(p) => p,
        None => self::profile(runner, start_ms, end_ms, limits)?,
    };
    let queries = report::named_queries(limits.row_limit, limits.field_indexes)?;
    let volume = Some(profile.volume.clone());
    let (jobs, sizing) = plan(start_ms, end_ms, slice_ms, volume.clone(), &first_round());
    let mut run = engine::execute_sized(&queries, jobs, sizing, runner, limits)?;
    let window = (start_ms, end_ms, slice_ms);
    if let Some(second) = follow_up(&run, queries, window, volume, runner, limits)? {
        let qps = index_of("client-qps");
        run.density[qps] = second.density[qps];
        add(&mut run, second);
    }
    add(&mut run, profile.run);
    Ok((run, profile.volume))
}

/// The second round: `client-qps` filtered to the userAgents of the busiest clients of the
/// first round's `client-totals` answers (none when the window has no client).
///
/// # Errors
/// A failed query, or rows without `client-totals`' columns.
fn follow_up(
    first: &engine::Executed,
    mut queries: Vec<engine::Named>,
    (start_ms, end_ms, slice_ms): (i64, i64, i64),
    volume: Option<Volume>,
    runner: &dyn Runner,
    limits: &Limits,
) -> Result<Option<engine::Executed>, InsightsError> {
    let totals: Vec<&super::output::ResultSet> = first
        .done
        .iter()
        .filter(|d| d.job.template == index_of("client-totals"))
        .map(|d| &d.answer.result)
        .collect();
    let followed = follow::followed(&totals)
        .map_err(|e| super::merge::raw_records_error("client-totals", &e))?;
    if followed.clients.is_empty() {
        return Ok(None);
    }
    let qps = index_of("client-qps");
    queries[qps].query = follow::follow_up(&queries[qps].query, &followed.user_agents);
    let (jobs, sizing) = plan(start_ms, end_ms, slice_ms, volume, &[qps]);
    engine::execute_sized(&queries, jobs, sizing, runner, limits).map(Some)
}

/// Adds the answers, queries and bytes of `more` to `run`.
fn add(run: &mut engine::Executed, more: engine::Executed) {
    run.done.extend(more.done);
    run.done.sort_by_key(|d| (d.job.template, d.job.start_ms));
    run.queries += more.queries;
    run.bytes_scanned = match (run.bytes_scanned, more.bytes_scanned) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    };
}

/// Runs the report's templates ([`execute_report`]) and builds the report.
///
/// # Errors
/// A failed query, or rows without the template's columns.
#[allow(clippy::too_many_arguments)]
pub fn run_report(
    runner: &dyn Runner,
    log_group: &str,
    window: Window,
    start_ms: i64,
    end_ms: i64,
    slice_ms: i64,
    limits: &Limits,
    profile: Option<Profile>,
) -> Result<crate::model::report::Report, InsightsError> {
    let (run, _) = execute_report(runner, start_ms, end_ms, slice_ms, limits, profile)?;
    let mut sub_windows = std::collections::BTreeMap::new();
    for d in &run.done {
        *sub_windows
            .entry(TEMPLATES[d.job.template].0.to_owned())
            .or_insert(0) += 1;
    }
    let facts = report::RunFacts {
        log_group: log_group.to_owned(),
        queries: run.queries,
        sub_windows,
        bytes_scanned: run.bytes_scanned,
        cut: run.done.iter().filter(|d| d.cut).count(),
    };
    Ok(report::build_report(&run.done, window, &facts)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_picks_insights_only_when_the_download_is_long() {
        // 5 calls/s, 1 MB pages: 10 minutes is 3000 pages, about 3.1 GB.
        let small = Estimate {
            records: 1e6,
            bytes: 1e9,
            busiest_hour_bytes: 0.0,
        };
        let big = Estimate {
            records: 1e8,
            bytes: 1e11,
            busiest_hour_bytes: 0.0,
        };
        assert_eq!(choose(&small, 5.0).0, Engine::Download);
        assert_eq!(choose(&big, 5.0).0, Engine::Insights);
        assert!(choose(&big, 5.0).1.contains("using Logs Insights"));
        // Many small events: the 10,000-event page limit dominates.
        let chatty = Estimate {
            records: 4e7,
            bytes: 1e9,
            busiest_hour_bytes: 0.0,
        };
        assert!((chatty.download_seconds(5.0) - 800.0).abs() < 1e-6);
        assert_eq!(choose(&chatty, 5.0).0, Engine::Insights);
    }

    #[test]
    fn the_plan_lists_every_template_the_queries_and_the_bill_range() {
        let limits = Limits {
            concurrency: 4,
            row_limit: 10_000,
            min_window_ms: 1000,
            field_indexes: false,
        };
        let day = 86_400_000;
        let est = Estimate {
            records: 1e6,
            bytes: 2e9,
            busiest_hour_bytes: 0.25e9,
        };
        let text = plan_text("/aws/eks/c/cluster", 0, 3 * day, day, &limits, Ok(&est));
        // The profile, then 10 templates × (a 1 h probe + the 71 h left in 1 d sub-windows: 3).
        assert_eq!(fewest_queries(0, 3 * day, day), 1 + 10 * 4);
        assert!(
            text.contains("queries: at least 41 (sub-windows of at most 24 h)"),
            "{text}"
        );
        assert!(text.contains("bin(1h)"), "{text}");
        for (name, _) in TEMPLATES {
            assert!(text.contains(name), "{name}");
        }
        // 11 templates × 2 GB = 22 GB → $0.11; plus 10 × 2 × 0.25 GB = 5 GB of re-scans.
        assert!(
            text.contains("scan 22.00 GB (no re-scan) to about 27.00 GB"),
            "{text}"
        );
        assert!(text.contains("$0.1100 to $0.1350"), "{text}");
        assert!(
            text.contains("client-qps runs once client-totals has answered"),
            "{text}"
        );
    }

    #[test]
    fn the_plan_probes_every_template_but_the_profile_and_defers_the_rest() {
        let (jobs, sizing) = plan(0, 6 * PROBE_MS, 86_400_000, None, &first_round());
        assert_eq!(jobs.len(), TEMPLATES.len() - 2);
        assert!(jobs.iter().all(|j| j.template != index_of("client-qps")));
        assert!(jobs.iter().all(|j| (j.start_ms, j.end_ms) == (0, PROBE_MS)));
        assert!(jobs.iter().all(|j| j.template != log_volume_index()));
        assert_eq!(sizing.deferred[log_volume_index()], None);
        assert_eq!(
            sizing.deferred.iter().flatten().count(),
            TEMPLATES.len() - 2
        );
        assert!(
            sizing
                .deferred
                .iter()
                .flatten()
                .all(|&w| w == (PROBE_MS, 6 * PROBE_MS))
        );
        // A window shorter than the probe is one query per template.
        let (jobs, sizing) = plan(0, 60_000, 86_400_000, None, &first_round());
        assert!(jobs.iter().all(|j| j.end_ms == 60_000));
        assert!(sizing.deferred.iter().all(Option::is_none));
    }
}

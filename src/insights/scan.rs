//! Insights: `--engine insights|auto` and `--dry-run` on the scan — sizes the window with a
//! sampled `log-volume` query, picks the engine, prints the plan and cost estimate, runs the
//! report's templates through the [`engine`](super::engine) and builds the report.

use clap::ValueEnum;

use super::engine::{self, Job, Limits, Runner};
use super::merge::sum_by;
use crate::aggregate::filter::Window;
use crate::build::insights::{self as report, TEMPLATES};

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
/// CloudWatch's per-event overhead in ingested bytes, on top of the message.
pub const EVENT_OVERHEAD: f64 = 26.0;
/// Length of each of the (up to three) samples the size estimate queries.
pub const SAMPLE_MS: i64 = 5 * 60_000;

/// The window's estimated size, extrapolated from samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Log events.
    pub records: f64,
    /// Ingested bytes (messages plus CloudWatch's per-event overhead).
    pub bytes: f64,
}

impl Estimate {
    /// Seconds a download needs: pages (1 MB or 10,000 events each) at `rate` calls per second.
    #[must_use]
    pub fn download_seconds(&self, rate: f64) -> f64 {
        (self.bytes / PAGE_BYTES).max(self.records / PAGE_EVENTS) / rate.max(0.01)
    }

    /// Bytes the insights engine scans: every template reads the whole window once (capped
    /// sub-windows rerun, so this is a floor).
    #[must_use]
    pub fn insights_bytes(&self) -> f64 {
        self.bytes * TEMPLATES.len() as f64
    }
}

/// The samples of `[start, end)` the estimate queries: its start, middle and end, 5 min each
/// (the whole window when it is shorter than three samples).
#[must_use]
pub fn samples(start_ms: i64, end_ms: i64) -> Vec<(i64, i64)> {
    if end_ms - start_ms <= 3 * SAMPLE_MS {
        return vec![(start_ms, end_ms)];
    }
    let mid = start_ms + (end_ms - start_ms) / 2 - SAMPLE_MS / 2;
    [start_ms, mid, end_ms - SAMPLE_MS]
        .into_iter()
        .map(|s| (s, s + SAMPLE_MS))
        .collect()
}

/// Estimates the window's size from `log-volume` over [`samples`].
///
/// # Errors
/// A failed query, or rows without the template's columns.
pub fn estimate(runner: &dyn Runner, start_ms: i64, end_ms: i64) -> Result<Estimate, String> {
    let t = super::template::find("log-volume")?;
    let mut p = std::collections::BTreeMap::new();
    p.insert("period".to_owned(), "1h".to_owned());
    let query = t.render(&p)?;
    let (mut sets, mut sampled) = (Vec::new(), 0);
    for (s, e) in samples(start_ms, end_ms) {
        sets.push(runner.run(&query, s, e)?.result);
        sampled += e - s;
    }
    let sums = sum_by(&sets, &[], &["records", "bytes"]).map_err(|e| {
        format!("cannot size the window with log-volume: {e} (an emulator without stats?)")
    })?;
    let [records, bytes] = sums.values().next().map_or([0.0, 0.0], |v| [v[0], v[1]]);
    let scale = (end_ms - start_ms) as f64 / sampled.max(1) as f64;
    Ok(Estimate {
        records: records * scale,
        bytes: (bytes + records * EVENT_OVERHEAD) * scale,
    })
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

/// The jobs: every template over every initial sub-window.
#[must_use]
pub fn jobs(start_ms: i64, end_ms: i64, slice_ms: i64) -> Vec<Job> {
    let windows = engine::slices(start_ms, end_ms, slice_ms);
    (0..TEMPLATES.len())
        .flat_map(|template| {
            windows.iter().map(move |&(start_ms, end_ms)| Job {
                template,
                start_ms,
                end_ms,
            })
        })
        .collect()
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
    let windows = engine::slices(start_ms, end_ms, slice_ms);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Logs Insights plan for {log_group}, {} .. {}",
        t(start_ms),
        t(end_ms)
    );
    let _ = writeln!(s, "sub-windows ({}):", windows.len());
    for (a, b) in &windows {
        let _ = writeln!(s, "  {} .. {}", t(*a), t(*b));
    }
    let _ = writeln!(s, "templates ({}):", TEMPLATES.len());
    for (name, feeds) in TEMPLATES {
        let _ = writeln!(s, "  {name:<24} -> {feeds}");
    }
    let _ = writeln!(
        s,
        "queries: {} at first, at most {} in flight; a result of {} rows is split in two and rerun",
        windows.len() * TEMPLATES.len(),
        limits.concurrency,
        limits.row_limit
    );
    match est {
        Ok(e) => {
            let gb = e.insights_bytes() / 1e9;
            let _ = writeln!(
                s,
                "estimate: about {:.0} events, {:.2} GB in the window; {} templates scan about {gb:.2} GB, about ${:.4} at ${USD_PER_GB}/GB (most regions; check your region's price)",
                e.records,
                e.bytes / 1e9,
                TEMPLATES.len(),
                gb * USD_PER_GB
            );
        }
        Err(why) => {
            let _ = writeln!(s, "estimate: unavailable: {why}");
        }
    }
    s
}

/// Runs the report's templates and builds the report.
///
/// # Errors
/// A failed query, or rows without the template's columns.
pub fn run_report(
    runner: &dyn Runner,
    log_group: &str,
    window: Window,
    start_ms: i64,
    end_ms: i64,
    slice_ms: i64,
    limits: &Limits,
) -> Result<crate::model::report::Report, String> {
    let queries = report::queries(limits.row_limit)?;
    let run = engine::execute(&queries, jobs(start_ms, end_ms, slice_ms), runner, limits)?;
    let done = run.done;
    let mut sub_windows = std::collections::BTreeMap::new();
    for d in &done {
        *sub_windows
            .entry(TEMPLATES[d.job.template].0.to_owned())
            .or_insert(0) += 1;
    }
    let facts = report::RunFacts {
        log_group: log_group.to_owned(),
        queries: run.queries,
        sub_windows,
        bytes_scanned: run.bytes_scanned,
        cut: done.iter().filter(|d| d.cut).count(),
    };
    report::build_report(&done, window, &facts)
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
        };
        let big = Estimate {
            records: 1e8,
            bytes: 1e11,
        };
        assert_eq!(choose(&small, 5.0).0, Engine::Download);
        assert_eq!(choose(&big, 5.0).0, Engine::Insights);
        assert!(choose(&big, 5.0).1.contains("using Logs Insights"));
        // Many small events: the 10,000-event page limit dominates.
        let chatty = Estimate {
            records: 4e7,
            bytes: 1e9,
        };
        assert!((chatty.download_seconds(5.0) - 800.0).abs() < 1e-6);
        assert_eq!(choose(&chatty, 5.0).0, Engine::Insights);
    }

    #[test]
    fn samples_cover_start_middle_and_end() {
        assert_eq!(samples(0, 600_000), [(0, 600_000)]);
        let s = samples(0, 3_600_000);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], (0, SAMPLE_MS));
        assert_eq!(s[2], (3_600_000 - SAMPLE_MS, 3_600_000));
        assert!(s[1].0 > s[0].1 && s[1].1 < s[2].0);
    }

    #[test]
    fn the_plan_lists_every_template_and_the_cost() {
        let limits = Limits {
            concurrency: 4,
            row_limit: 10_000,
            min_window_ms: 1000,
        };
        let day = 86_400_000;
        let est = Estimate {
            records: 1e6,
            bytes: 2e9,
        };
        let text = plan_text("/aws/eks/c/cluster", 0, 3 * day, day, &limits, Ok(&est));
        assert!(text.contains("sub-windows (3)"));
        assert!(text.contains(&format!("queries: {}", 3 * TEMPLATES.len())));
        for (name, _) in TEMPLATES {
            assert!(text.contains(name), "{name}");
        }
        // 9 templates × 2 GB = 18 GB → $0.09.
        assert!(
            text.contains("scan about 18.00 GB, about $0.0900"),
            "{text}"
        );
        assert_eq!(jobs(0, 3 * day, day).len(), 3 * TEMPLATES.len());
    }
}

//! Insights: the executor behind `--engine insights` — runs each planned template over
//! sub-windows of the scan window, at most `concurrency` queries in flight. Sub-windows are cut
//! from an estimate before they run: a template's first answer gives its rows per record (and
//! per second), and the window's volume per hour ([`Volume`]) turns that into the rows of a
//! candidate sub-window, kept under 70% of the row cap. A result that is still capped (as many
//! rows as the limit: rows may be missing) is cut again from a doubled estimate, at once into
//! as many pieces as it needs, not halved level by level (every re-run scans, and bills, again).
//!
//! The executor only knows a [`Runner`] ("run this query over `[start, end)` → rows"), so
//! splitting, capping, the concurrency cap and merging are tested with a fake runner; the
//! CloudWatch runner ([`CloudRunner`]) and the local evaluator ([`LocalRunner`]) plug in the same way.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

use super::error::InsightsError;
use super::output::ResultSet;
use super::volume::Volume;

/// A template's rendered query, with the template's name (for errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Template name.
    pub template: String,
    /// Query text.
    pub query: String,
}

impl Named {
    /// `query` of `template`.
    #[must_use]
    pub fn new(template: &str, query: String) -> Self {
        Self {
            template: template.to_owned(),
            query,
        }
    }
}

/// One query to run: a template's rendered body over `[start_ms, end_ms)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Index of the template in the plan.
    pub template: usize,
    /// Inclusive start, epoch ms.
    pub start_ms: i64,
    /// Exclusive end, epoch ms.
    pub end_ms: i64,
}

/// What a runner returns for one query.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Rows, in GetQueryResults' shape.
    pub result: ResultSet,
    /// `statistics.bytesScanned` (none from emulators or the local evaluator).
    pub bytes_scanned: Option<f64>,
}

/// Runs one query over a window. Implementations must be callable from several threads.
pub trait Runner: Sync {
    /// Runs `query` over `[start_ms, end_ms)`.
    ///
    /// # Errors
    /// One line saying what failed and what to do.
    fn run(&self, query: &str, start_ms: i64, end_ms: i64) -> Result<Answer, String>;

    /// Whether the user asked to stop (Ctrl-C): no new query starts after it.
    fn interrupted(&self) -> bool {
        false
    }
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct Done {
    /// The job.
    pub job: Job,
    /// Its answer.
    pub answer: Answer,
    /// Capped, and the sub-window was too short to split further: rows may be missing.
    pub cut: bool,
}

/// How to execute.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Queries in flight at most.
    pub concurrency: usize,
    /// A result with this many rows is capped (the templates' `limit`).
    pub row_limit: usize,
    /// Shortest sub-window; a capped one this short is kept, marked cut.
    pub min_window_ms: i64,
    /// `--use-field-indexes`: templates read through `filterIndex` where they declare one.
    pub field_indexes: bool,
}

/// Cuts `[start, end)` in two at a whole second when it is at least 2 s long (StartQuery takes
/// whole seconds, so second-aligned edges are also exact on services that ignore the ms filter),
/// else at the middle ms. `None` when it cannot be cut.
#[must_use]
pub fn halve(start_ms: i64, end_ms: i64, min_window_ms: i64) -> Option<[(i64, i64); 2]> {
    if end_ms - start_ms < 2 * min_window_ms.max(1) {
        return None;
    }
    let mid = start_ms + (end_ms - start_ms) / 2;
    let aligned = mid.div_euclid(1000) * 1000;
    let mid = if aligned > start_ms && aligned < end_ms {
        aligned
    } else {
        mid
    };
    Some([(start_ms, mid), (mid, end_ms)])
}

/// Cuts `[start, end)` into consecutive sub-windows no longer than `slice_ms`, at whole seconds.
#[must_use]
pub fn slices(start_ms: i64, end_ms: i64, slice_ms: i64) -> Vec<(i64, i64)> {
    let slice_ms = slice_ms.max(1000);
    let mut out = Vec::new();
    let mut s = start_ms;
    while s < end_ms {
        let next = ((s.div_euclid(1000) * 1000) + slice_ms).min(end_ms);
        // A tail under a second joins the last slice rather than being queried alone.
        let next = if next <= s || end_ms - next < 1000 {
            end_ms
        } else {
            next
        };
        out.push((s, next));
        s = next;
    }
    out
}

/// Share of the row limit a sub-window is sized for: the estimate is linear in records and
/// time, and a template's rows grow slower than that; the rest is room for a busier hour.
pub const TARGET_SHARE: f64 = 0.7;
/// A capped answer holds at least the cap: its sub-window is re-cut as if it held twice that.
pub const CAPPED_GROWTH: f64 = 2.0;

/// Rows a template returns per record and per millisecond of window, the most seen in any
/// answer: the estimate of a sub-window's rows is the larger of the two products, so a quiet
/// hour (few records, as many minutes) is not sized by records alone.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Density {
    /// Rows per record (0 until an answer over records is seen).
    pub per_record: f64,
    /// Rows per ms.
    pub per_ms: f64,
}

impl Density {
    /// Learns from an answer of `rows` over `records` and `ms`.
    pub fn learn(&mut self, rows: f64, records: f64, ms: i64) {
        if records > 0.0 {
            self.per_record = self.per_record.max(rows / records);
        }
        if ms > 0 {
            self.per_ms = self.per_ms.max(rows / ms as f64);
        }
    }

    /// Estimated rows of `[start_ms, end_ms)`.
    #[must_use]
    pub fn rows(&self, volume: Option<&Volume>, start_ms: i64, end_ms: i64) -> f64 {
        let records = volume.map_or(0.0, |v| v.between(start_ms, end_ms).0);
        (self.per_record * records).max(self.per_ms * (end_ms - start_ms) as f64)
    }
}

/// How sub-windows are sized: the window's volume, the longest sub-window, and per template
/// the part of the window planned only once its first answer gives the template's density.
#[derive(Debug, Clone, Default)]
pub struct Sizing {
    /// Records per hour of the window (`None`: estimate from time alone).
    pub volume: Option<Volume>,
    /// Longest sub-window (`--insights-slice`).
    pub slice_ms: i64,
    /// Per template index: the rest of the window, cut once its first answer is in.
    pub deferred: Vec<Option<(i64, i64)>>,
}

/// Cuts `[start, end)` into consecutive sub-windows whose estimated rows stay within `target`
/// (at whole seconds, at most `slice_ms`, at least `min_ms`): as few as fit, and balanced, so
/// the last one is not a sliver.
#[must_use]
pub fn cut(
    start_ms: i64,
    end_ms: i64,
    density: &Density,
    volume: Option<&Volume>,
    target: f64,
    slice_ms: i64,
    min_ms: i64,
) -> Vec<(i64, i64)> {
    let greedy =
        |target: f64| greedy_cut(start_ms, end_ms, density, volume, target, slice_ms, min_ms);
    let first = greedy(target);
    if first.len() < 2 {
        return first;
    }
    // The smallest per-window target that still needs no more sub-windows: equal shares.
    let (mut lo, mut hi) = (
        density.rows(volume, start_ms, end_ms) / first.len() as f64,
        target,
    );
    let equal_shares = greedy(lo);
    if equal_shares.len() <= first.len() {
        return equal_shares;
    }
    for _ in 0..30 {
        let mid = f64::midpoint(lo, hi);
        if greedy(mid).len() <= first.len() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    greedy(hi)
}

fn greedy_cut(
    start_ms: i64,
    end_ms: i64,
    density: &Density,
    volume: Option<&Volume>,
    target: f64,
    slice_ms: i64,
    min_ms: i64,
) -> Vec<(i64, i64)> {
    let min_ms = min_ms.max(1);
    let mut out = Vec::new();
    let mut s = start_ms;
    while s < end_ms {
        let hi = (s + slice_ms.max(min_ms)).min(end_ms);
        let fits = |e: i64| density.rows(volume, s, e) <= target;
        let mut e = if fits(hi) {
            hi
        } else {
            // The estimate grows with the end: binary search over whole seconds.
            let (mut lo_s, mut hi_s) = ((s + min_ms).div_euclid(1000), hi.div_euclid(1000));
            while lo_s < hi_s {
                let mid = lo_s + (hi_s - lo_s + 1) / 2;
                if fits(mid * 1000) {
                    lo_s = mid;
                } else {
                    hi_s = mid - 1;
                }
            }
            (lo_s * 1000).clamp(s + min_ms, hi)
        };
        // A tail shorter than the shortest sub-window joins this one.
        if end_ms - e < min_ms {
            e = end_ms;
        }
        out.push((s, e));
        s = e;
    }
    out
}

struct Queue {
    pending: VecDeque<Job>,
    in_flight: usize,
    done: Vec<Done>,
    error: Option<InsightsError>,
    queries: usize,
    bytes_scanned: Option<f64>,
    density: Vec<Density>,
    sizing: Sizing,
}

impl Queue {
    fn target(limits: &Limits) -> f64 {
        limits.row_limit.min(super::merge::ROW_CAP) as f64 * TARGET_SHARE
    }

    fn learn(&mut self, job: &Job, rows: usize) {
        let records = self
            .sizing
            .volume
            .as_ref()
            .map_or(0.0, |v| v.between(job.start_ms, job.end_ms).0);
        if self.density.len() <= job.template {
            self.density.resize(job.template + 1, Density::default());
        }
        self.density[job.template].learn(rows as f64, records, job.end_ms - job.start_ms);
    }

    /// Sub-windows of `[start, end)` for `template`, from its density.
    fn cut(&self, template: usize, start_ms: i64, end_ms: i64, limits: &Limits) -> Vec<Job> {
        let slice = if self.sizing.slice_ms > 0 {
            self.sizing.slice_ms
        } else {
            end_ms - start_ms
        };
        cut(
            start_ms,
            end_ms,
            &self.density.get(template).copied().unwrap_or_default(),
            self.sizing.volume.as_ref(),
            Self::target(limits),
            slice,
            limits.min_window_ms,
        )
        .into_iter()
        .map(|(start_ms, end_ms)| Job {
            template,
            start_ms,
            end_ms,
        })
        .collect()
    }

    /// Files an answer: kept, or (capped) its window re-cut into as many sub-windows as the
    /// doubled estimate needs; the template's deferred part is planned after its first answer.
    fn file(&mut self, job: Job, answer: Answer, limits: &Limits) {
        let template = job.template;
        let rows = answer.result.rows.len();
        let capped = super::merge::capped(&answer.result, limits.row_limit);
        if capped {
            self.learn(&job, (rows as f64 * CAPPED_GROWTH).ceil() as usize);
            let mut again = self.cut(job.template, job.start_ms, job.end_ms, limits);
            if again.len() < 2 {
                // The estimate did not move (a stale density): halve.
                again = halve(job.start_ms, job.end_ms, limits.min_window_ms)
                    .map(|h| {
                        h.iter()
                            .map(|&(start_ms, end_ms)| Job {
                                template: job.template,
                                start_ms,
                                end_ms,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            }
            if again.is_empty() {
                self.done.push(Done {
                    job,
                    answer,
                    cut: true,
                });
            } else {
                // The capped answer is dropped: its pieces are rerun whole.
                self.pending.extend(again);
            }
        } else {
            self.learn(&job, rows);
            self.done.push(Done {
                job,
                answer,
                cut: false,
            });
        }
        if let Some((s, e)) = self
            .sizing
            .deferred
            .get_mut(template)
            .and_then(Option::take)
        {
            let jobs = self.cut(template, s, e, limits);
            self.pending.extend(jobs);
        }
    }
}

/// Every query's results.
#[derive(Debug, Clone)]
pub struct Executed {
    /// Kept results, sorted by template, then start.
    pub done: Vec<Done>,
    /// Queries run, capped ones that were split and rerun included.
    pub queries: usize,
    /// Sum of `statistics.bytesScanned` over every query run (the bill), capped ones included;
    /// `None` when no query reported it.
    pub bytes_scanned: Option<f64>,
    /// Per template: the rows per record and per ms learnt from its answers (what a longer
    /// window of the same traffic would be cut by).
    pub density: Vec<Density>,
}

/// Runs `jobs` (`queries[job.template]` over the job's window) with `runner`; capped results
/// are cut again from an estimate of their rows and rerun.
///
/// # Errors
/// The first query that failed ([`InsightsError::Query`]); no new query starts after it.
pub fn execute(
    queries: &[Named],
    jobs: Vec<Job>,
    runner: &dyn Runner,
    limits: &Limits,
) -> Result<Executed, InsightsError> {
    execute_sized(queries, jobs, Sizing::default(), runner, limits)
}

/// [`execute`], with sub-windows sized by `sizing`: each template's deferred part of the window
/// is cut, after its first answer, into sub-windows whose estimated rows fit.
///
/// # Errors
/// The first query that failed ([`InsightsError::Query`]); no new query starts after it.
pub fn execute_sized(
    queries: &[Named],
    jobs: Vec<Job>,
    sizing: Sizing,
    runner: &dyn Runner,
    limits: &Limits,
) -> Result<Executed, InsightsError> {
    let state = Mutex::new(Queue {
        pending: jobs.into(),
        in_flight: 0,
        done: Vec::new(),
        error: None,
        queries: 0,
        bytes_scanned: None,
        density: vec![Density::default(); queries.len()],
        sizing,
    });
    let wake = Condvar::new();
    let workers = limits.concurrency.max(1);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| worker(queries, runner, limits, &state, &wake));
        }
    });
    let q = state
        .into_inner()
        .map_err(|_| InsightsError::WorkerPanicked)?;
    if let Some(e) = q.error {
        return Err(e);
    }
    let mut done = q.done;
    done.sort_by_key(|d| (d.job.template, d.job.start_ms));
    Ok(Executed {
        done,
        queries: q.queries,
        bytes_scanned: q.bytes_scanned,
        density: q.density,
    })
}

fn worker(
    queries: &[Named],
    runner: &dyn Runner,
    limits: &Limits,
    state: &Mutex<Queue>,
    wake: &Condvar,
) {
    loop {
        let job = {
            let Ok(mut q) = state.lock() else { return };
            loop {
                if q.error.is_some() {
                    return;
                }
                if runner.interrupted() {
                    q.error.get_or_insert(InsightsError::Interrupted);
                    wake.notify_all();
                    return;
                }
                if let Some(j) = q.pending.pop_front() {
                    q.in_flight += 1;
                    break j;
                }
                if q.in_flight == 0 {
                    wake.notify_all();
                    return;
                }
                q = match wake.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        let named = &queries[job.template];
        let answer = runner.run(&named.query, job.start_ms, job.end_ms);
        let Ok(mut q) = state.lock() else { return };
        q.in_flight -= 1;
        q.queries += 1;
        if let Some(b) = answer.as_ref().ok().and_then(|a| a.bytes_scanned) {
            *q.bytes_scanned.get_or_insert(0.0) += b;
        }
        match answer {
            Err(message) => {
                q.error.get_or_insert(InsightsError::Query {
                    template: named.template.clone(),
                    start_ms: job.start_ms,
                    end_ms: job.end_ms,
                    message,
                });
            }
            Ok(answer) => q.file(job, answer, limits),
        }
        wake.notify_all();
    }
}

/// Runs queries with the local evaluator over events already read, filtered to the window by
/// the event's own time (what `@timestamp` is for a file).
pub struct LocalRunner {
    /// Audit log lines.
    pub lines: Vec<String>,
}

impl Runner for LocalRunner {
    fn run(&self, query: &str, start_ms: i64, end_ms: i64) -> Result<Answer, String> {
        let q = super::local::Query::new(query)?;
        let events = self
            .lines
            .iter()
            .map(|l| super::local::event_of_line(l))
            .filter(|e| e.timestamp.is_some_and(|t| t >= start_ms && t < end_ms));
        let (result, _, _) = super::local::run(&q, events);
        Ok(Answer {
            result,
            bytes_scanned: None,
        })
    }
}

/// Runs queries on CloudWatch Logs Insights (one runtime and connection per query: queries take
/// seconds to minutes, so the set-up is noise).
#[cfg(feature = "cloudwatch")]
pub struct CloudRunner {
    /// Where and how.
    pub spec: super::cloud::Spec,
    /// Only streams whose name starts with this (`--stream-prefix`).
    pub stream_prefix: Option<String>,
}

#[cfg(feature = "cloudwatch")]
impl Runner for CloudRunner {
    fn run(&self, query: &str, start_ms: i64, end_ms: i64) -> Result<Answer, String> {
        let query = match self.stream_prefix.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => format!(
                "filter @logStream like /^{}/\n| {query}",
                regex::escape(p).replace('/', "\\/")
            ),
            None => query.to_owned(),
        };
        let o = super::cloud::run(&self.spec, &query, start_ms, end_ms)?;
        Ok(Answer {
            result: o.result,
            bytes_scanned: o.statistics.bytes_scanned,
        })
    }

    fn interrupted(&self) -> bool {
        super::interrupt::requested()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Counts the queries a runner has in flight, and the most at once.
    #[derive(Debug, Default)]
    struct InFlight {
        now: AtomicUsize,
        /// The most queries in flight at once.
        peak: AtomicUsize,
        /// Queries started.
        started: AtomicUsize,
    }

    impl InFlight {
        /// Marks a query started; the guard marks it finished.
        fn enter(&self) -> impl Drop + '_ {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(n, Ordering::SeqCst);
            self.started.fetch_add(1, Ordering::SeqCst);
            Guard(self)
        }
    }

    struct Guard<'a>(&'a InFlight);

    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            self.0.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A fake service: `per_second` rows per second of window (so long windows are capped), and
    /// a record of every window asked for.
    struct Fake {
        per_second: usize,
        /// Rows: a tenth of the records of this volume in the window (instead of per second).
        by_volume: Option<Volume>,
        /// Rows returned at most (the service's limit).
        cap: usize,
        fail_at: Option<i64>,
        flight: InFlight,
        asked: Mutex<Vec<(String, i64, i64)>>,
    }

    impl Runner for Fake {
        fn run(&self, query: &str, start_ms: i64, end_ms: i64) -> Result<Answer, String> {
            let _g = self.flight.enter();
            std::thread::sleep(Duration::from_millis(5));
            self.asked
                .lock()
                .unwrap()
                .push((query.to_owned(), start_ms, end_ms));
            if self.fail_at == Some(start_ms) {
                return Err("query failed".into());
            }
            let secs = usize::try_from((end_ms - start_ms) / 1000).unwrap();
            let n = match &self.by_volume {
                Some(v) => (v.between(start_ms, end_ms).0 / 10.0).round() as usize,
                None => secs * self.per_second,
            }
            .min(self.cap);
            Ok(Answer {
                result: ResultSet {
                    columns: vec!["n".into()],
                    rows: vec![vec![Some("1".into())]; n],
                },
                // A second of window scanned is a byte billed.
                bytes_scanned: Some(secs as f64),
            })
        }
    }

    fn fake(per_second: usize) -> Fake {
        Fake {
            per_second,
            by_volume: None,
            cap: usize::MAX,
            fail_at: None,
            flight: InFlight::default(),
            asked: Mutex::new(Vec::new()),
        }
    }

    /// Queries named "template QUERY".
    fn named(queries: &[&str]) -> Vec<Named> {
        queries
            .iter()
            .map(|q| Named::new(&format!("template {q}"), (*q).to_owned()))
            .collect()
    }

    fn limits(concurrency: usize, row_limit: usize) -> Limits {
        Limits {
            concurrency,
            row_limit,
            min_window_ms: 1000,
            field_indexes: false,
        }
    }

    #[test]
    fn slices_and_halves_sit_on_whole_seconds() {
        assert_eq!(
            slices(500, 10_000, 4000),
            [(500, 4000), (4000, 8000), (8000, 10_000)]
        );
        assert_eq!(slices(500, 8_600, 4000), [(500, 4000), (4000, 8600)]);
        assert_eq!(halve(0, 10_000, 1000), Some([(0, 5000), (5000, 10_000)]));
        assert_eq!(halve(0, 3_500, 1000), Some([(0, 1000), (1000, 3500)]));
        assert_eq!(halve(0, 1_999, 1000), None);
    }

    #[test]
    fn a_capped_window_is_cut_from_an_estimate_with_fewer_rescans_than_halving() {
        // 1 row per second, limit 10, nothing known beforehand: the 64 s answer is capped, so
        // it is re-cut as if it held 20 rows (pieces of 7 estimated rows: 3), whose capped
        // answers are re-cut from 20 rows each. Halving scans the window 4 times (64, 32, 16,
        // 8 s levels, 15 queries); this scans it 3 times in no more queries.
        let f = Fake { cap: 10, ..fake(1) };
        let jobs = vec![Job {
            template: 0,
            start_ms: 0,
            end_ms: 64_000,
        }];
        let run = execute(&named(&["q"]), jobs, &f, &limits(3, 10)).unwrap();
        let done = &run.done;
        assert!(
            done.iter()
                .all(|d| !d.cut && d.answer.result.rows.len() < 10)
        );
        let rows: usize = done.iter().map(|d| d.answer.result.rows.len()).sum();
        assert_eq!(rows, 64, "the kept sub-windows cover the window once");
        assert!(
            done.windows(2)
                .all(|p| p[0].job.end_ms == p[1].job.start_ms)
        );
        assert_eq!(
            (done[0].job.start_ms, done.last().unwrap().job.end_ms),
            (0, 64_000)
        );
        assert!(run.queries <= 15, "{}", run.queries);
        let billed = run.bytes_scanned.unwrap();
        assert!(
            (3.0 * 60.0..=3.0 * 64.0).contains(&billed),
            "every query billed: {billed}"
        );
    }

    #[test]
    fn the_probe_sizes_the_rest_so_nothing_is_capped_or_scanned_twice() {
        let f = fake(1);
        let jobs = vec![Job {
            template: 0,
            start_ms: 0,
            end_ms: 4000,
        }];
        let sizing = Sizing {
            volume: None,
            slice_ms: 86_400_000,
            deferred: vec![Some((4000, 64_000))],
        };
        let run = execute_sized(&named(&["q"]), jobs, sizing, &f, &limits(3, 10)).unwrap();
        // 4 rows in 4 s: 1 row/s, so the 60 s left is cut into 9 pieces of at most 7 s (7 rows:
        // 70% of the cap).
        assert_eq!(run.queries, 1 + 9);
        assert!(
            run.done
                .iter()
                .all(|d| !d.cut && d.answer.result.rows.len() <= 7)
        );
        assert_eq!(run.bytes_scanned, Some(64.0), "each second scanned once");
    }

    #[test]
    fn the_volume_puts_the_cuts_where_the_records_are() {
        // Hour 0 and 2: 1,000 records; hour 1: 100,000. A row per 10 records.
        let h = 3_600_000;
        let bin = |i: i64, records: f64| super::super::volume::Bin {
            start_ms: i * h,
            end_ms: (i + 1) * h,
            records,
            bytes: records,
        };
        let volume = Volume {
            bins: vec![bin(0, 1000.0), bin(1, 100_000.0), bin(2, 1000.0)],
        };
        let f = Fake {
            by_volume: Some(volume.clone()),
            ..fake(0)
        };
        let sizing = Sizing {
            volume: Some(volume),
            slice_ms: 86_400_000,
            deferred: vec![Some((h, 3 * h))],
        };
        let jobs = vec![Job {
            template: 0,
            start_ms: 0,
            end_ms: h,
        }];
        let run = execute_sized(&named(&["q"]), jobs, sizing, &f, &limits(2, 10_000)).unwrap();
        let windows: Vec<(i64, i64)> = run
            .done
            .iter()
            .map(|d| (d.job.start_ms, d.job.end_ms))
            .collect();
        // The probe's 100 rows per 1,000 records cut the busy hour and the quiet one into two
        // sub-windows of equal estimated rows (10,100 / 2), under 70% of the cap: nothing capped.
        assert_eq!(run.queries, 3);
        assert_eq!(windows[0], (0, h));
        assert_eq!(windows[2].1, 3 * h);
        assert!(
            windows[1].1 < 2 * h,
            "the cut falls in the busy hour: {windows:?}"
        );
        assert!(
            run.done[1..]
                .iter()
                .all(|d| d.answer.result.rows.len().abs_diff(5050) <= 5),
            "{windows:?}"
        );
    }

    #[test]
    fn cut_balances_the_sub_windows() {
        // 2,400 rows per hour over 5 h, 5,000 a sub-window: three of 1 h 40 min, not 2 h + 2 h + 1 h.
        let d = Density {
            per_record: 0.0,
            per_ms: 2400.0 / 3_600_000.0,
        };
        let h = 3_600_000;
        let cuts = cut(0, 5 * h, &d, None, 5000.0, 86_400_000, 1000);
        assert_eq!(cuts.len(), 3, "{cuts:?}");
        assert!(
            cuts.iter().all(|(a, b)| (b - a - 6_000_000).abs() <= 1000),
            "{cuts:?}"
        );
        assert_eq!((cuts[0].0, cuts[2].1), (0, 5 * h));
        // At most one slice long, and never under the shortest sub-window.
        assert_eq!(
            cut(0, 10_000, &Density::default(), None, 1.0, 4000, 1000).len(),
            3
        );
        let dense = Density {
            per_record: 0.0,
            per_ms: 100.0,
        };
        assert!(
            cut(0, 10_000, &dense, None, 1.0, 4000, 1000)
                .iter()
                .all(|(a, b)| b - a >= 1000)
        );
    }

    #[test]
    fn a_window_too_short_to_split_is_kept_and_marked_cut() {
        let f = fake(50);
        let jobs = vec![Job {
            template: 0,
            start_ms: 0,
            end_ms: 4000,
        }];
        let done = execute(&named(&["q"]), jobs, &f, &limits(2, 10))
            .unwrap()
            .done;
        assert_eq!(done.len(), 4);
        assert!(done.iter().all(|d| d.cut));
    }

    #[test]
    fn never_more_queries_in_flight_than_the_cap() {
        let f = fake(0);
        let jobs: Vec<Job> = (0..40)
            .map(|i| Job {
                template: i % 2,
                start_ms: i as i64 * 1000,
                end_ms: i as i64 * 1000 + 1000,
            })
            .collect();
        let done = execute(&named(&["a", "b"]), jobs, &f, &limits(3, 10))
            .unwrap()
            .done;
        assert_eq!(done.len(), 40);
        assert_eq!(f.flight.peak.load(Ordering::SeqCst), 3);
        let asked = f.asked.lock().unwrap();
        assert_eq!(asked.iter().filter(|(q, ..)| q == "b").count(), 20);
        assert!(done.windows(2).all(
            |p| (p[0].job.template, p[0].job.start_ms) < (p[1].job.template, p[1].job.start_ms)
        ));
    }

    #[test]
    fn the_first_failure_stops_the_run() {
        let mut f = fake(0);
        f.fail_at = Some(3000);
        let jobs: Vec<Job> = (0..20)
            .map(|i| Job {
                template: 0,
                start_ms: i * 1000,
                end_ms: i * 1000 + 1000,
            })
            .collect();
        let err = execute(&named(&["q"]), jobs, &f, &limits(1, 10)).unwrap_err();
        assert_eq!(
            err,
            InsightsError::Query {
                template: "template q".into(),
                start_ms: 3000,
                end_ms: 4000,
                message: "query failed".into(),
            }
        );
        assert_eq!(
            f.asked.lock().unwrap().len(),
            4,
            "nothing starts after a failure"
        );
    }
}

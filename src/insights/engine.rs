//! Insights: the executor behind `--engine insights` — runs each planned template over
//! sub-windows of the scan window, at most `concurrency` queries in flight, and splits a
//! sub-window again when its result is capped (as many rows as the limit: rows may be missing).
//!
//! The executor only knows a [`Runner`] ("run this query over `[start, end)` → rows"), so
//! splitting, capping, the concurrency cap and merging are tested with a fake runner; the
//! CloudWatch runner ([`CloudRunner`]) and the local evaluator ([`LocalRunner`]) plug in the same way.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

use super::output::ResultSet;

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

struct Queue {
    pending: VecDeque<Job>,
    in_flight: usize,
    done: Vec<Done>,
    error: Option<String>,
    queries: usize,
    bytes_scanned: Option<f64>,
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
}

/// Runs `jobs` (`queries[job.template]` over the job's window) with `runner`; capped results
/// are split and rerun.
///
/// # Errors
/// The first query that failed; no new query starts after it.
pub fn execute(
    queries: &[String],
    jobs: Vec<Job>,
    runner: &dyn Runner,
    limits: &Limits,
) -> Result<Executed, String> {
    let state = Mutex::new(Queue {
        pending: jobs.into(),
        in_flight: 0,
        done: Vec::new(),
        error: None,
        queries: 0,
        bytes_scanned: None,
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
        .map_err(|_| "a query worker panicked".to_owned())?;
    if let Some(e) = q.error {
        return Err(e);
    }
    let mut done = q.done;
    done.sort_by_key(|d| (d.job.template, d.job.start_ms));
    Ok(Executed {
        done,
        queries: q.queries,
        bytes_scanned: q.bytes_scanned,
    })
}

fn worker(
    queries: &[String],
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
                    q.error
                        .get_or_insert_with(|| "interrupted: no further sub-window started".into());
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
        let answer = runner.run(&queries[job.template], job.start_ms, job.end_ms);
        let Ok(mut q) = state.lock() else { return };
        q.in_flight -= 1;
        q.queries += 1;
        if let Some(b) = answer.as_ref().ok().and_then(|a| a.bytes_scanned) {
            *q.bytes_scanned.get_or_insert(0.0) += b;
        }
        match answer {
            Err(e) => {
                q.error.get_or_insert(e);
            }
            Ok(answer) if super::merge::capped(&answer.result, limits.row_limit) => {
                match halve(job.start_ms, job.end_ms, limits.min_window_ms) {
                    Some(halves) => {
                        // The capped answer is dropped: its halves are rerun whole.
                        for (start_ms, end_ms) in halves {
                            q.pending.push_back(Job {
                                template: job.template,
                                start_ms,
                                end_ms,
                            });
                        }
                    }
                    None => q.done.push(Done {
                        job,
                        answer,
                        cut: true,
                    }),
                }
            }
            Ok(answer) => q.done.push(Done {
                job,
                answer,
                cut: false,
            }),
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
            let n = usize::try_from((end_ms - start_ms) / 1000).unwrap() * self.per_second;
            Ok(Answer {
                result: ResultSet {
                    columns: vec!["n".into()],
                    rows: vec![vec![Some("1".into())]; n],
                },
                bytes_scanned: Some(10.0),
            })
        }
    }

    fn fake(per_second: usize) -> Fake {
        Fake {
            per_second,
            fail_at: None,
            flight: InFlight::default(),
            asked: Mutex::new(Vec::new()),
        }
    }

    fn limits(concurrency: usize, row_limit: usize) -> Limits {
        Limits {
            concurrency,
            row_limit,
            min_window_ms: 1000,
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
    fn capped_windows_split_until_every_result_fits() {
        // 1 row per second, limit 10: a 64 s window must end as sub-windows shorter than 10 s.
        let f = fake(1);
        let jobs = vec![Job {
            template: 0,
            start_ms: 0,
            end_ms: 64_000,
        }];
        let run = execute(&["q".into()], jobs, &f, &limits(3, 10)).unwrap();
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
        // 1 + 2 + 4 + 8 queries: the 8 s windows fit; every one is billed, split ones too.
        assert_eq!(f.asked.lock().unwrap().len(), 15);
        assert_eq!(run.queries, 15);
        assert_eq!(run.bytes_scanned, Some(150.0));
    }

    #[test]
    fn a_window_too_short_to_split_is_kept_and_marked_cut() {
        let f = fake(50);
        let jobs = vec![Job {
            template: 0,
            start_ms: 0,
            end_ms: 4000,
        }];
        let done = execute(&["q".into()], jobs, &f, &limits(2, 10))
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
        let done = execute(&["a".into(), "b".into()], jobs, &f, &limits(3, 10))
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
        let err = execute(&["q".into()], jobs, &f, &limits(1, 10)).unwrap_err();
        assert_eq!(err, "query failed");
        assert_eq!(
            f.asked.lock().unwrap().len(),
            4,
            "nothing starts after a failure"
        );
    }
}

//! Source/CloudWatch: following a log group as events arrive (`--follow --cluster`). Each audit
//! stream is polled with FilterLogEvents from the newest CloudWatch time read from it,
//! *inclusive* (not + 1 ms: a second event logged in that millisecond after the poll would be
//! lost), and the events read again at that edge are dropped by auditID + stage ([`Dedup`]), so
//! none is lost or counted twice. A cursor per stream, not per group: the API servers' streams
//! are ingested with their own delays, and one cursor at the newest time of any stream would
//! skip a lagging stream's events. A query is asked up to the time it started and followed
//! page by page, across polls when a poll runs out of time (a backlog at start), before the
//! cursor moves. The calls share the download's client, `--rate` limit, retry policy and
//! counters; new streams (an API server replaced) are found every minute. StartLiveTail is not
//! used: emulators lack it, and it samples busy streams.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::conn::{Conn, Counters, discover, input_name, next_token, push_line, with_retries};
use super::dedup::Dedup;
use super::{DownloadError, Spec, Summary};
use crate::model::report::InputRow;
use crate::source::follow::Lines;

/// Streams are looked for again this often.
const DISCOVERY_EVERY: Duration = Duration::from_mins(1);

/// How far back (CloudWatch ms) a duplicate is looked for while following: the edge
/// millisecond read again, a page served twice — seconds apart, not minutes.
const FOLLOW_HORIZON_MS: i64 = 60_000;

/// A query followed page by page: its CloudWatch time range and the next page's token.
struct Chain {
    start_ms: i64,
    end_ms: i64,
    token: Option<String>,
    /// The newest CloudWatch time read in it: the next query's start.
    newest_ms: i64,
}

/// One followed stream.
struct Tracked {
    name: String,
    origin: u32,
    row: InputRow,
    /// The next query starts here (inclusive).
    cursor_ms: i64,
    chain: Option<Chain>,
    dedup: Dedup,
    seq: u64,
    /// The newest CloudWatch time of an event read from it.
    newest_ms: Option<i64>,
    /// The exclusive end of the CloudWatch time read to its end.
    until_ms: i64,
}

/// Follows one log group's audit streams.
pub struct Poller {
    rt: tokio::runtime::Runtime,
    conn: Conn,
    streams: Vec<Tracked>,
    /// Never set: a poll's retries end by the policy, not by another task.
    never: AtomicBool,
    polls: u64,
    discovered_at: Instant,
    started: Instant,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Poller {
    /// Connects and finds the group's audit streams; following starts at `spec.start_ms`
    /// (`spec.end_ms` is ignored: following has no end).
    ///
    /// # Errors
    /// One line: no region, the group is missing, access denied, the endpoint is unreachable.
    pub fn start(spec: &Spec) -> Result<Self, DownloadError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(DownloadError::Runtime)?;
        let spec = Spec {
            end_ms: i64::MAX,
            ..spec.clone()
        };
        let conn = rt.block_on(Conn::new(&spec))?;
        let mut poller = Self {
            rt,
            conn,
            streams: Vec::new(),
            never: AtomicBool::new(false),
            polls: 0,
            discovered_at: Instant::now(),
            started: Instant::now(),
        };
        poller.discover()?;
        Ok(poller)
    }

    /// Adds the audit streams not followed yet, read from the start.
    fn discover(&mut self) -> Result<(), DownloadError> {
        let names = self.rt.block_on(discover(&self.conn, &self.never))?;
        self.discovered_at = Instant::now();
        for name in names {
            if self.streams.iter().any(|s| s.name == name) {
                continue;
            }
            let origin = u32::try_from(self.streams.len()).unwrap_or(u32::MAX);
            self.streams.push(Tracked {
                row: InputRow {
                    name: input_name(&self.conn.spec.log_group, &name),
                    ..InputRow::default()
                },
                name,
                origin,
                cursor_ms: self.conn.spec.start_ms,
                chain: None,
                dedup: Dedup::for_following(FOLLOW_HORIZON_MS),
                seq: 0,
                newest_ms: None,
                until_ms: self.conn.spec.start_ms,
            });
        }
        Ok(())
    }

    /// Reads what each stream received since the last poll, handing each page's new events to
    /// `out` as `CLOUDWATCH_MS MESSAGE` lines. Every stream gets at least one call; more pages
    /// are followed until `deadline` or `cancelled()`, the rest at the next poll.
    ///
    /// # Errors
    /// A call failed past the retry policy; the next poll takes up where this one stopped.
    pub fn poll(
        &mut self,
        deadline: Instant,
        cancelled: &dyn Fn() -> bool,
        out: &mut dyn FnMut(Lines),
    ) -> Result<(), DownloadError> {
        self.polls += 1;
        if self.discovered_at.elapsed() >= DISCOVERY_EVERY {
            self.discover()?;
        }
        let Self {
            rt, conn, streams, ..
        } = self;
        let never = &self.never;
        rt.block_on(async {
            for t in streams.iter_mut() {
                poll_stream(conn, never, t, deadline, cancelled, out).await?;
            }
            Ok(())
        })
    }

    /// Per stream followed: its name and the bytes read from it.
    #[must_use]
    pub fn rows(&self) -> Vec<InputRow> {
        self.streams.iter().map(|t| t.row.clone()).collect()
    }

    /// The newest CloudWatch time read, µs: how far behind real time is the ingestion delay.
    #[must_use]
    pub fn newest(&self) -> Option<i64> {
        self.streams
            .iter()
            .filter_map(|t| t.newest_ms)
            .max()
            .map(|ms| ms * 1000)
    }

    /// What following did so far, in the download's terms (`polls` in place of slices).
    #[must_use]
    pub fn summary(&self) -> Summary {
        let start = self.conn.spec.start_ms;
        let until = self.streams.iter().map(|t| t.until_ms).max();
        Summary {
            polls: Some(self.polls),
            ..self.conn.summary(
                self.streams.len(),
                start,
                until.unwrap_or(start),
                self.started,
            )
        }
    }
}

/// Follows `t`'s query (a new one from its cursor to now, or the one a poll left) page by page.
async fn poll_stream(
    conn: &Conn,
    never: &AtomicBool,
    t: &mut Tracked,
    deadline: Instant,
    cancelled: &dyn Fn() -> bool,
    out: &mut dyn FnMut(Lines),
) -> Result<(), DownloadError> {
    let spec = &conn.spec;
    let names = vec![t.name.clone()];
    let chain = t.chain.get_or_insert_with(|| Chain {
        start_ms: t.cursor_ms,
        end_ms: now_ms().max(t.cursor_ms),
        token: None,
        newest_ms: t.cursor_ms,
    });
    loop {
        conn.limit.acquire().await;
        let page = with_retries(conn, spec.max_attempts, never, || {
            conn.client
                .filter_log_events()
                .log_group_name(&spec.log_group)
                .set_log_stream_names(Some(names.clone()))
                .start_time(chain.start_ms)
                .end_time(chain.end_ms)
                .set_limit(spec.page_limit)
                .set_next_token(chain.token.clone())
                .send()
        })
        .await?;
        Counters::add(&conn.counters.pages, 1);
        let mut data = Vec::new();
        for ev in page.events() {
            let (Some(msg), Some(ts)) = (ev.message(), ev.timestamp()) else {
                continue;
            };
            if conn.counters.first_sight(&mut t.dedup, ts, msg) {
                chain.newest_ms = chain.newest_ms.max(ts);
                t.newest_ms = t.newest_ms.max(Some(ts));
                push_line(&mut data, ts, msg);
            }
        }
        if !data.is_empty() {
            t.row.bytes += data.len() as u64;
            t.row.raw_bytes += data.len() as u64;
            out(Lines {
                origin: t.origin,
                seq: t.seq,
                data,
            });
            t.seq += 1;
        }
        chain.token = next_token(page.next_token(), chain.token.as_deref());
        if chain.token.is_none() {
            t.cursor_ms = chain.newest_ms;
            t.until_ms = chain.end_ms + 1;
            t.chain = None;
            return Ok(());
        }
        if cancelled() || Instant::now() >= deadline {
            return Ok(());
        }
    }
}

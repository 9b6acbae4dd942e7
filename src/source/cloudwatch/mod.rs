//! Source: CloudWatch Logs. EKS writes each audit event as one log event of the group
//! `/aws/eks/<cluster>/cluster`, in streams `kube-apiserver-audit-*` (one per API server).
//!
//! The fetch window (CloudWatch time) is cut into half-open slices ([`slices`]); slice × stream
//! group tasks run with bounded concurrency behind a client-side rate limit (FilterLogEvents
//! allows about 5 requests/s per account and region), follow `nextToken` to the end, retry
//! throttling and 5xx with backoff ([`retry`]), drop duplicates by auditID + stage within a
//! bounded horizon ([`dedup`]), and send each page to the workers as it arrives, as lines
//! `CLOUDWATCH_MS MESSAGE` so a truncated event still has a time.

mod conn;
pub mod dedup;
mod error;
pub mod live;
pub mod slices;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Instant;

use super::Chunk;
pub use conn::input_name;
use conn::{Conn, Counters, discover, next_token, push_line, with_retries};
use dedup::Dedup;
pub use error::DownloadError;
use slices::Slice;

/// How the download reports progress: slices planned, slices done, a status line. The
/// command provides it (a terminal progress bar, or nothing), so the source draws nothing.
pub trait Progress: Sync {
    /// The number of slices to fetch.
    fn set_length(&self, len: u64);
    /// `n` more slices fetched.
    fn inc(&self, n: u64);
    /// The status line.
    fn set_message(&self, message: String);
}

/// What to download.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Log group, e.g. `/aws/eks/prod/cluster`.
    pub log_group: String,
    /// Stream name prefix.
    pub stream_prefix: String,
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url` (an emulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// CloudWatch time to fetch, `[start, end)` in ms (the audit window plus margins).
    pub start_ms: i64,
    /// See `start_ms`.
    pub end_ms: i64,
    /// Slice × stream-group tasks in flight.
    pub concurrency: usize,
    /// FilterLogEvents requests per second, across tasks.
    pub rate: f64,
    /// Longest slice, ms.
    pub max_slice_ms: i64,
    /// FilterLogEvents `limit` (events per page), if not the service default.
    pub page_limit: Option<i32>,
    /// Attempts per call before giving up.
    pub max_attempts: u32,
    /// Write what was downloaded here (zstd if the name ends in .zst).
    pub save: Option<PathBuf>,
}

/// What the download did, for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// Log group read.
    pub log_group: String,
    /// Region used.
    pub region: String,
    /// Streams whose time range overlapped the window.
    pub streams: u64,
    /// Time slices.
    pub slices: u64,
    /// Following: the polls made (absent for a download).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polls: Option<u64>,
    /// CloudWatch time fetched, RFC 3339.
    pub fetched_from: String,
    /// End of the CloudWatch time fetched (exclusive), RFC 3339.
    pub fetched_until: String,
    /// Log events received.
    pub events_fetched: u64,
    /// Of which dropped as duplicates (auditID + stage seen within the horizon).
    pub duplicates_dropped: u64,
    /// FilterLogEvents pages.
    pub pages: u64,
    /// Calls retried.
    pub retries: u64,
    /// Of which throttled by the service.
    pub throttles: u64,
    /// Message bytes received.
    pub bytes: u64,
    /// Wall time of the download, s.
    pub elapsed_s: f64,
}

/// Where `--save` writes: a zstd frame must be finished, and its errors seen, not dropped.
enum Saver {
    Zstd(zstd::stream::write::Encoder<'static, std::fs::File>),
    Plain(std::io::BufWriter<std::fs::File>),
}

impl Write for Saver {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Zstd(w) => w.write(b),
            Self::Plain(w) => w.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Zstd(w) => w.flush(),
            Self::Plain(w) => w.flush(),
        }
    }
}

impl Saver {
    fn finish(self) -> std::io::Result<()> {
        match self {
            Self::Zstd(w) => w.finish()?.sync_all(),
            Self::Plain(w) => w
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)?
                .sync_all(),
        }
    }
}

/// One stream found by discovery.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Its name.
    pub name: String,
    /// Index of its input in the report.
    pub origin: u32,
}

/// The outcome: streams (in origin order), their downloaded bytes, and the summary.
#[derive(Debug)]
pub struct Outcome {
    /// Streams read, in origin order.
    pub streams: Vec<Stream>,
    /// Bytes per stream.
    pub bytes: Vec<u64>,
    /// Totals.
    pub summary: Summary,
}

struct Shared<'a> {
    conn: Conn,
    tx: &'a SyncSender<Chunk>,
    stop: &'a AtomicBool,
    seq: Vec<AtomicU64>,
    bytes: Vec<AtomicU64>,
    save: Option<Mutex<Saver>>,
    pb: &'a dyn Progress,
}

/// Fetches one slice of one group of streams to its end, sending pages as they arrive.
async fn fetch(sh: &Shared<'_>, slice: Slice, group: &[Stream]) -> Result<(), DownloadError> {
    let names: Vec<String> = group.iter().map(|s| s.name.clone()).collect();
    let mut token: Option<String> = None;
    let mut dedup = Dedup::default();
    loop {
        if sh.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let (c, spec) = (&sh.conn, &sh.conn.spec);
        c.limit.acquire().await;
        let out = with_retries(c, spec.max_attempts, sh.stop, || {
            c.client
                .filter_log_events()
                .log_group_name(&spec.log_group)
                .set_log_stream_names(Some(names.clone()))
                .start_time(slice.start_ms)
                .end_time(slice.end_inclusive())
                .set_limit(spec.page_limit)
                .set_next_token(token.clone())
                .send()
        })
        .await?;
        Counters::add(&c.counters.pages, 1);
        let mut per_stream: Vec<Vec<u8>> = vec![Vec::new(); group.len()];
        for ev in out.events() {
            let (Some(msg), Some(ts)) = (ev.message(), ev.timestamp()) else {
                continue;
            };
            if !c.counters.first_sight(&mut dedup, ts, msg) {
                continue;
            }
            let i = ev
                .log_stream_name()
                .and_then(|n| group.iter().position(|s| s.name == n))
                .unwrap_or(0);
            push_line(&mut per_stream[i], ts, msg);
            if let Some(save) = &sh.save {
                let mut w = save
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                w.write_all(msg.trim_end().as_bytes())
                    .and_then(|()| w.write_all(b"\n"))
                    .map_err(DownloadError::Save)?;
            }
        }
        for (stream, data) in group.iter().zip(per_stream) {
            if data.is_empty() {
                continue;
            }
            let o = stream.origin as usize;
            sh.bytes[o].fetch_add(data.len() as u64, Ordering::Relaxed);
            let seq = sh.seq[o].fetch_add(1, Ordering::Relaxed);
            // Blocks when the workers are behind: backpressure, so memory stays bounded.
            if sh
                .tx
                .send(Chunk {
                    origin: stream.origin,
                    seq,
                    data,
                    document: false,
                    range: None,
                })
                .is_err()
            {
                return Ok(());
            }
        }
        let counters = &sh.conn.counters;
        sh.pb.set_message(format!(
            "{} events, {:.1} MB",
            Counters::get(&counters.events),
            Counters::get(&counters.bytes) as f64 / 1e6
        ));
        token = next_token(out.next_token(), token.as_deref());
        if token.is_none() {
            return Ok(());
        }
    }
}

async fn run(
    spec: &Spec,
    tx: &SyncSender<Chunk>,
    stop: &AtomicBool,
    pb: &dyn Progress,
) -> Result<Outcome, DownloadError> {
    let started = Instant::now();
    let conn = Conn::new(spec).await?;
    let save: Option<Mutex<Saver>> = match &spec.save {
        None => None,
        Some(p) => {
            let f = std::fs::File::create(p).map_err(|source| DownloadError::SaveCreate {
                path: p.clone(),
                source,
            })?;
            let w = if p.extension().is_some_and(|e| e == "zst") {
                Saver::Zstd(
                    zstd::stream::write::Encoder::new(f, 3).map_err(DownloadError::SaveEncoder)?,
                )
            } else {
                Saver::Plain(std::io::BufWriter::new(f))
            };
            Some(Mutex::new(w))
        }
    };
    let mut sh = Shared {
        conn,
        tx,
        stop,
        seq: Vec::new(),
        bytes: Vec::new(),
        save,
        pb,
    };
    let names = discover(&sh.conn, stop).await?;
    let streams: Vec<Stream> = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Stream {
            name,
            origin: u32::try_from(i).unwrap_or(u32::MAX),
        })
        .collect();
    sh.seq = streams.iter().map(|_| AtomicU64::new(0)).collect();
    sh.bytes = streams.iter().map(|_| AtomicU64::new(0)).collect();
    let slices = slices::slices(
        spec.start_ms,
        spec.end_ms,
        spec.max_slice_ms,
        spec.concurrency * 2,
    );
    let groups: Vec<&[Stream]> = streams.chunks(100).collect();
    let tasks: Vec<(Slice, &[Stream])> = slices
        .iter()
        .flat_map(|s| groups.iter().map(move |g| (*s, *g)))
        .collect();
    pb.set_length(tasks.len() as u64);
    run_tasks(&sh, &tasks).await?;
    if let Some(save) = sh.save.take() {
        save.into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .finish()
            .map_err(DownloadError::Save)?;
    }
    let summary = Summary {
        slices: slices.len() as u64,
        ..sh.conn
            .summary(streams.len(), spec.start_ms, spec.end_ms, started)
    };
    let bytes = sh.bytes.iter().map(|b| b.load(Ordering::Relaxed)).collect();
    Ok(Outcome {
        streams,
        bytes,
        summary,
    })
}

/// Runs the tasks, at most `concurrency` at a time, stopping at the first fatal error.
async fn run_tasks(sh: &Shared<'_>, tasks: &[(Slice, &[Stream])]) -> Result<(), DownloadError> {
    let mut pending = tasks.iter();
    let mut in_flight = Vec::new();
    let concurrency = sh.conn.spec.concurrency.max(1);
    for _ in 0..concurrency {
        if let Some((s, g)) = pending.next() {
            in_flight.push(Box::pin(fetch(sh, *s, g)));
        }
    }
    // A small hand-rolled join: poll whichever finishes first, start the next.
    while !in_flight.is_empty() {
        let (res, i) = std::future::poll_fn(|cx| {
            for (i, f) in in_flight.iter_mut().enumerate() {
                if let std::task::Poll::Ready(r) = f.as_mut().poll(cx) {
                    return std::task::Poll::Ready((r, i));
                }
            }
            std::task::Poll::Pending
        })
        .await;
        drop(in_flight.swap_remove(i));
        res?;
        sh.pb.inc(1);
        if let Some((s, g)) = pending.next() {
            in_flight.push(Box::pin(fetch(sh, *s, g)));
        }
    }
    Ok(())
}

/// Downloads `spec` into `tx`, on a small async runtime of its own.
///
/// # Errors
/// One line that says what went wrong and what to do.
pub fn read(
    spec: &Spec,
    tx: &SyncSender<Chunk>,
    stop: &AtomicBool,
    pb: &dyn Progress,
) -> Result<Outcome, DownloadError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DownloadError::Runtime)?;
    rt.block_on(run(spec, tx, stop, pb))
}

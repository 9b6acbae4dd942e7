//! Source: CloudWatch Logs. EKS writes each audit event as one log event of the group
//! `/aws/eks/<cluster>/cluster`, in streams `kube-apiserver-audit-*` (one per API server).
//!
//! The fetch window (CloudWatch time) is cut into half-open slices ([`slices`]); slice × stream
//! group tasks run with bounded concurrency behind a client-side rate limit (FilterLogEvents
//! allows about 5 requests/s per account and region), follow `nextToken` to the end, retry
//! throttling and 5xx with backoff ([`retry`]), drop duplicates by auditID + stage within a
//! bounded horizon ([`dedup`]), and send each page to the workers as it arrives, as lines
//! `CLOUDWATCH_MS MESSAGE` so a truncated event still has a time.

pub mod dedup;
mod error;
pub mod slices;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;

use super::Chunk;
use crate::aws::client::{ConnectError, connect};
use crate::aws::retry::{self, Policy, Target};
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

#[derive(Default)]
struct Counters {
    events: AtomicU64,
    duplicates: AtomicU64,
    pages: AtomicU64,
    retries: AtomicU64,
    throttles: AtomicU64,
    bytes: AtomicU64,
}

/// A client-side rate limit shared by every task: one call per `period`.
struct RateLimit {
    next: Mutex<Instant>,
    period: Duration,
}

impl RateLimit {
    async fn acquire(&self) {
        let wait = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.period;
            at - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
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
    client: Client,
    spec: &'a Spec,
    region: String,
    counters: Counters,
    limit: RateLimit,
    tx: &'a SyncSender<Chunk>,
    stop: &'a AtomicBool,
    seq: Vec<AtomicU64>,
    bytes: Vec<AtomicU64>,
    save: Option<Mutex<Saver>>,
    pb: &'a dyn Progress,
}

impl Shared<'_> {
    fn target(&self) -> Target<'_> {
        Target {
            log_group: &self.spec.log_group,
            region: &self.region,
            endpoint: self.spec.endpoint_url.as_deref(),
        }
    }
}

async fn client(spec: &Spec) -> Result<(Client, String), ConnectError> {
    connect(
        spec.region.as_deref(),
        spec.profile.as_deref(),
        spec.endpoint_url.as_deref(),
    )
    .await
}

/// Runs `call` under the one retry policy (`aws::retry::with_retries`), counting retries and
/// throttles; once another task failed (`stop`), a failed call is not retried.
async fn with_retries<T, E, F, Fut>(
    sh: &Shared<'_>,
    attempts: u32,
    call: F,
) -> Result<T, DownloadError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
            Output = Result<
                T,
                aws_sdk_cloudwatchlogs::error::SdkError<
                    E,
                    aws_sdk_cloudwatchlogs::config::http::HttpResponse,
                >,
            >,
        >,
    E: aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let policy = Policy {
        max_attempts: attempts,
        deadline: None,
    };
    retry::with_retries(
        policy,
        &sh.target(),
        call,
        |throttled| {
            sh.counters.retries.fetch_add(1, Ordering::Relaxed);
            if throttled {
                sh.counters.throttles.fetch_add(1, Ordering::Relaxed);
            }
        },
        |wait| async move {
            if sh.stop.load(Ordering::Relaxed) {
                return Err(DownloadError::Stopped);
            }
            tokio::time::sleep(wait).await;
            Ok(())
        },
    )
    .await
}

async fn discover(sh: &Shared<'_>) -> Result<Vec<String>, DownloadError> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = with_retries(sh, 3, || {
            sh.client
                .describe_log_streams()
                .log_group_name(&sh.spec.log_group)
                .log_stream_name_prefix(&sh.spec.stream_prefix)
                .set_next_token(token.clone())
                .limit(50)
                .send()
        })
        .await?;
        for s in out.log_streams() {
            let Some(name) = s.log_stream_name() else {
                continue;
            };
            if !name.starts_with(&sh.spec.stream_prefix) {
                continue; // an emulator may ignore the prefix
            }
            // Keep streams whose events may overlap the window; lastEventTimestamp lags up to
            // an hour, so the last ingestion time counts too.
            let first = s
                .first_event_timestamp()
                .or(s.creation_time())
                .unwrap_or(i64::MIN);
            let last = s
                .last_event_timestamp()
                .max(s.last_ingestion_time())
                .unwrap_or(i64::MAX);
            if first < sh.spec.end_ms && last.saturating_add(3_600_000) >= sh.spec.start_ms {
                names.push(name.to_owned());
            }
        }
        token = out
            .next_token()
            .map(str::to_owned)
            .filter(|t| Some(t.as_str()) != token.as_deref());
        if token.is_none() {
            break;
        }
    }
    names.sort();
    Ok(names)
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
        sh.limit.acquire().await;
        let out = with_retries(sh, sh.spec.max_attempts, || {
            sh.client
                .filter_log_events()
                .log_group_name(&sh.spec.log_group)
                .set_log_stream_names(Some(names.clone()))
                .start_time(slice.start_ms)
                .end_time(slice.end_inclusive())
                .set_limit(sh.spec.page_limit)
                .set_next_token(token.clone())
                .send()
        })
        .await?;
        sh.counters.pages.fetch_add(1, Ordering::Relaxed);
        let mut per_stream: Vec<Vec<u8>> = vec![Vec::new(); group.len()];
        for ev in out.events() {
            let (Some(msg), Some(ts)) = (ev.message(), ev.timestamp()) else {
                continue;
            };
            sh.counters.events.fetch_add(1, Ordering::Relaxed);
            sh.counters
                .bytes
                .fetch_add(msg.len() as u64, Ordering::Relaxed);
            if !dedup.first_sight(ts, msg) {
                sh.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let i = ev
                .log_stream_name()
                .and_then(|n| group.iter().position(|s| s.name == n))
                .unwrap_or(0);
            let buf = &mut per_stream[i];
            buf.extend_from_slice(ts.to_string().as_bytes());
            buf.push(b' ');
            buf.extend_from_slice(msg.trim_end().as_bytes());
            buf.push(b'\n');
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
                })
                .is_err()
            {
                return Ok(());
            }
        }
        let events = sh.counters.events.load(Ordering::Relaxed);
        sh.pb.set_message(format!(
            "{events} events, {:.1} MB",
            sh.counters.bytes.load(Ordering::Relaxed) as f64 / 1e6
        ));
        token = out
            .next_token()
            .map(str::to_owned)
            .filter(|t| Some(t.as_str()) != token.as_deref());
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
    let (client, region) = client(spec).await?;
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
        client,
        spec,
        region,
        counters: Counters::default(),
        limit: RateLimit {
            next: Mutex::new(Instant::now()),
            period: Duration::from_secs_f64(1.0 / spec.rate.max(0.01)),
        },
        tx,
        stop,
        seq: Vec::new(),
        bytes: Vec::new(),
        save,
        pb,
    };
    let names = discover(&sh).await?;
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
    let c = &sh.counters;
    let summary = Summary {
        log_group: spec.log_group.clone(),
        region: sh.region.clone(),
        streams: streams.len() as u64,
        slices: slices.len() as u64,
        fetched_from: crate::timefmt::format_rfc3339(spec.start_ms * 1000),
        fetched_until: crate::timefmt::format_rfc3339(spec.end_ms * 1000),
        events_fetched: c.events.load(Ordering::Relaxed),
        duplicates_dropped: c.duplicates.load(Ordering::Relaxed),
        pages: c.pages.load(Ordering::Relaxed),
        retries: c.retries.load(Ordering::Relaxed),
        throttles: c.throttles.load(Ordering::Relaxed),
        bytes: c.bytes.load(Ordering::Relaxed),
        elapsed_s: started.elapsed().as_secs_f64(),
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
    let concurrency = sh.spec.concurrency.max(1);
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

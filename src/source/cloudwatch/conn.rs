//! Source/CloudWatch: what the batch download and following share — the client and its region,
//! the counters, the client-side rate limit (`--rate`), the one retry policy, and stream
//! discovery.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;

use super::dedup::Dedup;
use super::{DownloadError, Spec, Summary};
use crate::aws::client::connect;
use crate::aws::retry::{self, Policy, Target};

/// What the calls did, for the summary.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) events: AtomicU64,
    pub(super) duplicates: AtomicU64,
    pub(super) pages: AtomicU64,
    pub(super) retries: AtomicU64,
    pub(super) throttles: AtomicU64,
    pub(super) bytes: AtomicU64,
}

impl Counters {
    pub(super) fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::Relaxed)
    }

    pub(super) fn add(n: &AtomicU64, by: u64) {
        n.fetch_add(by, Ordering::Relaxed);
    }

    /// Counts one received event and whether `dedup` has seen it; `true` when it is new.
    pub(super) fn first_sight(&self, dedup: &mut Dedup, ts_ms: i64, message: &str) -> bool {
        Self::add(&self.events, 1);
        Self::add(&self.bytes, message.len() as u64);
        let new = dedup.first_sight(ts_ms, message);
        if !new {
            Self::add(&self.duplicates, 1);
        }
        new
    }
}

/// A client-side rate limit shared by every task: one call per `period`.
pub(super) struct RateLimit {
    next: Mutex<Instant>,
    period: Duration,
}

impl RateLimit {
    /// `rate` calls per second (at least one per 100 s).
    pub(super) fn new(rate: f64) -> Self {
        Self {
            next: Mutex::new(Instant::now()),
            period: Duration::from_secs_f64(1.0 / rate.max(0.01)),
        }
    }

    pub(super) async fn acquire(&self) {
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

/// A connected client with what every call needs: the spec, the counters, the rate limit.
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) spec: Spec,
    pub(super) region: String,
    pub(super) counters: Counters,
    pub(super) limit: RateLimit,
}

impl Conn {
    /// Connects per `spec` (region, profile, endpoint).
    pub(super) async fn new(spec: &Spec) -> Result<Self, DownloadError> {
        let (client, region) = connect(
            spec.region.as_deref(),
            spec.profile.as_deref(),
            spec.endpoint_url.as_deref(),
        )
        .await?;
        Ok(Self {
            client,
            spec: spec.clone(),
            region,
            counters: Counters::default(),
            limit: RateLimit::new(spec.rate),
        })
    }

    /// The summary of `streams` streams read from `from_ms` to `until_ms` (exclusive) since
    /// `started`, with the counters so far (no slices, no polls: the caller sets them).
    pub(super) fn summary(
        &self,
        streams: usize,
        from_ms: i64,
        until_ms: i64,
        started: Instant,
    ) -> Summary {
        let c = &self.counters;
        Summary {
            log_group: self.spec.log_group.clone(),
            region: self.region.clone(),
            streams: streams as u64,
            slices: 0,
            polls: None,
            fetched_from: crate::timefmt::format_rfc3339(from_ms * 1000),
            fetched_until: crate::timefmt::format_rfc3339(until_ms * 1000),
            events_fetched: Counters::get(&c.events),
            duplicates_dropped: Counters::get(&c.duplicates),
            pages: Counters::get(&c.pages),
            retries: Counters::get(&c.retries),
            throttles: Counters::get(&c.throttles),
            bytes: Counters::get(&c.bytes),
            elapsed_s: started.elapsed().as_secs_f64(),
        }
    }

    fn target(&self) -> Target<'_> {
        Target {
            log_group: &self.spec.log_group,
            region: &self.region,
            endpoint: self.spec.endpoint_url.as_deref(),
        }
    }
}

/// Runs `call` under the one retry policy (`aws::retry::with_retries`), counting retries and
/// throttles; once `stop` is set (another task failed), a failed call is not retried.
pub(super) async fn with_retries<T, E, F, Fut>(
    conn: &Conn,
    attempts: u32,
    stop: &AtomicBool,
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
    let c = &conn.counters;
    retry::with_retries(
        policy,
        &conn.target(),
        call,
        |throttled| {
            Counters::add(&c.retries, 1);
            if throttled {
                Counters::add(&c.throttles, 1);
            }
        },
        |wait| async move {
            if stop.load(Ordering::Relaxed) {
                return Err(DownloadError::Stopped);
            }
            tokio::time::sleep(wait).await;
            Ok(())
        },
    )
    .await
}

/// The group's audit streams (by `stream_prefix`) whose events may overlap the spec's window,
/// sorted by name.
pub(super) async fn discover(conn: &Conn, stop: &AtomicBool) -> Result<Vec<String>, DownloadError> {
    let spec = &conn.spec;
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = with_retries(conn, 3, stop, || {
            conn.client
                .describe_log_streams()
                .log_group_name(&spec.log_group)
                .log_stream_name_prefix(&spec.stream_prefix)
                .set_next_token(token.clone())
                .limit(50)
                .send()
        })
        .await?;
        for s in out.log_streams() {
            let Some(name) = s.log_stream_name() else {
                continue;
            };
            if !name.starts_with(&spec.stream_prefix) {
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
            if first < spec.end_ms && last.saturating_add(3_600_000) >= spec.start_ms {
                names.push(name.to_owned());
            }
        }
        token = next_token(out.next_token(), token.as_deref());
        if token.is_none() {
            break;
        }
    }
    names.sort();
    Ok(names)
}

/// The answer's `nextToken`, unless it is the one just asked with (the end, as some
/// emulators say it).
pub(super) fn next_token(answered: Option<&str>, asked: Option<&str>) -> Option<String> {
    answered.filter(|t| Some(*t) != asked).map(str::to_owned)
}

/// One event as a line for the decoder: `CLOUDWATCH_MS MESSAGE\n`, so a message CloudWatch cut
/// still has a time.
pub(super) fn push_line(buf: &mut Vec<u8>, ts_ms: i64, message: &str) {
    buf.extend_from_slice(ts_ms.to_string().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(message.trim_end().as_bytes());
    buf.push(b'\n');
}

/// An input's name in the report: `cloudwatch:GROUP/STREAM`.
#[must_use]
pub fn input_name(log_group: &str, stream: &str) -> String {
    format!("cloudwatch:{log_group}/{stream}")
}

//! AWS: the one retry policy of every CloudWatch Logs call (the download's FilterLogEvents and
//! DescribeLogStreams, Logs Insights' StartQuery, GetQueryResults and DescribeIndexPolicies):
//! throttling, 5xx, timeouts and I/O are retried with exponential backoff and full jitter, up to
//! an attempt cap and within the caller's budget ([`with_retries`]); the rest becomes one line
//! that says what to do ([`classify`]).

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};

type HttpResponse = aws_sdk_cloudwatchlogs::config::http::HttpResponse;

/// The verdict on a failed call.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Try again; `throttled` when the service said slow down.
    Retry {
        /// ThrottlingException and its kin, or HTTP 429.
        throttled: bool,
        /// Why, for the last attempt's message.
        why: String,
    },
    /// Give up with this message.
    Fatal(String),
}

/// Where the call went, for messages.
pub struct Target<'a> {
    /// The log group.
    pub log_group: &'a str,
    /// The region.
    pub region: &'a str,
    /// The endpoint, if overridden.
    pub endpoint: Option<&'a str>,
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn status(raw: &HttpResponse) -> u16 {
    raw.status().as_u16()
}

/// Classifies an SDK error.
pub fn classify<E>(err: &SdkError<E, HttpResponse>, t: &Target) -> Verdict
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = chain(err);
    if text.to_ascii_lowercase().contains("credential") && !matches!(err, SdkError::ServiceError(_))
    {
        return Verdict::Fatal(
            "no AWS credentials found: set AWS_PROFILE (or pass --profile), run `aws sso login`, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".into(),
        );
    }
    match err {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let msg = se.err().message().unwrap_or("");
            let st = status(se.raw());
            match code {
                "ThrottlingException"
                | "LimitExceededException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException" => Verdict::Retry {
                    throttled: true,
                    why: format!("{code}: {msg}"),
                },
                "ResourceNotFoundException" => Verdict::Fatal(format!(
                    "log group '{}' not found in region {}: check --cluster/--log-group and --region, and that the cluster's audit log is enabled (aws eks update-cluster-config --logging '{{\"clusterLogging\":[{{\"types\":[\"audit\"],\"enabled\":true}}]}}')",
                    t.log_group, t.region
                )),
                "AccessDeniedException" | "AccessDenied" => Verdict::Fatal(format!(
                    "access denied reading '{}': the identity needs logs:DescribeLogStreams and logs:FilterLogEvents on it ({msg})",
                    t.log_group
                )),
                "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException"
                | "InvalidClientTokenId" => Verdict::Fatal(format!(
                    "AWS rejected the credentials ({code}): refresh them (aws sso login) or pick another --profile"
                )),
                _ if st == 429 => Verdict::Retry {
                    throttled: true,
                    why: format!("HTTP 429 {code}"),
                },
                _ if st >= 500 => Verdict::Retry {
                    throttled: false,
                    why: format!("HTTP {st} {code} {msg}"),
                },
                _ => Verdict::Fatal(format!(
                    "CloudWatch Logs refused the request: {code} (HTTP {st}): {msg}"
                )),
            }
        }
        SdkError::TimeoutError(_) => Verdict::Retry {
            throttled: false,
            why: "timeout".into(),
        },
        SdkError::ResponseError(_) => Verdict::Retry {
            throttled: false,
            why: text,
        },
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Verdict::Retry {
            throttled: false,
            why: format!(
                "cannot reach CloudWatch Logs at {}: {text}",
                t.endpoint
                    .map_or_else(|| format!("its {} endpoint", t.region), str::to_owned)
            ),
        },
        _ => Verdict::Fatal(format!("CloudWatch Logs call failed: {text}")),
    }
}

/// The first retry waits up to this long; each further one doubles it, up to a cap.
pub const BASE: Duration = Duration::from_millis(100);
/// The longest wait after a throttled call: the service asked to slow down.
pub const THROTTLED_CAP: Duration = Duration::from_secs(20);
/// The longest wait after a 5xx, a timeout or an I/O error.
pub const OTHER_CAP: Duration = Duration::from_secs(5);

/// How many times to try a call, and until when.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts per call, the first included (`--max-attempts`); at least one is made.
    pub max_attempts: u32,
    /// No retry sleeps past this moment (a query's `--timeout`); `None`: no budget.
    pub deadline: Option<Instant>,
}

/// A call that failed for good: refused, or retried until the policy gave up.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetryError {
    /// A failure retrying cannot fix ([`Verdict::Fatal`]): what to do, in one line.
    #[error("{0}")]
    Refused(String),
    /// Every attempt failed; `why` is the last failure.
    #[error("{why} (gave up after {attempts} attempts)")]
    GaveUp {
        /// The last failure.
        why: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The next wait would end past the caller's deadline.
    #[error("{why} (gave up after {attempts} attempts: the time allowed ran out)")]
    OutOfTime {
        /// The last failure.
        why: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// For callers that still carry their errors as text (the Logs Insights engine).
impl From<RetryError> for String {
    fn from(e: RetryError) -> Self {
        e.to_string()
    }
}

/// Runs `call` until it succeeds, fails for good, or the policy gives up. Before each retry,
/// `retried(throttled)` is told (the download counts them) and `sleep(wait)` waits; a sleep that
/// answers `Err(why)` (Ctrl-C, another task's fatal error) ends the retrying with that error.
///
/// # Errors
/// The classified failure, or why retrying stopped ([`RetryError`], in the caller's error type).
pub async fn with_retries<T, E, Er, F, Fut, S, SFut>(
    policy: Policy,
    target: &Target<'_>,
    mut call: F,
    mut retried: impl FnMut(bool),
    mut sleep: S,
) -> Result<T, Er>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    Er: From<RetryError>,
    S: FnMut(Duration) -> SFut,
    SFut: Future<Output = Result<(), Er>>,
{
    let mut attempts = 0;
    loop {
        let (throttled, why) = match call().await {
            Ok(v) => return Ok(v),
            Err(e) => match classify(&e, target) {
                Verdict::Fatal(m) => return Err(RetryError::Refused(m).into()),
                Verdict::Retry { throttled, why } => (throttled, why),
            },
        };
        attempts += 1;
        if attempts >= policy.max_attempts {
            return Err(RetryError::GaveUp { why, attempts }.into());
        }
        let cap = if throttled { THROTTLED_CAP } else { OTHER_CAP };
        let wait = backoff(attempts, BASE, cap, crate::aws::client::jitter());
        if policy.deadline.is_some_and(|d| Instant::now() + wait >= d) {
            return Err(RetryError::OutOfTime { why, attempts }.into());
        }
        retried(throttled);
        sleep(wait).await?;
    }
}

/// Backoff before attempt `attempt` (1-based retry count): full jitter over
/// `min(cap, base·2^attempt)`.
#[must_use]
pub fn backoff(attempt: u32, base: Duration, cap: Duration, rand01: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16));
    exp.min(cap).mul_f64(rand01.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsError;
    use std::cell::Cell;

    /// Runs `with_retries` over a call that times out `fails` times, then answers 7; sleeps
    /// are recorded, not slept.
    fn attempt(fails: u32, policy: Policy) -> (Result<i32, RetryError>, u32, Vec<Duration>) {
        let t = Target {
            log_group: "g",
            region: "r",
            endpoint: None,
        };
        let calls = Cell::new(0);
        let mut retried = 0;
        let mut slept = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = rt.block_on(with_retries(
            policy,
            &t,
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n <= fails {
                        Err(SdkError::<GetQueryResultsError, HttpResponse>::timeout_error("slow"))
                    } else {
                        Ok(7)
                    }
                }
            },
            |throttled| {
                assert!(!throttled);
                retried += 1;
            },
            |d| {
                slept.push(d);
                async { Ok(()) }
            },
        ));
        assert_eq!(calls.get(), retried + 1);
        (out, retried, slept)
    }

    #[test]
    fn retries_until_the_attempt_cap_or_the_budget() {
        let policy = |max_attempts, deadline| Policy {
            max_attempts,
            deadline,
        };
        let (out, retried, slept) = attempt(2, policy(3, None));
        assert_eq!((out, retried), (Ok(7), 2));
        assert!(slept.iter().all(|d| *d <= OTHER_CAP));
        let (out, retried, _) = attempt(5, policy(3, None));
        assert_eq!(retried, 2);
        let e = out.unwrap_err();
        assert_eq!(
            e,
            RetryError::GaveUp {
                why: "timeout".into(),
                attempts: 3
            }
        );
        assert_eq!(e.to_string(), "timeout (gave up after 3 attempts)");
        // No time left: the first failure is the last.
        let (out, retried, _) = attempt(1, policy(3, Some(Instant::now())));
        assert_eq!(retried, 0);
        assert!(
            out.unwrap_err()
                .to_string()
                .contains("the time allowed ran out")
        );
        let (out, retried, _) = attempt(0, policy(1, Some(Instant::now())));
        assert_eq!((out, retried), (Ok(7), 0));
    }

    #[test]
    fn backoff_grows_and_caps() {
        let b = Duration::from_millis(100);
        let c = Duration::from_secs(5);
        assert_eq!(backoff(1, b, c, 1.0), Duration::from_millis(200));
        assert_eq!(backoff(10, b, c, 1.0), c);
        assert_eq!(backoff(3, b, c, 0.0), Duration::ZERO);
    }
}

//! Source/CloudWatch: what to do with a failed call — retry throttling, 5xx, timeouts and I/O
//! with exponential backoff and full jitter; turn the rest into one line that says what to do.

use std::time::Duration;

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

    #[test]
    fn backoff_grows_and_caps() {
        let b = Duration::from_millis(100);
        let c = Duration::from_secs(5);
        assert_eq!(backoff(1, b, c, 1.0), Duration::from_millis(200));
        assert_eq!(backoff(10, b, c, 1.0), c);
        assert_eq!(backoff(3, b, c, 0.0), Duration::ZERO);
    }
}

//! AWS: the CloudWatch Logs client — region, profile and endpoint from plain arguments, SDK
//! retries off (callers retry per [`super::retry::classify`]) — shared by the download and the
//! Logs Insights engine.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Region};

/// A fraction in [0, 1) for backoff jitter, from the clock's nanoseconds.
pub(crate) fn jitter() -> f64 {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(n % 1000) / 1000.0
}

/// No client can be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Neither the flag, the environment nor the AWS profile names a region.
    #[error("no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)")]
    NoRegion,
}

/// For callers that still carry their errors as text (the Logs Insights engine).
impl From<ConnectError> for String {
    fn from(e: ConnectError) -> Self {
        e.to_string()
    }
}

/// A client (SDK retries off: callers retry per [`super::retry::classify`]) and its region.
///
/// # Errors
/// No region configured.
pub async fn connect(
    region: Option<&str>,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
) -> Result<(Client, String), ConnectError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_owned()));
    }
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let conf = loader.load().await;
    let region = conf
        .region()
        .map(ToString::to_string)
        .ok_or(ConnectError::NoRegion)?;
    let cw = aws_sdk_cloudwatchlogs::config::Builder::from(&conf)
        .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled())
        .build();
    Ok((Client::from_conf(cw), region))
}

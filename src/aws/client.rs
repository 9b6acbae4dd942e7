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

/// A client (SDK retries off: callers retry per [`super::retry::classify`]) and its region.
///
/// # Errors
/// No region configured.
pub async fn connect(
    region: Option<&str>,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
) -> Result<(Client, String), String> {
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
    let region = conf.region().map(ToString::to_string).ok_or(
        "no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)",
    )?;
    let cw = aws_sdk_cloudwatchlogs::config::Builder::from(&conf)
        .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled())
        .build();
    Ok((Client::from_conf(cw), region))
}

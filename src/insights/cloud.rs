//! Insights: running a query on CloudWatch Logs Insights — StartQuery (whole seconds, so the
//! query itself carries exact `@timestamp` bounds in ms), GetQueryResults polled with backoff
//! until the query ends, throttling and 5xx retried under the one policy (`aws::retry`), the query stopped on Ctrl-C or
//! when the wait times out. The statistics (bytes scanned: the bill) are returned with the rows.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::QueryStatus;
use serde::Serialize;

use super::output::{ResultSet, result_set};
use super::{indexes, interrupt};
use crate::aws::retry::{Policy, Target, with_retries};

/// What to query, and how long to wait.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Log group.
    pub log_group: String,
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
    /// Attempts per call.
    pub max_attempts: u32,
    /// Longest wait for the query to finish.
    pub timeout: Duration,
}

/// GetQueryResults statistics (absent from emulators).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Statistics {
    /// Bytes the query scanned: what Logs Insights bills.
    pub bytes_scanned: Option<f64>,
    /// Log events scanned.
    pub records_scanned: Option<f64>,
    /// Log events that matched.
    pub records_matched: Option<f64>,
}

/// A finished query.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The service's query id.
    pub query_id: String,
    /// Region used.
    pub region: String,
    /// `Complete`.
    pub status: String,
    /// Rows.
    pub result: ResultSet,
    /// Statistics.
    pub statistics: Statistics,
    /// Calls retried (throttling, 5xx).
    pub retries: u32,
}

/// The query sent: exact half-open `@timestamp` bounds in ms ahead of the template, since
/// StartQuery only takes whole seconds. `toMillis(@timestamp)` is the documented way to compare
/// the timestamp with epoch ms (CWL_QuerySyntax-operations-functions, datetime functions).
#[must_use]
pub fn bounded_query(body: &str, start_ms: i64, end_ms: i64) -> String {
    format!(
        "filter toMillis(@timestamp) >= {start_ms} and toMillis(@timestamp) < {end_ms}\n| {body}"
    )
}

struct Caller<'a> {
    client: Client,
    spec: &'a Spec,
    region: String,
    retries: u32,
    /// The end of `--timeout`: no retry sleeps past it.
    deadline: Instant,
}

impl<'a> Caller<'a> {
    /// A client for `spec`; `--timeout` starts now.
    async fn connect(spec: &'a Spec) -> Result<Self, String> {
        let (client, region) = crate::aws::client::connect(
            spec.region.as_deref(),
            spec.profile.as_deref(),
            spec.endpoint_url.as_deref(),
        )
        .await?;
        Ok(Self {
            client,
            spec,
            region,
            retries: 0,
            deadline: Instant::now() + spec.timeout,
        })
    }

    /// Runs `call` under the one retry policy ([`with_retries`]); a Ctrl-C ends its sleeps.
    async fn call<T, E, F, Fut>(&mut self, mut call: F) -> Result<T, String>
    where
        F: FnMut(Client) -> Fut,
        Fut: Future<
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
        let target = Target {
            log_group: &self.spec.log_group,
            region: &self.region,
            endpoint: self.spec.endpoint_url.as_deref(),
        };
        let policy = Policy {
            max_attempts: self.spec.max_attempts,
            deadline: Some(self.deadline),
        };
        let client = &self.client;
        let retries = &mut self.retries;
        with_retries(
            policy,
            &target,
            || call(client.clone()),
            |_| *retries += 1,
            |wait| async move {
                if sleep_or_interrupt(wait).await {
                    Err("interrupted while retrying a call".to_owned())
                } else {
                    Ok(())
                }
            },
        )
        .await
    }
}

/// Why polling stopped without a result.
enum Stop {
    Interrupted,
    TimedOut,
}

async fn poll(c: &mut Caller<'_>, id: &str) -> Result<Result<Outcome, Stop>, String> {
    let started = Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        // Checked first: a Ctrl-C while StartQuery was on its way stops the query unpolled.
        if interrupt::requested() {
            return Ok(Err(Stop::Interrupted));
        }
        let out = match c
            .call(|cl| cl.get_query_results().query_id(id).send())
            .await
        {
            Ok(out) => out,
            Err(_) if interrupt::requested() => return Ok(Err(Stop::Interrupted)),
            Err(e) => return Err(e),
        };
        match out.status() {
            Some(QueryStatus::Complete) => {
                let rows: Vec<Vec<(String, String)>> = out
                    .results()
                    .iter()
                    .map(|r| {
                        r.iter()
                            .filter_map(|f| Some((f.field()?.to_owned(), f.value()?.to_owned())))
                            .collect()
                    })
                    .collect();
                let statistics =
                    out.statistics()
                        .map_or_else(Statistics::default, |s| Statistics {
                            bytes_scanned: Some(s.bytes_scanned()),
                            records_scanned: Some(s.records_scanned()),
                            records_matched: Some(s.records_matched()),
                        });
                return Ok(Ok(Outcome {
                    query_id: id.to_owned(),
                    region: c.region.clone(),
                    status: "Complete".into(),
                    result: result_set(&rows),
                    statistics,
                    retries: c.retries,
                }));
            }
            Some(QueryStatus::Failed) => {
                return Err(format!(
                    "Logs Insights query {id} failed: the service rejected or could not run it; check it with `audit-scan queries show` and in the console"
                ));
            }
            Some(QueryStatus::Cancelled) => {
                return Err(format!(
                    "Logs Insights query {id} was cancelled (StopQuery, or the console); run it again"
                ));
            }
            Some(QueryStatus::Timeout) => {
                return Err(format!(
                    "Logs Insights query {id} timed out on the service (60 minutes): narrow --since/--until"
                ));
            }
            _ => {}
        }
        if started.elapsed() >= c.spec.timeout {
            return Ok(Err(Stop::TimedOut));
        }
        let interrupted = sleep_or_interrupt(wait).await;
        if interrupted {
            return Ok(Err(Stop::Interrupted));
        }
        wait = (wait.mul_f64(1.5)).min(Duration::from_secs(5));
    }
}

/// Sleeps; true when Ctrl-C came first (checked every 50 ms).
async fn sleep_or_interrupt(d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        if interrupt::requested() {
            return true;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tokio::time::sleep(left.min(Duration::from_millis(50))).await;
    }
}

async fn run_async(spec: &Spec, body: &str, start_ms: i64, end_ms: i64) -> Result<Outcome, String> {
    let mut c = Caller::connect(spec).await?;
    interrupt::install();
    if interrupt::requested() {
        return Err("interrupted: no query started".to_owned());
    }
    let query = bounded_query(body, start_ms, end_ms);
    let (start_s, end_s) = (start_ms.div_euclid(1000), (end_ms + 999).div_euclid(1000));
    let started = c
        .call(|cl| {
            cl.start_query()
                .log_group_name(&spec.log_group)
                .start_time(start_s)
                .end_time(end_s)
                .query_string(&query)
                .send()
        })
        .await?;
    let id = started
        .query_id()
        .ok_or("StartQuery returned no query id")?
        .to_owned();
    match poll(&mut c, &id).await? {
        Ok(o) => Ok(o),
        Err(stop) => {
            // Best effort: a query left running keeps scanning, and billing, for up to an hour.
            let stopped = c.client.stop_query().query_id(&id).send().await.is_ok();
            let what = if stopped {
                "stopped it"
            } else {
                "could not stop it (StopQuery failed)"
            };
            Err(match stop {
                Stop::Interrupted => format!("interrupted: {what} (query {id})"),
                Stop::TimedOut => format!(
                    "query {id} did not finish within --timeout {:?}; {what}",
                    spec.timeout
                ),
            })
        }
    }
}

async fn index_policy_async(spec: &Spec) -> Result<Option<indexes::Policy>, String> {
    let mut c = Caller::connect(spec).await?;
    let out = c
        .call(|cl| {
            cl.describe_index_policies()
                .log_group_identifiers(&spec.log_group)
                .send()
        })
        .await
        .map_err(|e| {
            format!("--use-field-indexes: cannot read the log group's field index policy (DescribeIndexPolicies): {e}")
        })?;
    Ok(out.index_policies().first().map(|p| indexes::Policy {
        document: p.policy_document().unwrap_or_default().to_owned(),
        last_update_ms: p.last_update_time(),
    }))
}

/// Before `filterIndex` queries run over a window from `start_ms`: the log group's field index
/// policy must index every field they read, for the whole window ([`indexes::check`]).
///
/// # Errors
/// The policy cannot be read, or does not cover the queries: one line.
pub fn check_field_indexes<'a>(
    spec: &Spec,
    queries: impl IntoIterator<Item = &'a str>,
    start_ms: i64,
) -> Result<(), String> {
    let fields = indexes::fields(queries);
    if fields.is_empty() {
        return Ok(());
    }
    let policy = runtime()?.block_on(index_policy_async(spec))?;
    indexes::check(&spec.log_group, policy.as_ref(), &fields, start_ms)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Runs `body` over `[start_ms, end_ms)` and waits for its rows.
///
/// # Errors
/// One line saying what went wrong and what to do.
pub fn run(spec: &Spec, body: &str, start_ms: i64, end_ms: i64) -> Result<Outcome, String> {
    runtime()?.block_on(run_async(spec, body, start_ms, end_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_either_timestamp_form() {
        let rows = vec![
            vec![
                ("@ptr".to_owned(), "x".to_owned()),
                ("@timestamp".to_owned(), "1714557600123".to_owned()),
            ],
            vec![
                (
                    "@timestamp".to_owned(),
                    "2024-05-01 10:00:00.456".to_owned(),
                ),
                ("verb".to_owned(), "list".to_owned()),
            ],
        ];
        let rs = result_set(&rows);
        assert_eq!(rs.columns, ["@timestamp", "verb"]);
        assert_eq!(rs.rows[0], [Some("2024-05-01 10:00:00.123".into()), None]);
        assert_eq!(
            rs.rows[1],
            [Some("2024-05-01 10:00:00.456".into()), Some("list".into())]
        );
        assert!(bounded_query("stats count(*)", 1500, 2500).starts_with(
            "filter toMillis(@timestamp) >= 1500 and toMillis(@timestamp) < 2500\n| stats"
        ));
    }
}

//! A cloud-shaped Logs Insights endpoint for tests: a loopback proxy in front of moto that
//! answers StartQuery, GetQueryResults and StopQuery the way the AWS API reference documents
//! them, evaluating the query with audit-scan's local evaluator over the events moto holds
//! (read back through the real SDK with FilterLogEvents). Every other call goes on to moto.
//!
//! What it reproduces (API_GetQueryResults, API_StartQuery, API_QueryStatistics):
//! - rows are lists of `{field, value}`, every value a string; a null field is left out of its
//!   row, so a column null in every row is absent from the whole answer; each row has `@ptr`;
//! - `@timestamp` is the CloudWatch event time, `@logStream` the stream;
//! - statuses Scheduled, then Running (partial statistics, no rows), then Complete;
//! - `statistics` with `recordsMatched`, `recordsScanned`, `bytesScanned`;
//! - at most 10,000 rows (or StartQuery's `limit`);
//! - `Timeout` for a query whose text holds a marker the test chose; StopQuery → Cancelled;
//! - a query the evaluator cannot parse → MalformedQueryException, as StartQuery does;
//! - field indexes (CloudWatchLogs-Field-Indexing, CWL_QuerySyntax-FilterIndex): PutIndexPolicy
//!   and DescribeIndexPolicies keep one policy per log group (moto has neither); a query with
//!   `filterIndex` skips a log group not indexed on its field (nothing scanned, no rows), and
//!   in an indexed one scans only the events ingested after the policy whose field holds one of
//!   the values, and bills only those.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_scan::insights::eval::Event;
use audit_scan::insights::local;
use serde_json::{Value, json};

use super::moto::{client, forward, proxy, read_message, runtime};

/// GetQueryResults returns at most this many rows.
pub const ROW_CAP: usize = 10_000;

/// One query the service answered, for the test to look at.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The query text as sent.
    pub query: String,
    /// StartQuery's window, epoch seconds.
    pub start_s: i64,
    /// StartQuery's window, epoch seconds.
    pub end_s: i64,
    /// Columns that appear in at least one row (`@ptr` left out).
    pub columns: BTreeSet<String>,
    /// Rows returned (after the cap).
    pub rows: usize,
    /// Bytes scanned.
    pub bytes: u64,
}

enum Outcome {
    Rows(Vec<Vec<(String, String)>>),
    Timeout,
}

struct Query {
    polls: u32,
    stopped: bool,
    outcome: Outcome,
    scanned: u64,
    matched: u64,
    bytes: u64,
}

/// A log group's field index policy.
#[derive(Debug, Clone)]
struct IndexPolicy {
    document: String,
    fields: BTreeSet<String>,
    /// When it was put (epoch ms): events ingested earlier are not indexed.
    at_ms: i64,
}

#[derive(Default)]
struct State {
    queries: Mutex<HashMap<String, Query>>,
    policies: Mutex<HashMap<String, IndexPolicy>>,
    answered: Mutex<Vec<Answered>>,
    next_id: AtomicU64,
    timeout_marker: Option<String>,
}

/// The running endpoint.
pub struct Service {
    /// `http://127.0.0.1:PORT`: pass as `--endpoint-url`.
    pub endpoint: String,
    state: Arc<State>,
}

impl Service {
    /// Starts the endpoint in front of moto at `upstream`.
    pub fn start(upstream: &str) -> Self {
        Self::with_timeout_marker(upstream, None)
    }

    /// As [`Service::start`]; a query whose text contains `marker` ends `Timeout`.
    pub fn with_timeout_marker(upstream: &str, marker: Option<&str>) -> Self {
        let state = Arc::new(State {
            timeout_marker: marker.map(str::to_owned),
            ..State::default()
        });
        let st = state.clone();
        let moto = upstream.to_owned();
        let endpoint = proxy(upstream, move |conn, up, _| serve(conn, up, &moto, &st));
        Self { endpoint, state }
    }

    /// Every query answered so far (StartQuery order).
    pub fn answered(&self) -> Vec<Answered> {
        self.state.answered.lock().unwrap().clone()
    }
}

fn serve(mut conn: TcpStream, up: &str, moto: &str, st: &State) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (head, body) = read_message(&mut conn)?;
    if head.is_empty() {
        return Ok(());
    }
    let target = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("x-amz-target")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = match target.rsplit('.').next().unwrap_or("") {
        "StartQuery" => start_query(&req, moto, st),
        "GetQueryResults" => get_query_results(&req, st),
        "StopQuery" => stop_query(&req, st),
        "PutIndexPolicy" => put_index_policy(&req, st),
        "DescribeIndexPolicies" => describe_index_policies(&req, st),
        _ => {
            let (rhead, rbody) = forward(up, &head, &body)?;
            conn.write_all(rhead.as_bytes())?;
            conn.write_all(b"\r\n\r\n")?;
            return conn.write_all(&rbody);
        }
    };
    let (status, kind, doc) = match answer {
        Ok(doc) => ("200 OK", None, doc),
        Err((kind, message)) => (
            "400 Bad Request",
            Some(kind),
            json!({"__type": kind, "message": message}),
        ),
    };
    let body = doc.to_string();
    let mut reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(kind) = kind {
        let _ = write!(reply, "x-amzn-ErrorType: {kind}\r\n");
    }
    reply.push_str("\r\n");
    conn.write_all(reply.as_bytes())?;
    conn.write_all(body.as_bytes())
}

type Answer = Result<Value, (&'static str, String)>;

/// The log group named by StartQuery (`logGroupName`, else the first of the lists).
fn group_of(req: &Value) -> Option<String> {
    req["logGroupName"].as_str().map(str::to_owned).or_else(|| {
        ["logGroupNames", "logGroupIdentifiers"]
            .iter()
            .find_map(|k| req[*k].get(0)?.as_str().map(str::to_owned))
    })
}

fn policy_json(group: &str, p: &IndexPolicy) -> Value {
    json!({
        "logGroupIdentifier": group,
        "lastUpdateTime": p.at_ms,
        "policyDocument": p.document,
        "policyName": "audit-scan-test",
        "source": "LOG_GROUP",
    })
}

fn put_index_policy(req: &Value, st: &State) -> Answer {
    let group = req["logGroupIdentifier"].as_str().unwrap_or_default();
    let document = req["policyDocument"].as_str().unwrap_or_default();
    let fields: BTreeSet<String> = serde_json::from_str::<Value>(document)
        .ok()
        .and_then(|d| {
            d["Fields"].as_array().map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .filter(|f: &BTreeSet<String>| !f.is_empty())
        .ok_or((
            "InvalidParameterException",
            "the policy document must name at least one field in \"Fields\"".to_owned(),
        ))?;
    let p = IndexPolicy {
        document: document.to_owned(),
        fields,
        at_ms: chrono::Utc::now().timestamp_millis(),
    };
    let doc = json!({ "indexPolicy": policy_json(group, &p) });
    st.policies.lock().unwrap().insert(group.to_owned(), p);
    Ok(doc)
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every handler answers an `Answer`; this one cannot fail"
)]
fn describe_index_policies(req: &Value, st: &State) -> Answer {
    let policies = st.policies.lock().unwrap();
    let found: Vec<Value> = req["logGroupIdentifiers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| {
            let g = g.as_str()?;
            Some(policy_json(g, policies.get(g)?))
        })
        .collect();
    Ok(json!({ "indexPolicies": found }))
}

/// The events a query reads: all of them, or with `filterIndex` those the log group's index
/// holds (ingested after its policy, the field holding one of the values); none when the log
/// group is not indexed on the field.
fn indexed(
    text: &str,
    query: &local::Query,
    policy: Option<IndexPolicy>,
    events: Vec<(i64, Event)>,
) -> Result<Vec<Event>, (&'static str, String)> {
    let fields: BTreeSet<&str> = query.index_filters().map(|f| f.field.as_str()).collect();
    if fields.is_empty() {
        return Ok(events.into_iter().map(|(_, e)| e).collect());
    }
    let Some(p) = policy.filter(|p| fields.iter().all(|f| p.fields.contains(*f))) else {
        return Ok(Vec::new());
    };
    // The query's filterIndex commands alone decide what the index holds.
    let only: Vec<&str> = text
        .lines()
        .map(|l| l.trim().trim_start_matches('|').trim())
        .filter(|l| l.starts_with("filterIndex"))
        .collect();
    let lookup =
        local::Query::new(&only.join("\n| ")).map_err(|e| ("MalformedQueryException", e))?;
    Ok(events
        .into_iter()
        .filter(|(ingested, e)| {
            *ingested >= p.at_ms && local::run(&lookup, std::iter::once(e.clone())).2 == 1
        })
        .map(|(_, e)| e)
        .collect())
}

/// Every event of `group` with CloudWatch time in `[start_ms, end_ms]` (FilterLogEvents' bounds
/// are inclusive), with its ingestion time, as the evaluator's events: JSON, message,
/// CloudWatch time, stream.
fn events_in(
    moto: &str,
    group: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<(i64, Event)>, String> {
    let c = client(moto);
    runtime().block_on(async {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = c
                .filter_log_events()
                .log_group_name(group)
                .start_time(start_ms)
                .end_time(end_ms)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            for e in page.events() {
                let message = e.message().unwrap_or_default().to_owned();
                out.push((
                    e.ingestion_time().unwrap_or(0),
                    Event {
                        json: serde_json::from_str(&message).unwrap_or(Value::Null),
                        message,
                        timestamp: e.timestamp(),
                        log_stream: e.log_stream_name().map(str::to_owned),
                    },
                ));
            }
            match page.next_token() {
                Some(t) if Some(t) != token.as_deref() => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    })
}

fn start_query(req: &Value, moto: &str, st: &State) -> Answer {
    let text = req["queryString"].as_str().unwrap_or_default().to_owned();
    let group = group_of(req).ok_or((
        "InvalidParameterException",
        "no log group in StartQuery".to_owned(),
    ))?;
    let (start_s, end_s) = (
        req["startTime"].as_i64().unwrap_or(0),
        req["endTime"].as_i64().unwrap_or(0),
    );
    let cap = req["limit"]
        .as_u64()
        .map_or(ROW_CAP, |l| usize::try_from(l).unwrap_or(ROW_CAP))
        .min(ROW_CAP);
    let query = local::Query::new(&text).map_err(|e| ("MalformedQueryException", e))?;
    let events = events_in(moto, &group, start_s * 1000, end_s * 1000)
        .map_err(|e| ("ResourceNotFoundException", e))?;
    let policy = st.policies.lock().unwrap().get(&group).cloned();
    let events = indexed(&text, &query, policy, events)?;
    let bytes: u64 = events.iter().map(|e| e.message.len() as u64).sum();
    let (result, scanned, matched) = local::run(&query, events.into_iter());
    let id = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        std::process::id(),
        st.next_id.fetch_add(1, Ordering::SeqCst)
    );
    // A row is its non-null fields only, plus the record pointer.
    let rows: Vec<Vec<(String, String)>> = result
        .rows
        .iter()
        .take(cap)
        .enumerate()
        .map(|(i, row)| {
            let mut fields: Vec<(String, String)> = result
                .columns
                .iter()
                .zip(row)
                .filter_map(|(c, v)| Some((c.clone(), v.clone()?)))
                .collect();
            fields.push(("@ptr".to_owned(), format!("{id}/{i}")));
            fields
        })
        .collect();
    let timed_out = st
        .timeout_marker
        .as_deref()
        .is_some_and(|m| text.contains(m));
    st.answered.lock().unwrap().push(Answered {
        query: text,
        start_s,
        end_s,
        columns: rows
            .iter()
            .flatten()
            .filter(|(f, _)| f != "@ptr")
            .map(|(f, _)| f.clone())
            .collect(),
        rows: rows.len(),
        bytes,
    });
    st.queries.lock().unwrap().insert(
        id.clone(),
        Query {
            polls: 0,
            stopped: false,
            outcome: if timed_out {
                Outcome::Timeout
            } else {
                Outcome::Rows(rows)
            },
            scanned,
            matched,
            bytes,
        },
    );
    Ok(json!({ "queryId": id }))
}

/// Runs `f` on the query `req` names; an unknown id is ResourceNotFoundException, as on AWS.
fn with_query(req: &Value, st: &State, f: impl FnOnce(&mut Query) -> Value) -> Answer {
    let id = req["queryId"].as_str().unwrap_or_default();
    let mut queries = st.queries.lock().unwrap();
    let q = queries.get_mut(id).ok_or((
        "ResourceNotFoundException",
        format!("query {id} does not exist"),
    ))?;
    Ok(f(q))
}

fn get_query_results(req: &Value, st: &State) -> Answer {
    with_query(req, st, poll)
}

fn poll(q: &mut Query) -> Value {
    q.polls += 1;
    // Scheduled on the first poll, Running on the second (half the statistics), then done.
    let (status, share) = match (q.stopped, q.polls, &q.outcome) {
        (true, ..) => ("Cancelled", 1.0),
        (_, 1, _) => ("Scheduled", 0.0),
        (_, 2, _) => ("Running", 0.5),
        (_, _, Outcome::Timeout) => ("Timeout", 1.0),
        (_, _, Outcome::Rows(_)) => ("Complete", 1.0),
    };
    let results: Vec<Value> = match (&q.outcome, status) {
        (Outcome::Rows(rows), "Complete") => rows
            .iter()
            .map(|r| {
                Value::Array(
                    r.iter()
                        .map(|(f, v)| json!({"field": f, "value": v}))
                        .collect(),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let part = |n: u64| (n as f64 * share).floor();
    json!({
        "status": status,
        "results": results,
        "statistics": {
            "recordsMatched": part(q.matched),
            "recordsScanned": part(q.scanned),
            "bytesScanned": part(q.bytes),
        },
    })
}

fn stop_query(req: &Value, st: &State) -> Answer {
    with_query(req, st, |q| {
        let running = q.polls < 3 && !q.stopped;
        q.stopped |= running;
        json!({ "success": running })
    })
}

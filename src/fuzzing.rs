//! Entry points for the fuzz targets (`fuzz/fuzz_targets/`) and for the corpus regression test
//! (`tests/cli/fuzz_corpus.rs`), which replays the kept corpus on stable Rust in CI. Each takes
//! arbitrary bytes and must never panic, whatever they hold.
#![doc(hidden)]

use crate::aggregate::{Aggregates, Scope};
use crate::decode::client::{UserAgent, client_name, node_name, service_account};
use crate::decode::event::{LINE_PADDING, LineDecoder, decode_document};
use crate::decode::frame::{decode_framed, frame};
use crate::decode::uri::{Query, decoded};

/// Every line of `data` through the framing and the hot-path decoder (or the salvage of a cut
/// line) and the aggregation, then the report and the rules: what a malformed or hostile log
/// meets. Returns the events decoded.
#[must_use]
pub fn decode_lines(data: &[u8]) -> usize {
    let mut buf = data.to_vec();
    buf.extend_from_slice(&[b' '; LINE_PADDING]);
    let mut decoder = LineDecoder::default();
    let mut scratch = Vec::new();
    let mut buffers = simd_json::Buffers::new(1024);
    let mut agg = Aggregates::default();
    let scope = Scope::default();
    let mut events = 0;
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let line = frame(&data[start..end]);
        if !line.is_blank()
            && let Ok(d) = decode_framed(
                &mut decoder,
                &mut buf[start..],
                &line,
                &mut scratch,
                &mut buffers,
                |ev| agg.observe(ev, &scope),
            )
        {
            events += d.events;
        }
        start = end + 1;
    }
    report(&agg);
    events
}

/// `data` as one JSON document (an `EventList`, an array of events).
#[must_use]
pub fn decode_whole(data: &[u8]) -> usize {
    let mut doc = data.to_vec();
    let mut buffers = simd_json::Buffers::new(data.len());
    let mut agg = Aggregates::default();
    let scope = Scope::default();
    let n = decode_document(&mut doc, &mut buffers, |ev| agg.observe(ev, &scope))
        .map_or(0, |d| d.events);
    report(&agg);
    n
}

fn report(agg: &Aggregates) {
    let report = crate::build::native::build(&crate::build::native::Inputs {
        aggregates: agg,
        inputs: &[],
        window: crate::aggregate::filter::Window::default(),
        filters: &crate::aggregate::filter::Filters::default(),
        warnings: Vec::new(),
        cloudwatch: None,
    });
    let _ = crate::rules::run(&report, &crate::rules::Config::default(), "2026-01-01");
}

/// A requestURI through the query parser and everything asked of it.
pub fn uri(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let q = Query::parse(&s);
    let _ = q.limit_value();
    let sem = q.rv_semantics();
    let _ = sem.from_cache(true, true);
    let _ = decoded(&s);
}

/// `userAgent \n username` through the client naming rules.
pub fn client(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let (ua, user) = s.split_once('\n').unwrap_or((&s, ""));
    let _ = client_name(Some(ua), user);
    let _ = client_name(None, user);
    let _ = UserAgent::parse(ua);
    let _ = service_account(user);
    let _ = node_name(user);
}

/// Two events for [`insights_query`] to run a parsed query over: one whole, one with members
/// missing and of the wrong type (what `fields`, `filter` and `stats` meet on real logs).
const INSIGHTS_EVENTS: [&str; 2] = [
    r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"f-1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns/pods?limit=500&resourceVersion=0","verb":"list","user":{"username":"system:serviceaccount:ns:sa"},"userAgent":"manager/v0.0.0 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"pods","namespace":"ns","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:01.250000Z","annotations":{"apiserver.latency.k8s.io/etcd":"1.1s"}}"#,
    r#"{"kind":"Event","auditID":7,"stage":"Panic","verb":["get"],"user":null,"objectRef":{"resource":""},"requestReceivedTimestamp":"2024-05-01T23:59:59.999999Z"}"#,
];

/// A Logs Insights query (the text `queries run --query` and the templates go through): the
/// parser and its checks, then, when accepted, the local evaluator over two events. Returns
/// whether the query was accepted.
#[must_use]
pub fn insights_query(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let Ok(query) = crate::insights::local::Query::new(&text) else {
        return false;
    };
    let events = INSIGHTS_EVENTS
        .iter()
        .map(|l| crate::insights::local::event_of_line(l));
    let _ = crate::insights::local::run(&query, events);
    true
}

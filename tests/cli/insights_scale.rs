//! `--engine insights` at the scale of a large cluster (issue: cardinality and cost at a week):
//! a generated log of a 1,000-node cluster over 6 hours, served by a runner with the service's
//! row cap and bill (the local evaluator over the records of the sub-window, `bytesScanned` =
//! their bytes), planned and executed by the engine as on AWS. Every query stays under the
//! 10,000-row cap, no sub-window is cut below an hour, and the bytes scanned are the window's
//! bytes once per template (no re-scan). The same log under the previous policy — 1 d
//! sub-windows halved after every capped answer — is measured alongside; the numbers are
//! printed (`--nocapture`) and recorded in docs/insights.md.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};

use audit_scan::build::insights::{TEMPLATES, queries};
use audit_scan::insights::engine::{self, Answer, Limits, Runner};
use audit_scan::insights::local;
use audit_scan::insights::merge::{ROW_CAP, capped};
use audit_scan::insights::scan::{self, execute_report};
use audit_scan::synth::SynthConfig;

const HOUR: i64 = 3_600_000;
/// As `--engine insights` runs: two queries in flight, the service's row cap.
const LIMITS: Limits = Limits {
    concurrency: 2,
    row_limit: ROW_CAP,
    min_window_ms: 1000,
    field_indexes: false,
};
const NODES: u32 = 1000;
/// Requests per second, heartbeats off: about a quarter are the kubelets' (gets, watches,
/// Events), so nearly every one of the 1,000 node users is seen in an hour.
const RATE: f64 = 5.0;

/// The records of a log group, in CloudWatch time order, as the service scans them.
struct Service {
    /// (time ms, message), sorted by time.
    records: Vec<(i64, String)>,
    /// Queries run.
    queries: AtomicUsize,
    /// Bytes scanned, summed.
    scanned: AtomicUsize,
    /// The most rows any answer held.
    most_rows: AtomicUsize,
}

impl Service {
    fn window(&self, start_ms: i64, end_ms: i64) -> &[(i64, String)] {
        let a = self.records.partition_point(|(t, _)| *t < start_ms);
        let b = self.records.partition_point(|(t, _)| *t < end_ms);
        &self.records[a..b]
    }
}

impl Runner for Service {
    fn run(&self, query: &str, start_ms: i64, end_ms: i64) -> Result<Answer, String> {
        let q = local::Query::new(query)?;
        let records = self.window(start_ms, end_ms);
        let (mut result, _, _) =
            local::run(&q, records.iter().map(|(_, l)| local::event_of_line(l)));
        // The service returns at most 10,000 rows, whatever the query's limit.
        result.rows.truncate(ROW_CAP);
        let bytes: usize = records.iter().map(|(_, l)| l.len()).sum();
        self.queries.fetch_add(1, Ordering::SeqCst);
        self.scanned.fetch_add(bytes, Ordering::SeqCst);
        self.most_rows
            .fetch_max(result.rows.len(), Ordering::SeqCst);
        Ok(Answer {
            result,
            bytes_scanned: Some(bytes as f64),
        })
    }
}

/// A 1,000-node cluster's audit log over 6 hours from 10:00.
fn cluster() -> (Service, i64) {
    let (records, start) = synthetic(NODES, 6);
    (service(records), start)
}

/// A generated log of `nodes` nodes over `hours` from 10:00, as (time ms, line) in time order,
/// and its start.
fn synthetic(nodes: u32, hours: i64) -> (Vec<(i64, String)>, i64) {
    let start_us = audit_scan::timefmt::parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
    let cfg = SynthConfig {
        // A little more than the hours; the rest is cut off below.
        duration: Some(hours * 3_600_000_000 + 60_000_000),
        seed: 7,
        nodes,
        start: start_us,
        rate: RATE,
        plants: Vec::new(),
        bodies: false,
        // Real heartbeats of 1,000 nodes alone are 100 requests/s; the point here is many
        // node users at a low volume, which the kubelets' background reads give.
        heartbeats: false,
        ..SynthConfig::default()
    };
    let mut out = Vec::new();
    audit_scan::synth::generate(&cfg, &mut out).unwrap();
    let start = start_us / 1000;
    let mut records: Vec<(i64, String)> = String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let t = local::event_of_line(l).timestamp?;
            (start..start + hours * HOUR)
                .contains(&t)
                .then(|| (t, l.to_owned()))
        })
        .collect();
    records.sort_by_key(|(t, _)| *t);
    assert!(
        records.last().unwrap().0 > start + hours * HOUR - 60_000,
        "the log covers {hours} hours"
    );
    (records, start)
}

fn service(mut records: Vec<(i64, String)>) -> Service {
    records.sort_by_key(|(t, _)| *t);
    Service {
        records,
        queries: AtomicUsize::new(0),
        scanned: AtomicUsize::new(0),
        most_rows: AtomicUsize::new(0),
    }
}

/// The previous policy: every template over 1 d sub-windows, a capped answer dropped and its
/// sub-window halved, level by level. Returns (queries, bytes scanned, shortest sub-window).
fn halving(service: &Service, start: i64, end: i64) -> (usize, usize, i64) {
    let qs = queries(ROW_CAP, false).unwrap();
    let (before_q, before_b) = (
        service.queries.load(Ordering::SeqCst),
        service.scanned.load(Ordering::SeqCst),
    );
    let mut shortest = i64::MAX;
    for q in &qs {
        let mut pending = engine::slices(start, end, 86_400_000);
        while let Some((s, e)) = pending.pop() {
            let a = service.run(q, s, e).unwrap();
            match engine::halve(s, e, 1000).filter(|_| capped(&a.result, ROW_CAP)) {
                Some(halves) => pending.extend(halves),
                None => shortest = shortest.min(e - s),
            }
        }
    }
    (
        service.queries.load(Ordering::SeqCst) - before_q,
        service.scanned.load(Ordering::SeqCst) - before_b,
        shortest,
    )
}

#[test]
fn a_thousand_nodes_over_six_hours_stay_under_the_row_cap_in_hour_long_sub_windows() {
    let (service, start) = cluster();
    let end = start + 6 * HOUR;
    let window_bytes: usize = service.records.iter().map(|(_, l)| l.len()).sum();
    let limits = LIMITS;

    // The plan --dry-run prints: one profile query, and what it says.
    let profile = scan::profile(&service, start, end, &limits).unwrap();
    assert_eq!(
        service.queries.load(Ordering::SeqCst),
        1,
        "one bin(1h) query"
    );
    let est = scan::Estimate::of(&profile.volume);
    assert_eq!(est.records as usize, service.records.len());
    let overhead = scan::EVENT_OVERHEAD * service.records.len() as f64;
    assert!((est.bytes - window_bytes as f64 - overhead).abs() < 1.0);
    let plan = scan::plan_text("g", start, end, 86_400_000, &limits, Ok(&est));
    println!("{plan}");
    let fewest = scan::fewest_queries(start, end, 86_400_000);

    let (run, volume) =
        execute_report(&service, start, end, 86_400_000, &limits, Some(profile)).unwrap();
    let most_rows = service.most_rows.load(Ordering::SeqCst);
    let shortest = run
        .done
        .iter()
        .map(|d| d.job.end_ms - d.job.start_ms)
        .min()
        .unwrap();
    assert_eq!(service.queries.load(Ordering::SeqCst), run.queries);
    assert!(run.queries >= fewest);
    // The kept sub-windows of every template tile the window once.
    for (t, (name, _)) in TEMPLATES.iter().enumerate() {
        let w: Vec<(i64, i64)> = run
            .done
            .iter()
            .filter(|d| d.job.template == t)
            .map(|d| (d.job.start_ms, d.job.end_ms))
            .collect();
        assert_eq!((w[0].0, w.last().unwrap().1), (start, end), "{name}");
        assert!(w.windows(2).all(|p| p[0].1 == p[1].0));
    }
    let per_template: Vec<String> = TEMPLATES
        .iter()
        .enumerate()
        .map(|(t, (name, _))| {
            let rows: Vec<usize> = run
                .done
                .iter()
                .filter(|d| d.job.template == t)
                .map(|d| d.answer.result.rows.len())
                .collect();
            format!("{name}: {} queries, rows {rows:?}", rows.len())
        })
        .collect();

    // A week of the same cluster: its profile is these 6 hours over and over; each template
    // is cut by the rows per record and per ms its answers here showed (the probe's hour
    // included), plus the profile query and one probe per template.
    let week = 7 * 24 * HOUR;
    let tiled = audit_scan::insights::volume::Volume {
        bins: (0..week / HOUR)
            .map(|h| {
                let b = volume.bins[(h % 6) as usize];
                audit_scan::insights::volume::Bin {
                    start_ms: start + h * HOUR,
                    end_ms: start + (h + 1) * HOUR,
                    ..b
                }
            })
            .collect(),
    };
    let lv = scan::log_volume_index();
    let target = ROW_CAP as f64 * engine::TARGET_SHARE;
    let week_queries: usize = 1
        + (0..TEMPLATES.len())
            .filter(|&t| t != lv)
            .map(|t| {
                1 + engine::cut(
                    start + HOUR,
                    start + week,
                    &run.density[t],
                    Some(&tiled),
                    target,
                    86_400_000,
                    1000,
                )
                .len()
            })
            .sum::<usize>();

    // The previous policy on the same records.
    let (old_queries, old_bytes, old_shortest) = halving(&service, start, end);
    println!(
        "1,000 nodes × 6 h: {} records, {:.1} MB\n\
         after: {} queries ({} at least), {:.1} MB scanned ({} × the window), shortest sub-window {:.2} h, most rows {most_rows}\n\
         before (1 d sub-windows halved when capped): {old_queries} queries, {:.1} MB scanned ({:.2} × the window), shortest sub-window {:.2} h\n\
         7 days of this cluster: {week_queries} queries\n  {}",
        service.records.len(),
        window_bytes as f64 / 1e6,
        run.queries,
        fewest,
        run.bytes_scanned.unwrap() / 1e6,
        TEMPLATES.len(),
        shortest as f64 / HOUR as f64,
        old_bytes as f64 / 1e6,
        old_bytes as f64 / window_bytes as f64,
        old_shortest as f64 / HOUR as f64,
        per_template.join("\n  ")
    );
    assert!(
        most_rows < ROW_CAP,
        "every answer under the cap: {most_rows}"
    );
    assert!(run.done.iter().all(|d| !d.cut));
    assert!(
        shortest >= HOUR,
        "no sub-window under an hour: {shortest} ms"
    );
    // Every template scanned the window once: no capped answer was rerun.
    assert_eq!(
        run.bytes_scanned,
        Some((window_bytes * TEMPLATES.len()) as f64)
    );

    // The numbers: the report from these answers against the native engine on the same
    // records (counts equal, LIST percentiles within the bins' documented error).
    let (ins, nat) = (
        insights_report(&run, start, end),
        native_report(&service, start, end),
    );
    let compared = common::compare::reports(&ins, &nat, "1,000 nodes", true);
    assert!(compared >= 2, "only {compared} LIST latencies compared");
    assert!(
        old_bytes >= window_bytes * TEMPLATES.len(),
        "the old policy scans at least as much"
    );
}

/// The report `--engine insights` builds from `run`'s answers over `[start, end)`.
fn insights_report(run: &engine::Executed, start: i64, end: i64) -> serde_json::Value {
    let facts = audit_scan::build::insights::RunFacts {
        log_group: "g".into(),
        queries: run.queries,
        sub_windows: std::collections::BTreeMap::new(),
        bytes_scanned: run.bytes_scanned,
        cut: 0,
    };
    let window = audit_scan::aggregate::filter::Window {
        since: Some(start * 1000),
        until: Some(end * 1000),
    };
    let report = audit_scan::build::insights::build_report(&run.done, window, &facts).unwrap();
    serde_json::to_value(report).unwrap()
}

/// The native engine's report of the service's records over `[start, end)`.
fn native_report(service: &Service, start: i64, end: i64) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.jsonl");
    let lines: Vec<&str> = service.records.iter().map(|(_, l)| l.as_str()).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let (since, until) = (
        audit_scan::timefmt::format_rfc3339(start * 1000),
        audit_scan::timefmt::format_rfc3339(end * 1000),
    );
    common::report(&[file.to_str().unwrap(), "--since", &since, "--until", &until])
}

/// Clients of the long tail, each sending one GET a minute.
const TAIL: usize = 150;

/// `TAIL` operators' requests, one a minute each over `hours` from `start`.
fn long_tail(start: i64, hours: i64) -> Vec<(i64, String)> {
    (0..hours * 60)
        .flat_map(|m| (0..TAIL).map(move |k| (m, k)))
        .map(|(m, k)| {
            let t = start + m * 60_000 + 5_000 + k as i64 * 200;
            let (at, done) = (rfc3339(t), rfc3339(t + 30));
            let line = format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"tail-{m}-{k}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/tail/configmaps/c{k}","verb":"get","user":{{"username":"system:serviceaccount:tail:op-{k:03}"}},"userAgent":"tail-op-{k:03}/v1.0.0 (linux/amd64) kubernetes/abc1234","objectRef":{{"resource":"configmaps","namespace":"tail","name":"c{k}","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"{at}","stageTimestamp":"{done}"}}"#
            );
            (t, line)
        })
        .collect()
}

fn rfc3339(ms: i64) -> String {
    audit_scan::timefmt::format_rfc3339(ms * 1000)
}

/// The shortest sub-window kept for template `t`, and the most rows of its answers.
fn shortest_and_most(run: &engine::Executed, t: usize) -> (i64, usize) {
    let done = run.done.iter().filter(|d| d.job.template == t);
    let shortest = done
        .clone()
        .map(|d| d.job.end_ms - d.job.start_ms)
        .min()
        .unwrap();
    let most = done.map(|d| d.answer.result.rows.len()).max().unwrap();
    (shortest, most)
}

#[test]
fn a_long_tail_of_clients_is_followed_per_minute_for_the_busiest_twenty_only() {
    // 50 nodes and 2 h of the generated cluster (about 20 clients), plus 150 clients of one
    // request a minute: per client × minute, 9,000 rows an hour from the tail alone.
    let (mut records, start) = synthetic(50, 2);
    records.extend(long_tail(start, 2));
    let service = service(records);
    let end = start + 2 * HOUR;
    let limits = LIMITS;
    let profile = scan::profile(&service, start, end, &limits).unwrap();
    let qps = TEMPLATES
        .iter()
        .position(|(n, _)| *n == "client-qps")
        .unwrap();

    // Before: client-qps over every client, cut by the engine as any template.
    let (jobs, sizing) = scan::plan(start, end, 86_400_000, Some(profile.volume.clone()), &[qps]);
    let all = audit_scan::build::insights::named_queries(ROW_CAP, false).unwrap();
    let before = engine::execute_sized(&all, jobs, sizing, &service, &limits).unwrap();
    let (before_shortest, before_most) = shortest_and_most(&before, qps);

    // After: the report's run, client-qps following client-totals' busiest 20.
    let (run, _) =
        execute_report(&service, start, end, 86_400_000, &limits, Some(profile)).unwrap();
    let (shortest, most) = shortest_and_most(&run, qps);
    let qps_queries = run.done.iter().filter(|d| d.job.template == qps).count();
    println!(
        "long tail ({TAIL} more clients, 2 h): client-qps over every client {} queries, shortest sub-window {:.2} h, most rows {before_most}; following the 20 busiest {qps_queries} queries, shortest {:.2} h, most rows {most}",
        before.queries,
        before_shortest as f64 / HOUR as f64,
        shortest as f64 / HOUR as f64,
    );
    assert!(
        before_shortest < HOUR,
        "every client's minutes need sub-windows under an hour"
    );
    assert!(
        shortest >= HOUR && most < ROW_CAP / 2,
        "{shortest} ms, {most} rows"
    );
    assert!(
        run.done
            .iter()
            .all(|d| !d.cut && d.answer.result.rows.len() < ROW_CAP)
    );

    // The report: totals of every client as the native engine's; minutes of its 20 busiest
    // (by the native report's order), exact, and none for the others.
    let (ins, nat) = (
        insights_report(&run, start, end),
        native_report(&service, start, end),
    );
    common::compare::reports(&ins, &nat, "long tail", true);
    let clients = |r: &serde_json::Value| r["clients"].as_array().unwrap().clone();
    let (ins_clients, nat_clients) = (clients(&ins), clients(&nat));
    assert!(nat_clients.len() > TAIL + 10, "{}", nat_clients.len());
    let busiest: Vec<&str> = nat_clients[..20]
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    for c in &ins_clients {
        let name = c["client"].as_str().unwrap();
        let want = nat_clients
            .iter()
            .find(|n| n["client"] == c["client"])
            .unwrap();
        if busiest.contains(&name) {
            for f in ["per_minute", "peak_qpm", "peak_minute", "p99_qpm", "first"] {
                if f == "first" {
                    // Minutes, not the native engine's request times.
                    assert!(c[f].is_string(), "{name}");
                    continue;
                }
                assert_eq!(c[f], want[f], "{name} {f}");
            }
        } else {
            assert_eq!(c["per_minute"]["omitted"], true, "{name}");
            assert_eq!(c["peak_qpm"], 0, "{name}");
            assert!(c["first"].is_null() && c["peak_minute"].is_null(), "{name}");
        }
    }
    let notes = ins["summary"]["coverage"].to_string();
    assert!(
        notes.contains(&format!(
            "per-minute series for 20 of {} clients",
            ins_clients.len()
        )),
        "{notes}"
    );
    assert!(!notes.contains("per minute are exact"), "{notes}");
}

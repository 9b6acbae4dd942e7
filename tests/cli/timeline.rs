//! The incident timeline on a generated two-day log with planted dips: the dips are grouped as
//! planted, the clients behind them ranked by what they explain, and the 429 and 5xx bursts
//! found, every expected value worked out here from the events this file writes.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common;

/// Epoch minute of 2024-05-01T00:00Z, the log's first minute.
const DAY0: i64 = 28_575_360;
/// Minutes in the log: two days.
const MINUTES: i64 = 2 * 24 * 60;
/// The merge gap the report documents (`merge_gap_minutes`).
const GAP: i64 = 5;

/// One planned request: (client, minute, second, verb, code).
type Planned = (&'static str, i64, u32, &'static str, u16);

fn rfc3339(minute: i64, second: u32, micros: u32) -> String {
    let secs = minute * 60 + i64::from(second);
    let t = chrono::DateTime::from_timestamp(secs, micros * 1000).unwrap();
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn line(i: usize, (who, minute, second, verb, code): Planned) -> String {
    let (from, to) = (rfc3339(minute, second, 0), rfc3339(minute, second, 20_000));
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{i}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/apps/configmaps","verb":"{verb}","user":{{"username":"system:serviceaccount:apps:{who}"}},"userAgent":"{who}/v1.2.3 (linux/amd64) kubernetes/abcdef","objectRef":{{"resource":"configmaps","namespace":"apps","apiVersion":"v1"}},"responseStatus":{{"code":{code}}},"requestReceivedTimestamp":"{from}","stageTimestamp":"{to}"}}"#
    )
}

/// Minutes of day 0 / day 1 by clock time.
fn at(day: i64, h: i64, m: i64) -> i64 {
    DAY0 + day * 1440 + h * 60 + m
}

/// The plan: two steady clients all along; `bad-operator` floods 60 LISTs a minute for 20
/// minutes on day 0 (a third answered 429) and rejects a third of `steady-a`'s calls too;
/// `batch-job` gets 503s in two minutes four apart on day 1 (one dip, bridged); `steady-a` gets
/// 500s in one minute seven minutes later (a dip of its own).
fn plan() -> Vec<Planned> {
    let flood = at(0, 14, 0)..at(0, 14, 20);
    let batch = [at(1, 3, 0), at(1, 3, 4)];
    let lone = at(1, 3, 11);
    let mut p = Vec::new();
    for m in DAY0..DAY0 + MINUTES {
        for s in [5, 25, 45] {
            let code = if (flood.contains(&m) && s == 5) || (m == lone) {
                if m == lone { 500 } else { 429 }
            } else {
                200
            };
            p.push(("steady-a", m, s, "get", code));
        }
        p.push(("steady-b", m, 30, "get", 200));
        if (m - DAY0) % 10 == 0 {
            p.push(("bad-operator", m, 50, "list", 200));
        }
        if flood.contains(&m) {
            for s in 0..60 {
                p.push((
                    "bad-operator",
                    m,
                    s,
                    "list",
                    if s % 3 == 0 { 429 } else { 200 },
                ));
            }
        }
        if batch.contains(&m) {
            for s in 0..30 {
                p.push(("batch-job", m, s, "get", if s < 10 { 503 } else { 200 }));
            }
        }
    }
    p
}

fn write(dir: &Path, plan: &[Planned]) -> PathBuf {
    let path = dir.join("two-days.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for (i, p) in plan.iter().enumerate() {
        writeln!(f, "{}", line(i, *p)).unwrap();
    }
    f.flush().unwrap();
    path
}

fn minute_name(m: i64) -> String {
    chrono::DateTime::from_timestamp(m * 60, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Below-SLO minutes grouped the documented way, from the plan alone.
fn expected_dips(plan: &[Planned]) -> Vec<(i64, i64)> {
    let mut per: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for (_, m, _, _, code) in plan {
        let e = per.entry(*m).or_default();
        e.0 += 1;
        e.1 += u64::from(*code == 429 || *code >= 500);
    }
    let mut dips: Vec<(i64, i64)> = Vec::new();
    for (m, (n, f)) in per {
        if (1.0 - f as f64 / n as f64) >= 0.99 {
            continue;
        }
        match dips.last_mut() {
            Some((_, end)) if m - *end - 1 <= GAP => *end = m,
            _ => dips.push((m, m)),
        }
    }
    dips
}

fn client_named<'a>(r: &'a Value, part: &str) -> &'a str {
    r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .find(|c| c.contains(part))
        .unwrap_or_else(|| panic!("no client named like {part}"))
}

#[test]
fn planted_dips_are_grouped_as_planted_with_their_causes() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan();
    let log = write(dir.path(), &plan);
    let r = common::report(&[log.to_str().unwrap()]);
    let t = &r["incident_timeline"];
    assert_eq!(t["merge_gap_minutes"], GAP, "the documented gap");

    let want = expected_dips(&plan);
    assert_eq!(
        want,
        [
            (at(0, 14, 0), at(0, 14, 19)),
            (at(1, 3, 0), at(1, 3, 4)),
            (at(1, 3, 11), at(1, 3, 11)),
        ],
        "the plan's own arithmetic agrees with what was planted"
    );
    let got: Vec<(String, String)> = t["dips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["start"].as_str().unwrap().to_owned(),
                d["end"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want_names: Vec<(String, String)> = want
        .iter()
        .map(|(s, e)| (minute_name(*s), minute_name(*e)))
        .collect();
    assert_eq!(got, want_names);

    // Dip 1: the flood. Its failures: 20 of bad-operator's and 1 of steady-a's per minute.
    let d = &t["dips"][0];
    let in_dip = |who: &str, failed: bool| {
        plan.iter()
            .filter(|p| p.0 == who && (want[0].0..=want[0].1).contains(&p.1))
            .filter(|p| !failed || p.4 == 429 || p.4 >= 500)
            .count() as f64
    };
    let dip_failed = plan
        .iter()
        .filter(|p| (want[0].0..=want[0].1).contains(&p.1) && (p.4 == 429 || p.4 >= 500))
        .count() as f64;
    assert_eq!(d["failed"], dip_failed as u64);
    assert_eq!(d["minutes"], 20);
    assert_eq!(d["minutes_below"], 20);
    // Baselines: requests outside every dip ÷ minutes outside every dip.
    let dip_minutes: i64 = want.iter().map(|(s, e)| e - s + 1).sum();
    let outside_minutes = (MINUTES - dip_minutes) as f64;
    let outside = |who: &str| {
        plan.iter()
            .filter(|p| p.0 == who && !want.iter().any(|(s, e)| (*s..=*e).contains(&p.1)))
            .count() as f64
    };
    let excess = |who: &str| (in_dip(who, false) - outside(who) / outside_minutes * 20.0).max(0.0);
    let all_excess: f64 = ["steady-a", "steady-b", "bad-operator"]
        .iter()
        .map(|w| excess(w).round())
        .sum();
    let bad = client_named(&r, "bad-operator");
    let steady_a = client_named(&r, "steady-a");
    let clients = d["clients"].as_array().unwrap();
    let names: Vec<&str> = clients
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [bad, steady_a],
        "the flooder first, then its victim; steady-b kept its baseline"
    );
    // The mean of its share of the failures and its share of the excess.
    let explains = f64::midpoint(
        in_dip("bad-operator", true) / dip_failed,
        excess("bad-operator").round() / all_excess,
    );
    common::assert_close(
        clients[0]["explains"].as_f64().unwrap(),
        explains,
        "bad-operator explains",
    );
    common::assert_close(
        clients[1]["failed_share"].as_f64().unwrap(),
        in_dip("steady-a", true) / dip_failed,
        "steady-a's share of the failures",
    );
    assert_eq!(clients[1]["excess"], 0, "steady-a sent its usual load");
    // The flooder's own episode is linked: it departed from its baseline for the 20 minutes.
    let ep = &clients[0]["episode"];
    let minute_of = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .timestamp()
            / 60
    };
    assert!(
        (minute_of(&ep["start"]) - want[0].0).abs() <= 1,
        "episode {ep}"
    );
    assert!(
        (minute_of(&ep["end"]) - (want[0].1 + 1)).abs() <= 1,
        "episode {ep}"
    );

    // The 429 burst is the flood; the 5xx burst bridges batch-job's two minutes, and the lone
    // minute of three 500s is below the burst floor.
    let b = &t["throttle_bursts"];
    assert_eq!(b.as_array().unwrap().len(), 1);
    assert_eq!(b[0]["start"], minute_name(want[0].0));
    assert_eq!(b[0]["count"], dip_failed as u64);
    assert_eq!(b[0]["clients"][0]["name"], bad);
    let e = &t["error_bursts"];
    assert_eq!(e.as_array().unwrap().len(), 1);
    assert_eq!(
        (
            e[0]["start"].as_str().unwrap(),
            e[0]["end"].as_str().unwrap()
        ),
        (
            minute_name(want[1].0).as_str(),
            minute_name(want[1].1).as_str()
        )
    );
    assert_eq!(e[0]["count"], 20);

    // Text, Markdown and HTML open with it, dated (the log spans two days).
    for format in ["text", "md", "html"] {
        let out = common::run(&["--format", format, "--no-progress", log.to_str().unwrap()]);
        let s = String::from_utf8(out.stdout).unwrap();
        let (at_t, at_f) = (
            s.find("Incident timeline (3 dip(s)")
                .unwrap_or_else(|| panic!("{format}: no timeline:\n{s}")),
            // (The page's navigation names the sections first: its findings heading counts.)
            s.find(if format == "html" {
                r#"<h2 id="findings""#
            } else {
                "Findings"
            })
            .unwrap(),
        );
        assert!(
            at_t < at_f,
            "{format}: the timeline comes before the findings"
        );
        assert!(
            s.contains("dip 1: 2024-05-01 14:00–14:19 (20 min, 20 below"),
            "{format}:\n{s}"
        );
        assert!(
            s.contains("dip 3: 2024-05-02 03:11–03:11"),
            "{format}:\n{s}"
        );
        assert!(
            s.contains("its episode 2024-05-01 14:"),
            "{format}: the flooder's episode"
        );
    }

    // Without --mark, the page shades the worst dip: the lone minute whose three of four
    // requests failed (25% success) is worse than the flood's minutes (21 of about 64 failed)
    // and the batch job's (10 of 34).
    let html = |extra: &[&str]| {
        let mut args = vec!["--format", "html", "--no-progress"];
        args.extend_from_slice(extra);
        args.push(log.to_str().unwrap());
        String::from_utf8(common::run(&args).stdout).unwrap()
    };
    let worst = "incident window 05-02 03:11 – 05-02 03:12";
    let page = html(&[]);
    assert!(page.contains(worst), "the worst dip is shaded");
    assert!(page.contains(r#"<h2 id="timeline">"#));
    let page = html(&["--mark", "2024-05-01T14:00:00Z..2024-05-01T14:20:00Z"]);
    assert!(!page.contains(worst), "--mark wins over the default");
    assert!(page.contains("incident window 05-01 14:00 – 05-01 14:20"));
}

#[test]
fn a_short_window_has_no_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let plan: Vec<Planned> = plan().into_iter().filter(|p| p.1 < at(0, 6, 0)).collect();
    let log = write(dir.path(), &plan);
    let r = common::report(&[log.to_str().unwrap()]);
    assert!(r["incident_timeline"].is_null(), "six hours is no timeline");
}

/// Every `HH:MM` in `s` is dated: preceded by `YYYY-MM-DD` and a space or `T`, or the end of a
/// range (`–HH:MM`) whose start is dated. Returns the undated ones with some context.
fn undated_times(s: &str) -> Vec<String> {
    let time = regex::Regex::new(r"\b\d{2}:\d{2}\b").unwrap();
    let dated = regex::Regex::new(r"\d{4}-\d{2}-\d{2}[ T]$").unwrap();
    let range_end = regex::Regex::new(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?–$").unwrap();
    let mut bad = Vec::new();
    for m in time.find_iter(s) {
        let before = &s[..m.start()];
        // The seconds of an RFC 3339 time (`T10:05:33`) were matched with its minutes.
        if before.ends_with(':') {
            continue;
        }
        if !dated.is_match(before) && !range_end.is_match(before) {
            let from = before.char_indices().rev().nth(40).map_or(0, |(i, _)| i);
            bad.push(s[from..m.end()].to_owned());
        }
    }
    bad
}

/// The clients table's row of the client named like `name` (rows start with the name).
fn table_row<'a>(s: &'a str, name: &str) -> &'a str {
    s.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no row for {name}:\n{s}"))
}

#[test]
fn every_human_time_on_a_multi_day_window_has_its_date() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), &plan());
    for format in ["text", "md"] {
        let out = common::run(&["--format", format, "--no-progress", log.to_str().unwrap()]);
        assert!(out.status.success());
        let s = String::from_utf8(out.stdout).unwrap();
        assert_eq!(undated_times(&s), Vec::<String>::new(), "{format}:\n{s}");
        if format == "text" {
            // The sparklines' axis: two days in 24 cells of 2 h.
            assert!(
                s.contains("PER MINUTE: 2024-05-01 00:00 → 2024-05-02 23:59, one cell = 2 h"),
                "{s}"
            );
            // The clients' busiest minute: bad-operator's flood, dated.
            assert!(
                table_row(&s, "bad-operator").contains(" 2024-05-01 14:"),
                "{s}"
            );
            // The health line: first and last minute below the SLO and the dips.
            let (first, last) = (minute_name(at(0, 14, 0)), minute_name(at(1, 3, 11)));
            assert!(
                s.contains(&format!("(first {first}, last {last}; 3 separate dip(s))")),
                "{s}"
            );
        }
    }
    // The checker itself: an undated time is caught, a dated range is not.
    assert_eq!(undated_times("at 10:05 today").len(), 1);
    assert!(undated_times("2024-05-01 10:05–11:05 and 2024-05-01T10:05:33Z").is_empty());
}

#[test]
fn a_single_day_window_keeps_its_times_short() {
    let dir = tempfile::tempdir().unwrap();
    let plan: Vec<Planned> = plan()
        .into_iter()
        .filter(|p| (at(0, 10, 0)..at(0, 20, 0)).contains(&p.1))
        .collect();
    let log = write(dir.path(), &plan);
    let out = common::run(&["--format", "text", "--no-progress", log.to_str().unwrap()]);
    let s = String::from_utf8(out.stdout).unwrap();
    // Ten hours of one day: 600 minutes in 24 cells of 25 minutes, times without a date.
    assert!(
        s.contains("PER MINUTE: 10:00–19:59, one cell = 25 min"),
        "{s}"
    );
    let row = table_row(&s, "bad-operator");
    assert!(
        row.contains(" 14:") && !row.contains("2024-"),
        "no date in the clients table: {row}"
    );
}

/// A log of `hours` of steady traffic from 00:00 with extra requests at `(minute, count,
/// reason)`: 429s, APF's (no reason) or a handler's (`TooManyRequests`).
fn sizing_log(dir: &Path, hours: i64, extra: &[(i64, u32, &str)]) -> PathBuf {
    let path = dir.join("sizing.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut i = 0;
    for m in DAY0..DAY0 + hours * 60 {
        for s in [10, 40] {
            writeln!(f, "{}", line(i, ("steady-a", m, s, "get", 200))).unwrap();
            i += 1;
        }
        for (em, n, reason) in extra {
            for k in 0..*n {
                let l = line(i, ("burst-client", m, k % 60, "get", 429));
                let l = if reason.is_empty() {
                    l
                } else {
                    l.replace(
                        r#""code":429}"#,
                        &format!(r#""code":429,"reason":"{reason}"}}"#),
                    )
                };
                if *em == m {
                    writeln!(f, "{l}").unwrap();
                }
                i += 1;
            }
        }
    }
    f.flush().unwrap();
    path
}

#[test]
fn a_tier_verdict_never_fits_a_minute_with_apf_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let rejected = [
        (at(0, 2, 0), 7, ""),
        (at(0, 2, 1), 3, ""),
        (at(0, 5, 30), 4, ""),
    ];
    let pdb = (at(0, 4, 0), 6, "TooManyRequests");
    let mut extra = rejected.to_vec();
    extra.push(pdb);
    let log = sizing_log(dir.path(), 8, &extra);
    let r = common::report(&[log.to_str().unwrap()]);
    let z = &r["sizing"];
    let want: u64 = rejected.iter().map(|x| u64::from(x.1)).sum();
    assert_eq!(
        z["apf_rejected_requests"], want,
        "a handler's 429 is no APF rejection"
    );
    assert_eq!(z["apf_rejected_minute_count"], rejected.len());
    let minutes: Vec<&str> = z["apf_rejected_minutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["minute"].as_str().unwrap())
        .collect();
    let want_minutes: Vec<String> = rejected.iter().map(|x| minute_name(x.0)).collect();
    assert_eq!(minutes, want_minutes);
    let tier = &z["tier"];
    assert_eq!(tier["fits_rejected_minutes"], false);
    let lines: Vec<&str> = tier["arithmetic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        lines.iter().all(|l| !l.ends_with("→ fits")),
        "no unqualified fit: {lines:?}"
    );
    let named = lines
        .iter()
        .find(|l| l.starts_with("APF rejected"))
        .expect("the verdict names the minutes");
    for m in &want_minutes {
        assert!(named.contains(m.as_str()), "{m} in {named}");
    }
    let text = common::run(&["--format", "text", "--no-progress", log.to_str().unwrap()]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("not judged to fit the 3 minute(s) with APF rejections (14 request(s) rejected, 02:00–05:30)"),
        "{text}"
    );

    // Without rejections the verdict fits plainly.
    let log = sizing_log(dir.path(), 8, &[pdb]);
    let r = common::report(&[log.to_str().unwrap()]);
    let tier = &r["sizing"]["tier"];
    assert_eq!(tier["fits_rejected_minutes"], true);
    assert!(
        tier["arithmetic"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().ends_with("→ fits"))
    );
}

#[test]
fn etcd_revisions_follow_the_peak_write_rate() {
    let dir = tempfile::tempdir().unwrap();
    // 90 creates in one minute: 1.5 writes/s at the peak.
    let mut plan: Vec<Planned> = plan().into_iter().filter(|p| p.1 < at(0, 8, 0)).collect();
    for s in 0..90 {
        plan.push(("writer", at(0, 3, 0), s % 60, "create", 201));
    }
    let log = write(dir.path(), &plan);
    let r = common::report(&[log.to_str().unwrap()]);
    let e = &r["sizing"]["etcd_revisions"];
    let peak = 90.0 / 60.0;
    assert_eq!(e["peak_writes_per_second"].as_f64().unwrap(), peak);
    let interval = e["compaction_interval_s"].as_u64().unwrap();
    assert_eq!(interval, 300, "kube-apiserver's default, 5 minutes");
    let revisions = (peak * interval as f64).round() as u64;
    assert_eq!(e["revisions"], revisions);
    assert_eq!(
        e["bytes"].as_u64().unwrap(),
        revisions * e["revision_bytes"].as_u64().unwrap()
    );
}

//! The whole watches table, LIST serving, the per-client columns (reads, latency, `p99_qpm`),
//! health and sizing, recomputed from the raw real samples with serde_json and chrono by the
//! definitions of docs/report-schema.md (client names, long-running requests, resourceVersion
//! semantics, the seat model), never from the program's output, then compared with the report.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::*;

/// The real samples that carry timestamps (the v1-2022 cut is a subset of the 2017 log).
const SAMPLES: &[&str] = &[
    "realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl",
    "realdata/audit2rbac-demo-v1beta1-2017.jsonl",
    "realdata/hkerma-perfspec-derived-partial-events.jsonl.gz",
];

const MINUTE_US: i64 = 60_000_000;

/// One final-stage event, with everything the definitions need worked out once.
struct Req {
    id: String,
    client: String,
    user: String,
    user_agent: String,
    verb: String,
    resource: String,
    namespaced: bool,
    query: BTreeMap<String, String>,
    time: Option<i64>,
    /// The stage (completion) time, else the event time: what the report span is made of.
    end: Option<i64>,
    received: Option<i64>,
    stage: Option<i64>,
    latency: Option<i64>,
    code: u64,
    watch: bool,
    long_running: bool,
    write: bool,
    binding: bool,
    etcd_us: Option<i64>,
}

impl Req {
    fn plain_list(&self) -> bool {
        self.verb == "list" && !self.watch
    }
    fn short(&self) -> bool {
        !self.long_running
    }
    fn failed_health(&self) -> bool {
        self.code >= 500 || self.code == 429
    }
    /// The SLO class (`slo[]`): short requests with a resource, whatever their code.
    fn slo_class(&self) -> Option<(&'static str, i64)> {
        if self.long_running || self.resource.is_empty() {
            return None;
        }
        match self.verb.as_str() {
            "create" | "update" | "patch" | "delete" => Some(("mutating", 1)),
            "get" => Some(("read-only", 1)),
            "list" if self.namespaced => Some(("list-namespace", 5)),
            "list" => Some(("list-cluster", 30)),
            _ => None,
        }
    }
    /// `timeoutSeconds` > 0 of a watch.
    fn timeout_s(&self) -> Option<i64> {
        self.query
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|t| *t > 0)
    }
    /// How long a watch lasted (both timestamps).
    fn duration(&self) -> Option<i64> {
        match (self.received, self.stage) {
            (Some(a), Some(b)) if b >= a => Some(b - a),
            _ => None,
        }
    }
    fn minute(&self) -> Option<i64> {
        self.time.map(|t| t.div_euclid(MINUTE_US))
    }
}

/// `%XX` and `+` decoding of one query component, as Go's `url.ParseQuery` does.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_of(uri: &str) -> BTreeMap<String, String> {
    let mut q = BTreeMap::new();
    if let Some((_, qs)) = uri.split_once('?') {
        for pair in qs.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            q.entry(unescape(k)).or_insert_with(|| unescape(v));
        }
    }
    q
}

fn truthy(v: Option<&String>) -> bool {
    matches!(
        v.map(String::as_str),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True")
    )
}

/// A Go duration as the apiserver writes its latency annotations (`1.5ms`, `2.01s`, `1m3s`).
fn go_duration_us(s: &str) -> Option<i64> {
    let mut total = 0.0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 0.001,
            "us" | "µs" | "μs" => 1.0,
            "ms" => 1_000.0,
            "s" => 1_000_000.0,
            "m" => 60_000_000.0,
            "h" => 3_600_000_000.0,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[u..];
    }
    Some(total.round() as i64)
}

fn is_version(s: &str) -> bool {
    let s = s.strip_prefix('v').unwrap_or(s);
    !s.is_empty() && s.starts_with(|c: char| c.is_ascii_digit())
}

/// The client name by the rules of docs/report-schema.md "Client names".
fn client_name(ua: &str, user: &str) -> String {
    let sa = user
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'));
    let product = &ua[..ua.find(['/', ' ', '(']).unwrap_or(ua.len())];
    if product.is_empty() || is_version(product) {
        return if user.starts_with("system:node:") {
            "kubelet".to_owned()
        } else if let Some((ns, name)) = sa {
            format!("sa:{ns}/{name}")
        } else if user.is_empty() {
            "unknown".to_owned()
        } else {
            user.to_owned()
        };
    }
    if product == "kubelet" {
        return "kubelet".to_owned();
    }
    let suffix = ua
        .find(" kubernetes/")
        .map(|i| &ua[i + " kubernetes/".len()..])
        .and_then(|commit| commit.split_once('/'))
        .map(|(_, s)| s)
        .filter(|s| !s.is_empty());
    if let Some(suffix) = suffix {
        let suffix = suffix
            .strip_prefix("system:serviceaccount:")
            .and_then(|r| r.split_once(':'))
            .map_or(suffix, |(_, name)| name);
        return format!("{product}/{suffix}");
    }
    match sa {
        Some((ns, name)) => format!("{product}@{ns}/{name}"),
        None => product.to_owned(),
    }
}

fn requests(path: &str) -> Vec<Req> {
    let events = events(&fixture(path));
    let mut out = Vec::new();
    for e in events.iter().filter(|e| is_request(e)) {
        let ua = e["userAgent"].as_str().unwrap_or("").to_owned();
        let user = e["user"]["username"].as_str().unwrap_or("").to_owned();
        let query = query_of(uri(e));
        let verb = e["verb"].as_str().unwrap_or("").to_owned();
        let o = &e["objectRef"];
        let sub = o["subresource"].as_str().unwrap_or("");
        let watch = verb == "watch" || (verb == "list" && truthy(query.get("watch")));
        let long_running = watch
            || matches!(sub, "exec" | "attach" | "portforward" | "proxy")
            || (sub == "log" && truthy(query.get("follow")));
        let received = ts(&e["requestReceivedTimestamp"]);
        let stage = ts(&e["stageTimestamp"]);
        let latency = match (received, stage) {
            (Some(a), Some(b)) if b >= a && !long_running => Some(b - a),
            _ => None,
        };
        let code = match e["responseStatus"]["code"].as_u64() {
            Some(c) => c,
            None if e["stage"] == "Panic" => 500,
            None => 0,
        };
        let time = event_time(e);
        out.push(Req {
            id: e["auditID"].as_str().unwrap_or("").to_owned(),
            client: client_name(&ua, &user),
            user,
            user_agent: ua,
            resource: qualified_resource(e),
            namespaced: !o["namespace"].as_str().unwrap_or("").is_empty(),
            query,
            time,
            end: stage.or(time),
            received,
            stage,
            latency,
            code,
            watch,
            long_running,
            write: is_write(e),
            binding: verb == "create" && o["resource"] == "pods" && sub == "binding" && is_write(e),
            etcd_us: e["annotations"]["apiserver.latency.k8s.io/etcd"]
                .as_str()
                .and_then(go_duration_us),
            verb,
        });
    }
    out
}

/// The report span's minutes: from that of the earliest completion to that of the latest.
fn span_minutes(reqs: &[Req]) -> Option<(i64, i64)> {
    let first = reqs.iter().filter_map(|r| r.end).min()?;
    let last = reqs.iter().filter_map(|r| r.end).max()?;
    Some((first.div_euclid(MINUTE_US), last.div_euclid(MINUTE_US)))
}

/// The minutes of the per-minute series and `p99_qpm`: from that of the earliest request time to
/// that of the latest (a watch open as the log began starts them before the report span).
fn request_minutes(reqs: &[Req]) -> Option<(i64, i64)> {
    let first = reqs.iter().filter_map(|r| r.time).min()?;
    let last = reqs.iter().filter_map(|r| r.time).max()?;
    Some((first.div_euclid(MINUTE_US), last.div_euclid(MINUTE_US)))
}

fn span_seconds(reqs: &[Req]) -> f64 {
    let first = reqs.iter().filter_map(|r| r.end).min().unwrap_or(0);
    let last = reqs.iter().filter_map(|r| r.end).max().unwrap_or(0);
    (last - first) as f64 / 1e6
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// A [LatencyRow] from exact samples (µs): `null` without samples, exact max and mean,
/// nearest-rank percentiles within the sketch's 1%.
fn check_latency(got: &Value, mut us: Vec<i64>, what: &str) {
    if us.is_empty() {
        assert!(got.is_null(), "{what}: no samples, got {got}");
        return;
    }
    us.sort_unstable();
    assert_eq!(u(&got["samples"]), us.len() as u64, "{what}: samples");
    let max = *us.last().unwrap() as f64 / 1000.0;
    assert!(
        (got["max"].as_f64().unwrap() - max).abs() < 0.0011,
        "{what}: max {got}"
    );
    let mean = us.iter().sum::<i64>() as f64 / us.len() as f64 / 1000.0;
    assert!(
        (got["mean"].as_f64().unwrap() - mean).abs() < 0.0011,
        "{what}: mean {got} want {mean}"
    );
    for (q, f) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
        assert_close(
            got[f].as_f64().unwrap(),
            percentile_ms(&us, q),
            &format!("{what} {f}"),
        );
    }
}

/// Up to 3 auditIDs, earliest by time then id, untimed last.
fn earliest_ids<'a>(reqs: impl Iterator<Item = &'a Req>) -> Vec<String> {
    let mut v: Vec<(bool, i64, &str)> = reqs
        .map(|r| (r.time.is_none(), r.time.unwrap_or(0), r.id.as_str()))
        .collect();
    v.sort_unstable();
    v.into_iter()
        .take(3)
        .map(|(_, _, id)| id.to_owned())
        .collect()
}

fn time_range<'a>(reqs: impl Iterator<Item = &'a Req> + Clone) -> (Option<i64>, Option<i64>) {
    (
        reqs.clone().filter_map(|r| r.time).min(),
        reqs.filter_map(|r| r.time).max(),
    )
}

fn check_first_last(row: &Value, want: (Option<i64>, Option<i64>), what: &str) {
    assert_eq!(ts(&row["first"]), want.0, "{what}: first");
    assert_eq!(ts(&row["last"]), want.1, "{what}: last");
}

fn report_of(path: &str) -> Value {
    report(&[fixture(path).to_str().unwrap()])
}

#[test]
fn the_whole_watches_table_is_recomputed_from_the_real_samples() {
    let mut durations_checked = 0;
    let mut timeouts_checked = 0;
    for path in SAMPLES {
        let reqs = requests(path);
        let r = report_of(path);
        let mut groups: BTreeMap<(String, String), Vec<&Req>> = BTreeMap::new();
        for q in reqs.iter().filter(|q| q.watch) {
            groups
                .entry((q.client.clone(), q.resource.clone()))
                .or_default()
                .push(q);
        }
        let rows = r["watches"].as_array().unwrap();
        let got: BTreeSet<(String, String)> = rows
            .iter()
            .map(|w| (s(&w["client"]), s(&w["resource"])))
            .collect();
        assert_eq!(
            got,
            groups.keys().cloned().collect::<BTreeSet<_>>(),
            "{path}: watch rows"
        );
        // Sorted by count descending, then client and resource.
        let order: Vec<(u64, String, String)> = rows
            .iter()
            .map(|w| (u(&w["count"]), s(&w["client"]), s(&w["resource"])))
            .collect();
        let mut sorted = order.clone();
        sorted.sort_by(|a, b| b.0.cmp(&a.0).then((&a.1, &a.2).cmp(&(&b.1, &b.2))));
        assert_eq!(order, sorted, "{path}: watch order");
        for row in rows {
            let key = (s(&row["client"]), s(&row["resource"]));
            let what = format!("{path} watches {key:?}");
            let ws = &groups[&key];
            let with_timeout: Vec<&Req> = ws
                .iter()
                .copied()
                .filter(|w| w.timeout_s().is_some())
                .collect();
            let timed: Vec<&Req> = with_timeout
                .iter()
                .copied()
                .filter(|w| w.duration().is_some())
                .collect();
            let early: Vec<&Req> = timed
                .iter()
                .copied()
                .filter(|w| {
                    (w.duration().unwrap() as f64) < w.timeout_s().unwrap() as f64 * 1e6 * 0.5
                })
                .collect();
            let lists: u64 = reqs
                .iter()
                .filter(|q| q.plain_list() && q.client == key.0 && q.resource == key.1)
                .count() as u64;
            let want: BTreeMap<&str, u64> = BTreeMap::from([
                ("count", ws.len() as u64),
                ("with_timeout", with_timeout.len() as u64),
                ("timed", timed.len() as u64),
                ("ended_early", early.len() as u64),
                (
                    "initial_events",
                    ws.iter()
                        .filter(|w| truthy(w.query.get("sendInitialEvents")))
                        .count() as u64,
                ),
                ("lists", lists),
                ("errors", ws.iter().filter(|w| w.code >= 400).count() as u64),
            ]);
            let have: BTreeMap<&str, u64> = want.keys().map(|k| (*k, u(&row[*k]))).collect();
            assert_eq!(have, want, "{what}");
            if with_timeout.is_empty() {
                assert!(row["mean_timeout_s"].is_null(), "{what}");
            } else {
                let mean = with_timeout
                    .iter()
                    .map(|w| w.timeout_s().unwrap())
                    .sum::<i64>() as f64
                    / with_timeout.len() as f64;
                let got = row["mean_timeout_s"].as_f64().unwrap();
                assert!(
                    (got - mean).abs() < 1e-9,
                    "{what}: mean_timeout_s {got} {mean}"
                );
                timeouts_checked += with_timeout.len();
            }
            let d: Vec<i64> = ws.iter().filter_map(|w| w.duration()).collect();
            durations_checked += d.len();
            check_latency(&row["duration_ms"], d, &format!("{what} duration_ms"));
            check_first_last(row, time_range(ws.iter().copied()), &what);
            let ids: Vec<String> = row["sample_audit_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(s)
                .collect();
            assert_eq!(ids, earliest_ids(early.into_iter()), "{what}: samples");
        }
    }
    // The samples hold what the table is about (not an empty comparison).
    assert!(
        durations_checked >= 5,
        "{durations_checked} watch durations"
    );
    assert!(timeouts_checked >= 50, "{timeouts_checked} watch timeouts");
}

/// The resourceVersion category and whether the watch cache serves it (the table of
/// docs/report-schema.md "LIST resourceVersion semantics").
fn rv_category(q: &BTreeMap<String, String>, consistent_from_cache: bool) -> (&'static str, bool) {
    let get = |k: &str| q.get(k).map_or("", String::as_str);
    let limit = get("limit").parse::<i64>().is_ok_and(|l| l > 0);
    if !get("continue").is_empty() {
        return ("continue", false);
    }
    match (get("resourceVersion"), get("resourceVersionMatch")) {
        ("", _) => ("consistent", !limit && consistent_from_cache),
        ("0", _) => ("any", true),
        (_, "Exact") => ("exact", false),
        (_, "") if limit => ("legacy_exact", false),
        (_, _) => ("not_older_than", !limit),
    }
}

/// `kube-apiserver/v1.M` or `kube-controller-manager/v1.M` userAgents: the highest minor.
fn server_minor(reqs: &[Req]) -> Option<u64> {
    reqs.iter()
        .filter_map(|r| {
            ["kube-apiserver/v1.", "kube-controller-manager/v1."]
                .iter()
                .find_map(|p| r.user_agent.strip_prefix(p))
        })
        .filter_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .max()
}

#[test]
fn list_serving_and_every_list_counter_are_recomputed_from_the_real_samples() {
    let mut by_category: BTreeMap<&str, u64> = BTreeMap::new();
    for path in SAMPLES {
        let reqs = requests(path);
        let r = report_of(path);
        let minor = server_minor(&reqs);
        let from_cache = minor.is_some_and(|m| m >= 31);
        assert_eq!(
            r["summary"]["consistent_list_from_cache"],
            minor.map_or(Value::Null, |m| Value::Bool(m >= 31)),
            "{path}"
        );
        let mut want: BTreeMap<(String, String, String), BTreeMap<String, u64>> = BTreeMap::new();
        let mut lat: BTreeMap<(String, String, String), Vec<i64>> = BTreeMap::new();
        let mut lists: BTreeMap<(String, String, String), Vec<&Req>> = BTreeMap::new();
        for q in reqs.iter().filter(|q| q.plain_list()) {
            let key = (q.user_agent.clone(), q.client.clone(), q.resource.clone());
            let (cat, mut cache) = rv_category(&q.query, from_cache);
            *by_category.entry(cat).or_default() += 1;
            let c = want.entry(key.clone()).or_default();
            let mut add =
                |k: &str, yes: bool| *c.entry(k.to_owned()).or_default() += u64::from(yes);
            let nonempty = |k: &str| q.query.get(k).is_some_and(|v| !v.is_empty());
            let annotated = q.etcd_us.is_some();
            let by_annotation =
                cache && matches!((q.etcd_us, q.latency), (Some(e), Some(l)) if e * 2 >= l);
            if by_annotation {
                cache = false;
            }
            add("count", true);
            for category in [
                "consistent",
                "any",
                "not_older_than",
                "exact",
                "legacy_exact",
                "continue",
            ] {
                add(&format!("rv.{category}"), cat == category);
            }
            add("served_from_cache", cache);
            add("served_from_etcd", !cache);
            add("etcd_annotated", annotated);
            add("etcd_by_annotation", by_annotation);
            add("cluster_scope", !q.namespaced);
            add("namespaced", q.namespaced);
            add(
                "paginated",
                q.query
                    .get("limit")
                    .and_then(|l| l.parse::<i64>().ok())
                    .is_some_and(|l| l > 0),
            );
            add("continue_pages", nonempty("continue"));
            add("label_selector", nonempty("labelSelector"));
            add("field_selector", nonempty("fieldSelector"));
            add("errors", q.code >= 400);
            lat.entry(key.clone()).or_default().extend(q.latency);
            lists.entry(key).or_default().push(q);
        }
        let rows = r["lists"].as_array().unwrap();
        assert_eq!(rows.len(), want.len(), "{path}: LIST rows");
        for row in rows {
            let key = (
                s(&row["user_agent"]),
                s(&row["client"]),
                s(&row["resource"]),
            );
            let what = format!("{path} lists {key:?}");
            let w = want
                .get(&key)
                .unwrap_or_else(|| panic!("{what}: not in the log"));
            let have: BTreeMap<String, u64> = w
                .keys()
                .map(|k| {
                    let v = match k.strip_prefix("rv.") {
                        Some(cat) => &row["resource_version"][cat],
                        None => &row[k.as_str()],
                    };
                    (k.clone(), u(v))
                })
                .collect();
            assert_eq!(&have, w, "{what}");
            check_latency(&row["latency_ms"], lat[&key].clone(), &what);
            check_first_last(row, time_range(lists[&key].iter().copied()), &what);
        }
    }
    // The samples exercise the inference both ways (cache and etcd, several categories).
    for cat in ["consistent", "any", "not_older_than"] {
        assert!(
            by_category.get(cat).copied().unwrap_or(0) >= 5,
            "{by_category:?}"
        );
    }
}

#[test]
fn per_client_reads_latency_peaks_and_p99_qpm_are_recomputed_from_the_real_samples() {
    let mut latency_clients = 0;
    let mut multi_minute = 0;
    for path in SAMPLES {
        let reqs = requests(path);
        let r = report_of(path);
        let span = request_minutes(&reqs);
        let mut by_client: BTreeMap<&str, Vec<&Req>> = BTreeMap::new();
        for q in &reqs {
            by_client.entry(&q.client).or_default().push(q);
        }
        let rows = r["clients"].as_array().unwrap();
        let names: BTreeSet<String> = rows.iter().map(|c| s(&c["client"])).collect();
        assert_eq!(
            names,
            by_client
                .keys()
                .map(|c| (*c).to_owned())
                .collect::<BTreeSet<_>>(),
            "{path}: clients"
        );
        let rate_base = span_seconds(&reqs).max(60.0);
        for row in rows {
            let name = s(&row["client"]);
            let what = format!("{path} client {name}");
            let qs = &by_client[name.as_str()];
            let count = |f: &dyn Fn(&Req) -> bool| qs.iter().filter(|q| f(q)).count() as u64;
            let want: BTreeMap<&str, u64> = BTreeMap::from([
                ("requests", qs.len() as u64),
                (
                    "reads",
                    count(&|q| matches!(q.verb.as_str(), "get" | "list" | "watch")),
                ),
                ("writes", count(&|q| q.write)),
                ("lists", count(&|q| q.plain_list())),
                ("watches", count(&|q| q.watch)),
                ("errors", count(&|q| q.code >= 400)),
                ("long_running", count(&|q| q.long_running)),
            ]);
            let have: BTreeMap<&str, u64> = want.keys().map(|k| (*k, u(&row[*k]))).collect();
            assert_eq!(have, want, "{what}");
            let mean_qps = round(qs.len() as f64 / rate_base, 3);
            assert!(
                (row["mean_qps"].as_f64().unwrap() - mean_qps).abs() < 1e-9,
                "{what}"
            );
            // Users: the most frequent (ties to the first name), distinct, top 5.
            let mut users: BTreeMap<&str, u64> = BTreeMap::new();
            for q in qs {
                *users.entry(&q.user).or_default() += 1;
            }
            let mut top: Vec<(&str, u64)> = users.iter().map(|(n, c)| (*n, *c)).collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            assert_eq!(s(&row["user"]), top[0].0, "{what}: user");
            assert_eq!(u(&row["distinct_users"]), users.len() as u64, "{what}");
            let top_users: Vec<(String, u64)> = row["top_users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (s(&t["name"]), u(&t["count"])))
                .collect();
            let want_top: Vec<(String, u64)> = top
                .iter()
                .take(5)
                .map(|(n, c)| ((*n).to_owned(), *c))
                .collect();
            assert_eq!(top_users, want_top, "{what}: top_users");
            // Latency: the SLO-class requests that log both timestamps.
            let lat: Vec<i64> = qs
                .iter()
                .filter(|q| q.slo_class().is_some())
                .filter_map(|q| q.latency)
                .collect();
            latency_clients += usize::from(!lat.is_empty());
            check_latency(&row["latency_ms"], lat, &format!("{what} latency_ms"));
            // Per minute: the peak (ties to the earliest), and p99 over every minute of the span.
            let mut minutes: BTreeMap<i64, u64> = BTreeMap::new();
            for m in qs.iter().filter_map(|q| q.minute()) {
                *minutes.entry(m).or_default() += 1;
            }
            let peak = minutes
                .iter()
                .max_by_key(|(m, c)| (**c, std::cmp::Reverse(**m)));
            assert_eq!(
                u(&row["peak_qpm"]),
                peak.map_or(0, |p| *p.1),
                "{what}: peak_qpm"
            );
            assert_eq!(
                ts(&row["peak_minute"]).map(|t| t / MINUTE_US),
                peak.map(|p| *p.0),
                "{what}: peak_minute"
            );
            let (a, b) = span.unwrap();
            let mut dense: Vec<u64> = (a..=b)
                .map(|m| minutes.get(&m).copied().unwrap_or(0))
                .collect();
            dense.sort_unstable();
            let p99 = dense[((0.99 * dense.len() as f64).ceil() as usize).max(1) - 1];
            assert_eq!(
                u(&row["p99_qpm"]),
                p99,
                "{what}: p99_qpm over {} minutes",
                dense.len()
            );
            multi_minute += usize::from(dense.len() > 1 && p99 > 0);
            check_first_last(row, time_range(qs.iter().copied()), &what);
            let ids: Vec<String> = row["sample_audit_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(s)
                .collect();
            assert_eq!(ids, earliest_ids(qs.iter().copied()), "{what}: samples");
        }
    }
    assert!(
        latency_clients >= 10,
        "{latency_clients} clients with latency"
    );
    assert!(
        multi_minute >= 10,
        "{multi_minute} clients with a p99 over several minutes"
    );
}

/// `is_system` on the username: `system:*`, service accounts only in kube-system.
fn is_system(user: &str) -> bool {
    match user.strip_prefix("system:serviceaccount:") {
        Some(rest) => rest.starts_with("kube-system:"),
        None => user.starts_with("system:"),
    }
}

#[test]
fn health_minutes_and_slo_windows_are_recomputed_from_the_real_samples() {
    let (mut failed, mut minutes_checked) = (0, 0);
    let mut slo_calls = 0;
    for path in SAMPLES {
        let reqs = requests(path);
        let r = report_of(path);
        let h = &r["health"];
        // Per minute × class: short requests, failed = 5xx or 429.
        let mut minutes: BTreeMap<i64, [(u64, u64); 2]> = BTreeMap::new();
        for q in reqs.iter().filter(|q| q.short()) {
            let Some(m) = q.minute() else { continue };
            let slot = &mut minutes.entry(m).or_default()[usize::from(!is_system(&q.user))];
            slot.0 += 1;
            slot.1 += u64::from(q.failed_health());
        }
        let class = |c: (u64, u64)| {
            if c.0 == 0 {
                Value::Null
            } else {
                serde_json::json!({"requests": c.0, "failed": c.1,
                    "success_rate": round(1.0 - c.1 as f64 / c.0 as f64, 4)})
            }
        };
        let want: Vec<Value> = minutes
            .iter()
            .map(|(m, [sys, work])| {
                serde_json::json!({"minute": m * 60, "system": class(*sys), "workload": class(*work)})
            })
            .collect();
        let have: Vec<Value> = h["minutes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let mut m = m.clone();
                m["minute"] = (ts(&m["minute"]).unwrap() / 1_000_000).into();
                m
            })
            .collect();
        assert_eq!(have, want, "{path}: health.minutes");
        minutes_checked += want.len();
        failed += reqs
            .iter()
            .filter(|q| q.short() && q.failed_health())
            .count();
        let below: Vec<i64> = minutes
            .iter()
            .filter(|(_, cs)| {
                cs.iter()
                    .any(|c| c.0 > 0 && round(1.0 - c.1 as f64 / c.0 as f64, 4) < 0.99)
            })
            .map(|(m, _)| *m)
            .collect();
        let have_below: Vec<i64> = h["below_threshold"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| ts(m).unwrap() / MINUTE_US)
            .collect();
        assert_eq!(have_below, below, "{path}: below_threshold");

        // SLO windows: 5-minute windows × resource (no subresource) × class.
        let mut windows: BTreeMap<(i64, String, &str), (u64, u64, i64)> = BTreeMap::new();
        for q in &reqs {
            let (Some((class, threshold_s)), Some(lat), Some(t)) =
                (q.slo_class(), q.latency, q.time)
            else {
                continue;
            };
            let w = windows
                .entry((t.div_euclid(5 * MINUTE_US), q.resource.clone(), class))
                .or_insert((0, 0, threshold_s));
            w.0 += 1;
            w.1 += u64::from(lat > threshold_s * 1_000_000);
            slo_calls += 1;
        }
        assert_eq!(u(&h["slo_windows_checked"]), windows.len() as u64, "{path}");
        let want: Vec<(i64, String, String, u64, u64, f64)> = windows
            .iter()
            .filter(|(_, (calls, over, _))| over * 100 > *calls)
            .map(|((w, res, class), (calls, over, th))| {
                (
                    w * 300,
                    res.clone(),
                    (*class).to_owned(),
                    *calls,
                    *over,
                    *th as f64,
                )
            })
            .collect();
        let have: Vec<(i64, String, String, u64, u64, f64)> = h["slo_violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    ts(&v["window"]).unwrap() / 1_000_000,
                    s(&v["resource"]),
                    s(&v["class"]),
                    u(&v["calls"]),
                    u(&v["over"]),
                    v["threshold_s"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(have, want, "{path}: slo_violations");
    }
    assert!(
        failed >= 1 && minutes_checked >= 5,
        "{failed} failed, {minutes_checked} minutes"
    );
    assert!(slo_calls >= 50, "{slo_calls} SLO calls");
}

/// The EKS tiers of docs/report-schema.md `sizing.tier`: (name, seats, pod bindings/s).
const TIERS: [(&str, f64, Option<f64>); 5] = [
    ("Standard", 600.0, None),
    ("XL", 1700.0, Some(167.0)),
    ("2XL", 3400.0, Some(283.0)),
    ("4XL", 6800.0, Some(400.0)),
    ("8XL", 13600.0, Some(400.0)),
];

fn tier(peak_seats: f64, bindings: f64) -> (&'static str, bool) {
    let (seats, binds) = (peak_seats * 1.2, bindings * 1.2);
    let covers = |limit: f64, need: f64| need <= limit * (1.0 + 1e-9);
    for (name, limit, rate) in TIERS {
        let bind_ok = match rate {
            Some(r) => covers(r, binds),
            None => binds < 167.0,
        };
        if covers(limit, seats) && bind_ok {
            return (name, false);
        }
    }
    ("8XL", true)
}

#[test]
fn sizing_seats_bindings_and_tier_are_recomputed_from_the_real_samples() {
    let mut seated = 0;
    for path in SAMPLES {
        let reqs = requests(path);
        let r = report_of(path);
        let z = &r["sizing"];
        let what = format!("{path} sizing");
        let (a, b) = span_minutes(&reqs).unwrap();
        // Seat-seconds per minute: latency × width (+0.05 s for a write), spread over the
        // minutes of [received, received + latency] by overlap.
        let mut per_minute = vec![0.0f64; (b - a + 1) as usize];
        let mut per_client: BTreeMap<&str, f64> = BTreeMap::new();
        for q in reqs.iter().filter(|q| q.short()) {
            let (Some(lat), Some(t0)) = (q.latency, q.received) else {
                continue;
            };
            let width = if q.plain_list() && !q.namespaced {
                10.0
            } else {
                1.0
            };
            let total = lat as f64 / 1e6 * width + if q.write { 0.05 } else { 0.0 };
            *per_client.entry(&q.client).or_default() += total;
            seated += 1;
            let t1 = t0 + lat;
            for m in t0.div_euclid(MINUTE_US)..=t1.div_euclid(MINUTE_US) {
                let share = if lat == 0 {
                    1.0
                } else {
                    let (lo, hi) = ((m * MINUTE_US).max(t0), ((m + 1) * MINUTE_US).min(t1));
                    (hi - lo).max(0) as f64 / lat as f64
                };
                if (a..=b).contains(&m) {
                    per_minute[(m - a) as usize] += total * share;
                }
            }
        }
        let seats: Vec<f64> = per_minute.iter().map(|s| s / 60.0).collect();
        let peak = seats.iter().copied().fold(0.0, f64::max);
        let close = |got: &Value, want: f64, f: &str| {
            let got = got.as_f64().unwrap();
            assert!(
                (got - round(want, 2)).abs() <= 0.010_000_1,
                "{what} {f}: {got} vs {want}"
            );
        };
        close(&z["peak_seats"], peak, "peak_seats");
        if peak > 0.0 {
            let i = seats.iter().position(|s| *s == peak).unwrap() as i64;
            assert_eq!(
                ts(&z["peak_minute"]).map(|t| t / MINUTE_US),
                Some(a + i),
                "{what}"
            );
        } else {
            assert!(z["peak_minute"].is_null(), "{what}");
        }
        let mut sorted = seats.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((0.99 * sorted.len() as f64).ceil() as usize).max(1) - 1;
        close(&z["p99_seats"], sorted[rank], "p99_seats");
        let mut top: Vec<(String, u64)> = per_client
            .iter()
            .map(|(c, s)| ((*c).to_owned(), s.trunc() as u64))
            .filter(|(_, s)| *s >= 1)
            .collect();
        top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        top.truncate(10);
        let have: Vec<(String, u64)> = z["top_clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (s(&c["name"]), u(&c["count"])))
            .collect();
        assert_eq!(have, top, "{what}: top_clients");
        // Pod bindings per second of request time; writes in the busiest minute ÷ 60.
        let mut bindings: BTreeMap<i64, u64> = BTreeMap::new();
        let mut writes: BTreeMap<i64, u64> = BTreeMap::new();
        for q in &reqs {
            if let (true, Some(t)) = (q.binding, q.time) {
                *bindings.entry(t.div_euclid(1_000_000)).or_default() += 1;
            }
            if let (true, Some(m)) = (q.write, q.minute()) {
                *writes.entry(m).or_default() += 1;
            }
        }
        let peak_bind = bindings.values().max().copied().unwrap_or(0);
        assert_eq!(u(&z["peak_pod_bindings_per_second"]), peak_bind, "{what}");
        let peak_writes = writes.values().max().copied().unwrap_or(0) as f64 / 60.0;
        close(
            &z["peak_writes_per_second"],
            peak_writes,
            "peak_writes_per_second",
        );
        let (name, exceeds) = tier(peak, peak_bind as f64);
        assert_eq!(z["tier"]["recommended"], name, "{what}");
        assert_eq!(z["tier"]["exceeds_largest"], exceeds, "{what}");
    }
    assert!(seated >= 50, "{seated} requests held seats");
}

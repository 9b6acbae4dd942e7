//! A week in one screen (#20, the findings half): a loop on many objects is one finding, each
//! finding carries its client's episodes (start and end within a minute of the planted ones,
//! not diluted by the client's normal hourly writes), the rate during the episode sits beside
//! the week's average, and a caller that stopped says when. The week-long logs are written here
//! from a known plan at a few events a minute; every expected value is computed from that plan.

use crate::common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// 2024-05-06T00:00:00Z (a Monday) in µs.
const T0: i64 = 1_714_953_600_000_000;
const SEC: i64 = 1_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

const OPERATOR_SA: &str = "system:serviceaccount:payments:op-controller-manager";
const OPERATOR_UA: &str = "manager/v0.0.0 (linux/amd64) kubernetes/$Format";
const STEADY_SA: &str = "system:serviceaccount:kube-system:config-reader";
const OLD_SA: &str = "system:serviceaccount:ci:helm-deployer";

/// One request of the plan.
struct Req {
    at: i64,
    verb: &'static str,
    user: &'static str,
    ua: &'static str,
    /// `(group, version)`.
    api: (&'static str, &'static str),
    resource: &'static str,
    ns: &'static str,
    name: String,
    deprecated_in: Option<&'static str>,
    code: u16,
    /// `responseStatus.reason` (an APF rejection has none; a PDB's 429 says TooManyRequests).
    reason: Option<&'static str>,
    /// Subresource (`eviction`, `token`), or empty.
    sub: &'static str,
}

impl Req {
    fn json(&self, id: usize) -> Value {
        let ts = |us: i64| {
            chrono::DateTime::from_timestamp_micros(us)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string()
        };
        let (group, version) = self.api;
        let mut uri = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        if !self.ns.is_empty() {
            let _ = write!(uri, "/namespaces/{}", self.ns);
        }
        let _ = write!(uri, "/{}", self.resource);
        if !self.name.is_empty() {
            let _ = write!(uri, "/{}", self.name);
        }
        if !self.sub.is_empty() {
            let _ = write!(uri, "/{}", self.sub);
        }
        let mut obj = json!({"resource": self.resource, "apiVersion": version});
        for (k, v) in [
            ("namespace", self.ns),
            ("name", &self.name),
            ("apiGroup", group),
            ("subresource", self.sub),
        ] {
            if !v.is_empty() {
                obj[k] = json!(v);
            }
        }
        let mut annotations = json!({});
        if let Some(rel) = self.deprecated_in {
            annotations = json!({"k8s.io/deprecated": "true", "k8s.io/removed-release": rel});
        }
        let mut status = json!({"metadata": {}, "code": self.code});
        if let Some(reason) = self.reason {
            status["reason"] = json!(reason);
        }
        json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": format!("week-{id:08}"), "stage": "ResponseComplete",
            "requestURI": uri, "verb": self.verb, "user": {"username": self.user},
            "userAgent": self.ua, "objectRef": obj,
            "responseStatus": status,
            "requestReceivedTimestamp": ts(self.at),
            "stageTimestamp": ts(self.at + 4_000),
            "annotations": annotations,
        })
    }
}

fn req(at: i64, verb: &'static str, user: &'static str, ua: &'static str) -> Req {
    Req {
        at,
        verb,
        user,
        ua,
        api: ("", "v1"),
        resource: "configmaps",
        ns: "",
        name: String::new(),
        deprecated_in: None,
        code: 200,
        reason: None,
        sub: "",
    }
}

/// Writes `v` (sorted here) as JSON lines.
fn write_lines(path: &Path, mut v: Vec<Req>) {
    v.sort_by_key(|r| r.at);
    let text: String = v
        .iter()
        .enumerate()
        .map(|(i, r)| r.json(i).to_string() + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

/// The plan: what was written, and the numbers the assertions need.
struct Week {
    path: PathBuf,
    /// The loop: `[start, end)` of its minutes.
    incident: (i64, i64),
    /// Objects the loop wrote at least 10 times in at least 3 minutes (AS201's defaults).
    looped_objects: usize,
    /// The operator's requests inside the incident.
    incident_requests: u64,
    /// The operator's requests over the week.
    operator_requests: u64,
    /// The last call of the stopped caller.
    stopped: i64,
    /// The log's span, s.
    span_s: f64,
}

/// Minute `t`'s steady traffic: the apiserver's own GET (its userAgent gives the server
/// version, 1.29) and a steady reader's.
fn every_minute(v: &mut Vec<Req>, t: i64) {
    let mut own = req(
        t,
        "get",
        "system:apiserver",
        "kube-apiserver/v1.29.3 (linux/amd64) kubernetes/6813625",
    );
    own.resource = "namespaces";
    own.name = "default".into();
    v.push(own);
    let mut steady = req(t + 20 * SEC, "get", STEADY_SA, "config-reader/1.0");
    steady.ns = "kube-system";
    steady.name = "cluster-info".into();
    v.push(steady);
}

/// The operator's week: hourly writes to 40 ConfigMaps all week and its 30-minute loop on day
/// 4 from 02:11 (each of the 40 objects every 5 s); returns the loop's `[start, end)`.
fn operator_week(v: &mut Vec<Req>) -> (i64, i64) {
    let op = |at: i64, i: usize| {
        let mut r = req(at, "update", OPERATOR_SA, OPERATOR_UA);
        r.ns = "payments";
        r.name = format!("app-state-{i:02}");
        r
    };
    for h in 0..7 * 24 {
        for i in 0..40 {
            v.push(op(T0 + h * HOUR + 35 * MIN + i as i64 * SEC, i));
        }
    }
    let start = T0 + 3 * DAY + 2 * HOUR + 11 * MIN;
    let end = start + 30 * MIN;
    let mut t = start;
    while t < end {
        for i in 0..40 {
            v.push(op(t + i as i64 * 100_000, i));
        }
        t += 5 * SEC;
    }
    (start, end)
}

/// Writes a week: the apiserver's own GET every minute (the server version, 1.29), a steady
/// reader every minute, the operator's hourly writes to 40 ConfigMaps all week, its
/// 30-minute loop on day 4 (each of the 40 objects every 5 s), and a removed-API caller every
/// 10 minutes until day 2, 13:00.
fn write_week(dir: &Path) -> Week {
    let mut v: Vec<Req> = Vec::new();
    let minutes = 7 * 24 * 60;
    for m in 0..minutes {
        let t = T0 + m * MIN;
        every_minute(&mut v, t);
    }
    let (start, end) = operator_week(&mut v);
    let stopped_at = T0 + DAY + 13 * HOUR;
    let mut t = T0 + 3 * MIN;
    let mut stopped = t;
    while t <= stopped_at {
        let mut r = req(t, "get", OLD_SA, "Helm/3.9.0");
        r.api = ("flowcontrol.apiserver.k8s.io", "v1beta2");
        r.resource = "flowschemas";
        r.name = "global-default".into();
        r.deprecated_in = Some("1.29");
        v.push(r);
        stopped = t;
        t += 10 * MIN;
    }
    v.sort_by_key(|r| r.at);
    // The expected values, from the plan (the hourly writes add one a minute per object at most).
    let mut per_object_minute: BTreeMap<(usize, i64), u64> = BTreeMap::new();
    for r in v.iter().filter(|r| r.user == OPERATOR_SA) {
        let i: usize = r.name["app-state-".len()..].parse().unwrap();
        *per_object_minute
            .entry((i, r.at.div_euclid(MIN)))
            .or_default() += 1;
    }
    let mut hot: BTreeMap<usize, u64> = BTreeMap::new();
    for ((i, _), n) in &per_object_minute {
        if *n >= 10 {
            *hot.entry(*i).or_default() += 1;
        }
    }
    let operator = v.iter().filter(|r| r.user == OPERATOR_SA);
    let incident_requests = operator
        .clone()
        .filter(|r| (start..end).contains(&r.at))
        .count() as u64;
    let span_s = (v.last().unwrap().at + 4_000 - v[0].at) as f64 / 1e6;
    let week = Week {
        path: dir.join("week.jsonl"),
        incident: (start, end),
        looped_objects: hot.values().filter(|m| **m >= 3).count(),
        incident_requests,
        operator_requests: operator.count() as u64,
        stopped,
        span_s,
    };
    write_lines(&week.path, v);
    week
}

fn us(t: &Value) -> i64 {
    let s = t.as_str().unwrap_or_else(|| panic!("a time, got {t}"));
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_micros()
}

fn findings<'a>(r: &'a Value, rule: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn within_a_minute(got: i64, want: i64, what: &str) {
    assert!(
        (got - want).abs() <= MIN,
        "{what}: {got} is not within a minute of {want}"
    );
}

#[test]
fn a_week_with_one_incident_reads_as_one_episode_per_client_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let week = write_week(dir.path());
    let r = common::report(&[week.path.to_str().unwrap(), "--top", "50"]);
    let operator = "manager@payments/op-controller-manager";

    // One AS201 finding for the loop on 40 objects, with all of them as evidence.
    let loops = findings(&r, "AS201");
    assert_eq!(loops.len(), 1, "{loops:#?}");
    let f = loops[0];
    assert_eq!(f["client"], operator);
    assert_eq!(f["resource"], "configmaps");
    assert_eq!(week.looped_objects, 40);
    let d = &f["evidence"]["details"];
    assert_eq!(d["objects"], week.looped_objects, "{d:#}");
    assert_eq!(
        d["all_objects"].as_array().unwrap().len(),
        week.looped_objects
    );
    assert_eq!(d["object_pattern"], "payments/app-state-*");
    assert!(f["object"].is_null(), "a group names no single object");

    // Its episode is the planted loop, and its window is the episode's, not Monday to Sunday.
    assert_eq!(f["temporal"], "episode", "{f:#}");
    let eps = f["episodes"].as_array().unwrap();
    assert_eq!(eps.len(), 1, "{eps:#?}");
    let (start, end) = week.incident;
    within_a_minute(us(&eps[0]["start"]), start, "episode start");
    within_a_minute(us(&eps[0]["end"]), end, "episode end");
    let peak = us(&eps[0]["peak_minute"]);
    assert!(
        (start - MIN..end).contains(&peak),
        "peak minute in the loop"
    );
    within_a_minute(us(&f["evidence"]["first"]), start, "finding first");
    within_a_minute(us(&f["evidence"]["last"]), end, "finding last");

    // The rate during the episode beside the week's average, in the evidence and the headline.
    let episode_s = (us(&eps[0]["end"]) - us(&eps[0]["start"])) as f64 / 1e6;
    let active = week.incident_requests as f64 / episode_s;
    let got = f["evidence"]["active_per_second"].as_f64().unwrap();
    assert!(
        (got - active).abs() <= 0.1 * active,
        "active rate {got} vs {active}"
    );
    let avg = week.operator_requests as f64 / week.span_s;
    let got_avg = f["evidence"]["window_per_second"].as_f64().unwrap();
    assert!(
        (got_avg - avg).abs() < 0.01,
        "window rate {got_avg} vs {avg}"
    );
    let h = f["headline"].as_str().unwrap();
    assert!(h.contains("/s during 2024-05-09 02:1"), "{h}");
    let said = h
        .split("/s over the 7-day window")
        .next()
        .and_then(|p| p.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no window rate in {h}"));
    assert!((said - avg).abs() <= 0.006, "{said} vs {avg} in {h}");

    // The steady reader has no episode; the removed-API caller stopped on day 2 and says when.
    let steady = r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["user"] == STEADY_SA)
        .unwrap();
    assert_eq!(steady["episodes"], json!([]));
    let old = findings(&r, "AS401");
    assert_eq!(old.len(), 1, "{old:#?}");
    assert_eq!(old[0]["temporal"], "ended");
    within_a_minute(us(&old[0]["stopped_at"]), week.stopped, "stopped at");
    let stop = chrono::DateTime::from_timestamp_micros(week.stopped).unwrap();
    let said = format!("stopped at {} UTC", stop.format("%Y-%m-%d %H:%M"));
    assert!(
        old[0]["headline"].as_str().unwrap().contains(&said),
        "{}",
        old[0]["headline"]
    );
}

#[test]
fn a_loop_on_40_objects_is_one_finding_with_them_as_evidence() {
    // One hour: the same operator writes each of 40 Secrets 12 times a minute for 5 minutes.
    let dir = tempfile::tempdir().unwrap();
    let mut v = Vec::new();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for m in 0..60 {
        v.push(req(T0 + m * MIN, "get", STEADY_SA, "config-reader/1.0"));
    }
    for s in 0..5 * 12 {
        for i in 0..40 {
            let mut r = req(
                T0 + 10 * MIN + s * 5 * SEC + i,
                "update",
                OPERATOR_SA,
                OPERATOR_UA,
            );
            r.resource = "secrets";
            r.ns = if i % 2 == 0 { "team-a" } else { "team-b" };
            r.name = format!("token-{i}");
            *expected.entry(format!("{}/{}", r.ns, r.name)).or_default() += 1;
            v.push(r);
        }
    }
    let path = dir.path().join("loop.jsonl");
    write_lines(&path, v);
    let r = common::report(&[path.to_str().unwrap(), "--top", "50"]);
    let loops = findings(&r, "AS201");
    assert_eq!(loops.len(), 1, "{loops:#?}");
    let d = &loops[0]["evidence"]["details"];
    assert_eq!(d["objects"], expected.len());
    assert_eq!(d["writes"], expected.values().sum::<u64>());
    assert_eq!(d["object_pattern"], "*/token-*");
    let mut all: Vec<String> = d["all_objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_owned())
        .collect();
    all.sort();
    assert_eq!(all, expected.keys().cloned().collect::<Vec<_>>());
    assert!(
        loops[0]["headline"]
            .as_str()
            .unwrap()
            .contains("40 objects */token-*"),
        "{}",
        loops[0]["headline"]
    );
}

#[test]
fn a_rule_threshold_is_judged_over_the_finding_s_own_window() {
    // 25 hours; in hour 12 a poller GETs a missing ConfigMap every 8 s for 20 minutes: 6 an hour
    // over the log, far more over the 20 minutes it ran (judged over at least an hour).
    let dir = tempfile::tempdir().unwrap();
    let mut v = Vec::new();
    for m in 0..25 * 60 {
        v.push(req(T0 + m * MIN, "get", STEADY_SA, "config-reader/1.0"));
    }
    let start = T0 + 12 * HOUR;
    let misses: Vec<i64> = (0..150).map(|i| start + i * 8 * SEC).collect();
    for &at in &misses {
        let mut r = req(
            at,
            "get",
            "system:serviceaccount:team-x:cfg-watcher",
            "cfg-watcher/2.1",
        );
        r.ns = "team-x";
        r.name = "feature-flags".into();
        r.code = 404;
        v.push(r);
    }
    let path = dir.path().join("poller.jsonl");
    write_lines(&path, v);
    let r = common::report(&[path.to_str().unwrap(), "--top", "50"]);
    let f = findings(&r, "AS303");
    assert_eq!(f.len(), 1, "{:#?}", r["findings"]);
    let window_s = (misses[misses.len() - 1] - misses[0]) as f64 / 1e6;
    let per_hour = misses.len() as f64 / (window_s.max(3600.0) / 3600.0);
    assert!(
        (f[0]["evidence"]["value"].as_f64().unwrap() - per_hour).abs() < 0.1,
        "{} vs {per_hour}",
        f[0]["evidence"]["value"]
    );
    let over_the_log = misses.len() as f64 / 25.0;
    assert!(
        over_the_log < 120.0,
        "the whole log's rate alone stays under the default"
    );
}

/// The incident week: the apiserver's own GET and a steady reader every minute; confounders
/// all week — one node's Lease renewed every 10 s (upstream's kubelet period), the kubelet's
/// TokenRequests (virtual creates), a descheduler's evictions refused by a PodDisruptionBudget
/// (429 TooManyRequests), a job's create answered 409 AlreadyExists, a second controller behind
/// the same `manager/v0.0.0` userAgent; a Helm caller of an API removed in 1.29 all week (the
/// upgrade blocker); and on day 4, 02:11–02:41, the incident: the operator's loop on 40
/// ConfigMaps and a poller LISTing every pod each second, half of it rejected by APF (429
/// without a reason).
fn write_incident_week(dir: &Path) -> (PathBuf, (i64, i64)) {
    const NODE: &str = "system:node:ip-10-0-1-7.ec2.internal";
    const KUBELET: &str = "kubelet/v1.29.3 (linux/amd64) kubernetes/6813625";
    let mut v: Vec<Req> = Vec::new();
    for m in 0..7 * 24 * 60 {
        let t = T0 + m * MIN;
        every_minute(&mut v, t);
        let mut cart = req(
            t + 40 * SEC,
            "get",
            "system:serviceaccount:shop:cart-controller-manager",
            OPERATOR_UA,
        );
        cart.ns = "shop";
        cart.name = "cart-config".into();
        v.push(cart);
        for s in (0..60).step_by(10) {
            let mut lease = req(t + s * SEC, "update", NODE, KUBELET);
            lease.api = ("coordination.k8s.io", "v1");
            lease.resource = "leases";
            lease.ns = "kube-node-lease";
            lease.name = "ip-10-0-1-7.ec2.internal".into();
            v.push(lease);
        }
        if m % 2 == 0 {
            let mut evict = req(
                t + 7 * SEC,
                "create",
                "system:serviceaccount:kube-system:descheduler",
                "descheduler/v0.29.0",
            );
            evict.resource = "pods";
            evict.sub = "eviction";
            evict.ns = "payments";
            evict.name = format!("api-{}", m % 7);
            evict.code = 429;
            evict.reason = Some("TooManyRequests");
            v.push(evict);
        }
        if m % 5 == 0 {
            let mut lock = req(
                t + 9 * SEC,
                "create",
                "system:serviceaccount:batch:nightly-job",
                "nightly-job/2.1",
            );
            lock.ns = "batch";
            lock.code = 409;
            lock.reason = Some("AlreadyExists");
            v.push(lock);
        }
        if m % 10 == 0 {
            let mut token = req(t + 11 * SEC, "create", NODE, KUBELET);
            token.resource = "serviceaccounts";
            token.sub = "token";
            token.ns = "payments";
            token.name = "op-controller-manager".into();
            token.code = 201;
            v.push(token);
            let mut old = req(t + 3 * MIN, "get", OLD_SA, "Helm/3.9.0");
            old.api = ("flowcontrol.apiserver.k8s.io", "v1beta2");
            old.resource = "flowschemas";
            old.name = "global-default".into();
            old.deprecated_in = Some("1.29");
            v.push(old);
        }
    }
    let (start, end) = operator_week(&mut v);
    let mut t = start;
    let mut n = 0;
    while t < end {
        let mut list = req(
            t + 500_000,
            "list",
            "system:serviceaccount:monitoring:grafana-poller",
            "grafana-agent/0.40.2 (linux/amd64)",
        );
        list.resource = "pods";
        list.code = if n % 2 == 0 { 429 } else { 200 };
        v.push(list);
        n += 1;
        t += SEC;
    }
    let path = dir.join("incident-week.jsonl");
    write_lines(&path, v);
    (path, (start, end))
}

/// #20's Done-when: the default report of a 7-day log ranks the planted incident's causes, the
/// upgrade blocker and the rejected-requests finding in its top 5, and none of the confounders
/// there. The expected rules follow the rule docs (`audit-scan rules`): a loop on objects is
/// AS201, 429 answers to a client AS301, a call to an API removed in the cluster's release AS401.
#[test]
fn a_week_s_top_five_holds_the_incident_the_upgrade_blocker_and_the_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let (path, (start, end)) = write_incident_week(dir.path());
    let r = common::report(&[path.to_str().unwrap()]);
    let top: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["client"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for (rule, who) in [
        ("AS201", "op-controller-manager"),
        ("AS301", "grafana-agent"),
        ("AS401", "elm"),
    ] {
        assert!(
            top.iter().any(|(r, c)| r == rule && c.contains(who)),
            "{rule} on {who} is not in the top 5: {top:?}"
        );
    }
    for confounder in ["kubelet", "descheduler", "nightly-job", "cart-controller"] {
        assert!(
            !top.iter().any(|(_, c)| c.contains(confounder)),
            "{confounder} ranks in the top 5: {top:?}"
        );
    }
    // The loop's finding says when: its episode within a minute of the planted 30 minutes.
    let lp = findings(&r, "AS201")
        .into_iter()
        .find(|f| {
            f["client"]
                .as_str()
                .unwrap()
                .contains("op-controller-manager")
        })
        .unwrap();
    let ep = &lp["episodes"][0];
    within_a_minute(us(&ep["start"]), start, "the loop's episode start");
    within_a_minute(us(&ep["end"]), end, "the loop's episode end");
    // The default text report shows the same five first.
    let out = common::run(&["--no-progress", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in the text report:\n{text}"))
    };
    let health = at("\nHealth:");
    for rule in ["AS201", "AS301", "AS401"] {
        assert!(at(rule) < health, "{rule} is listed among the findings");
    }
}

//! Findings an SRE can act on, on hand-built logs with confounders: virtual creates are not etcd
//! writes, quota accounting is not a loop, the ranking puts severity first, rates are judged over
//! each finding's own window, the span comes from the events' coverage. Expected values are
//! computed here from the events written, never read back from the program.

use crate::common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// 2024-05-01T10:00:00Z in µs.
const T0: i64 = 1_714_557_600_000_000;
const MIN: i64 = 60_000_000;
const SEC: i64 = 1_000_000;

/// One audit event, built field by field.
#[derive(Clone)]
struct Ev {
    at: i64,
    latency_us: i64,
    verb: &'static str,
    user: String,
    ua: String,
    group: &'static str,
    resource: &'static str,
    sub: &'static str,
    ns: String,
    name: String,
    code: u16,
    query: String,
    annotations: Value,
    message: String,
    pod: Option<String>,
}

impl Ev {
    fn new(at: i64, verb: &'static str, resource: &'static str) -> Self {
        Self {
            at,
            latency_us: 5_000,
            verb,
            user: "admin".into(),
            ua: "kubectl/v1.30.1 (linux/amd64) kubernetes/6911225".into(),
            group: "",
            resource,
            sub: "",
            ns: String::new(),
            name: String::new(),
            code: 200,
            query: String::new(),
            annotations: json!({}),
            message: String::new(),
            pod: None,
        }
    }
    fn by(mut self, user: &str, ua: &str) -> Self {
        self.user = user.into();
        self.ua = ua.into();
        self
    }
    fn obj(mut self, ns: &str, name: &str) -> Self {
        self.ns = ns.into();
        self.name = name.into();
        self
    }
    fn group(mut self, g: &'static str) -> Self {
        self.group = g;
        self
    }
    fn sub(mut self, s: &'static str) -> Self {
        self.sub = s;
        self
    }
    fn code(mut self, c: u16) -> Self {
        self.code = c;
        self
    }
    fn ms(mut self, ms: f64) -> Self {
        self.latency_us = (ms * 1000.0) as i64;
        self
    }
    fn query(mut self, q: &str) -> Self {
        self.query = q.into();
        self
    }
    fn annotate(mut self, k: &str, v: &str) -> Self {
        self.annotations[k] = json!(v);
        self
    }

    fn uri(&self) -> String {
        let mut p = if self.group.is_empty() {
            "/api/v1".to_owned()
        } else {
            format!("/apis/{}/v1", self.group)
        };
        if !self.ns.is_empty() {
            let _ = write!(p, "/namespaces/{}", self.ns);
        }
        let _ = write!(p, "/{}", self.resource);
        if !self.name.is_empty() {
            let _ = write!(p, "/{}", self.name);
        }
        if !self.sub.is_empty() {
            let _ = write!(p, "/{}", self.sub);
        }
        if !self.query.is_empty() {
            let _ = write!(p, "?{}", self.query);
        }
        p
    }

    /// The ResponseComplete event: received at `at`, completed `latency_us` later.
    fn json(&self, id: usize) -> Value {
        let ts = |us: i64| {
            chrono::DateTime::from_timestamp_micros(us)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string()
        };
        let mut obj = json!({"resource": self.resource, "apiVersion": "v1"});
        for (k, v) in [
            ("namespace", self.ns.as_str()),
            ("name", self.name.as_str()),
            ("apiGroup", self.group),
            ("subresource", self.sub),
        ] {
            if !v.is_empty() {
                obj[k] = json!(v);
            }
        }
        let mut status = json!({"metadata": {}, "code": self.code});
        if !self.message.is_empty() {
            status["message"] = json!(self.message);
        }
        let mut user = json!({"username": self.user});
        if let Some(p) = &self.pod {
            user["extra"] = json!({"authentication.kubernetes.io/pod-name": [p]});
        }
        json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": format!("id-{id:08}"), "stage": "ResponseComplete",
            "requestURI": self.uri(), "verb": self.verb, "user": user,
            "userAgent": self.ua, "objectRef": obj, "responseStatus": status,
            "requestReceivedTimestamp": ts(self.at),
            "stageTimestamp": ts(self.at + self.latency_us),
            "annotations": self.annotations,
        })
    }
}

/// Writes `events` (sorted by time) as JSON lines.
fn write_log(dir: &Path, name: &str, mut events: Vec<Ev>) -> PathBuf {
    events.sort_by_key(|e| e.at);
    let path = dir.join(format!("{name}.jsonl"));
    let mut text = String::new();
    for (i, e) in events.iter().enumerate() {
        text.push_str(&e.json(i).to_string());
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// `n` events, one every `every_us` from `start`, made by `f(i, time)`.
fn every(start: i64, every_us: i64, n: i64, f: impl Fn(i64, i64) -> Ev) -> Vec<Ev> {
    (0..n).map(|i| f(i, start + i * every_us)).collect()
}

const KCM: &str = "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625";
const KUBELET: &str = "kubelet/v1.29.3 (linux/amd64) kubernetes/6813625";

fn kcm(controller: &str) -> (String, String) {
    (
        format!("system:serviceaccount:kube-system:{controller}"),
        format!("{KCM}/system:serviceaccount:kube-system:{controller}"),
    )
}

/// Two hours of node heartbeats (5 nodes, a lease every 10 s) and the apiserver's own requests
/// (which give the server version, 1.29): the background of every log here.
fn heartbeats(start: i64, minutes: i64) -> Vec<Ev> {
    let mut v = Vec::new();
    for n in 0..5 {
        let node = format!("ip-10-0-0-{n}");
        v.extend(every(start + n * SEC, 10 * SEC, minutes * 6, |_, t| {
            Ev::new(t, "update", "leases")
                .group("coordination.k8s.io")
                .obj("kube-node-lease", &node)
                .by(&format!("system:node:{node}"), KUBELET)
        }));
    }
    v.extend(every(start, MIN, minutes, |_, t| {
        Ev::new(t, "get", "namespaces").obj("", "default").by(
            "system:apiserver",
            "kube-apiserver/v1.29.3 (linux/amd64) kubernetes/6813625",
        )
    }));
    v
}

fn report_of(path: &Path) -> Value {
    common::report(&[path.to_str().unwrap()])
}

fn findings(r: &Value) -> &Vec<Value> {
    r["findings"].as_array().unwrap()
}

fn client<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == name)
        .unwrap_or_else(|| panic!("no client {name}"))
}

/// Successful writes per client name as the report names clients, computed from the events.
fn expected_writes(events: &[Value], name_of: impl Fn(&Value) -> String) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for e in events.iter().filter(|e| common::is_write(e)) {
        *m.entry(name_of(e)).or_default() += 1;
    }
    m
}

#[test]
fn token_requests_reviews_and_dry_runs_are_not_etcd_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut evs = heartbeats(T0, 120);
    // The kubelet mints tokens for the pods of one service account: 130 a minute for an hour.
    evs.extend(every(T0 + 5 * MIN, MIN / 130, 130 * 60, |i, t| {
        Ev::new(t, "create", "serviceaccounts")
            .sub("token")
            .obj("web", "default")
            .by(&format!("system:node:ip-10-0-0-{}", i % 5), KUBELET)
            .code(201)
    }));
    // An adapter reviews tokens once a second for 30 minutes; kubectl asks what it may do.
    evs.extend(every(T0 + 20 * MIN, SEC, 1800, |_, t| {
        Ev::new(t, "create", "tokenreviews")
            .group("authentication.k8s.io")
            .by(
                "system:serviceaccount:monitoring:prometheus-adapter",
                "adapter/v0.11.2",
            )
            .code(201)
    }));
    for res in [
        "selfsubjectaccessreviews",
        "subjectaccessreviews",
        "selfsubjectrulesreviews",
    ] {
        evs.extend(every(T0 + 30 * MIN, 2 * SEC, 600, |_, t| {
            Ev::new(t, "create", res)
                .group("authorization.k8s.io")
                .code(201)
        }));
    }
    evs.extend(every(T0 + 30 * MIN, 2 * SEC, 600, |_, t| {
        Ev::new(t, "create", "localsubjectaccessreviews")
            .group("authorization.k8s.io")
            .obj("web", "")
            .code(201)
    }));
    // A linter dry-runs one deployment 60 times a minute for 30 minutes.
    evs.extend(every(T0 + 40 * MIN, SEC, 1800, |_, t| {
        Ev::new(t, "patch", "deployments")
            .group("apps")
            .obj("web", "frontend")
            .query("dryRun=All&fieldManager=lint")
            .by("system:serviceaccount:ci:lint", "ci-lint/v1.0.0")
    }));
    // A real loop, so the rule is shown to fire here: 20 updates a minute for 10 minutes.
    evs.extend(every(T0 + 50 * MIN, 3 * SEC, 200, |_, t| {
        Ev::new(t, "update", "configmaps")
            .obj("team", "state")
            .by("system:serviceaccount:team:looper", "looper/v1.0.0")
    }));
    let path = write_log(dir.path(), "virtual", evs);
    let events = common::events(&path);
    let r = report_of(&path);

    let want = expected_writes(&events, |e| {
        let u = e["user"]["username"].as_str().unwrap();
        if u.starts_with("system:node:") {
            "kubelet".into()
        } else {
            u.to_owned()
        }
    });
    let token_creates = events
        .iter()
        .filter(|e| e["objectRef"]["subresource"] == "token")
        .count() as u64;
    assert_eq!(token_creates, 130 * 60);
    assert_eq!(
        client(&r, "kubelet")["writes"],
        want["kubelet"],
        "leases only"
    );
    assert_eq!(
        client(&r, "adapter@monitoring/prometheus-adapter")["writes"],
        0
    );
    assert_eq!(client(&r, "ci-lint@ci/lint")["writes"], 0);
    assert_eq!(client(&r, "kubectl")["writes"], 0);
    // Still requests: the calls table counts every token create.
    let calls: u64 = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["client"] == "kubelet" && c["resource"] == "serviceaccounts/token")
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, token_creates);
    let total_writes: u64 = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["writes"].as_u64().unwrap())
        .sum();
    assert_eq!(total_writes, want.values().sum::<u64>());
    for f in findings(&r) {
        assert!(
            !matches!(f["rule"].as_str(), Some("AS201" | "AS203"))
                || f["client"] == "looper@team/looper",
            "a virtual or dry-run create judged as a write: {f:#}"
        );
    }
    assert!(
        findings(&r)
            .iter()
            .any(|f| f["rule"] == "AS201" && f["object"] == "team/state"),
        "the real loop is found: {:#?}",
        findings(&r)
    );
}

/// Pod churn makes the quota system rewrite a ResourceQuota's status; a loop is more than that.
fn quota_log(dir: &Path, name: &str, quota_per_min: i64, churn_per_min: i64) -> Value {
    let mut evs = heartbeats(T0, 60);
    let (rs_user, rs_ua) = kcm("replicaset-controller");
    let (q_user, q_ua) = kcm("resourcequota-controller");
    evs.extend(every(
        T0,
        MIN / churn_per_min,
        churn_per_min * 60,
        |i, t| {
            let verb = if i % 2 == 0 { "create" } else { "delete" };
            Ev::new(t, verb, "pods")
                .obj("batch", &format!("job-{}", i / 2))
                .by(&rs_user, &rs_ua)
                .code(if verb == "create" { 201 } else { 200 })
        },
    ));
    evs.extend(every(
        T0 + SEC,
        MIN / quota_per_min,
        quota_per_min * 60,
        |_, t| {
            Ev::new(t, "update", "resourcequotas")
                .sub("status")
                .obj("batch", "compute")
                .by(&q_user, &q_ua)
        },
    ));
    report_of(&write_log(dir, name, evs))
}

#[test]
fn quota_status_under_pod_churn_is_accounting_not_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let quota_loop = |r: &Value| {
        findings(r)
            .iter()
            .any(|f| f["rule"] == "AS201" && f["resource"] == "resourcequotas")
    };
    // 30 pod creates + deletes a minute; the quota is rewritten 30 times a minute: churn.
    let churn = quota_log(dir.path(), "churn", 30, 30);
    assert!(!quota_loop(&churn), "{:#?}", findings(&churn));
    // 40 quota writes a minute against 4 pod changes: more than churn explains.
    let looping = quota_log(dir.path(), "loop", 40, 4);
    assert!(quota_loop(&looping), "{:#?}", findings(&looping));
}

/// The time of day (`HH:MM`) of µs since the epoch.
fn hhmm(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap()
        .format("%H:%M")
        .to_string()
}

#[test]
fn a_thirty_second_burst_is_charged_what_it_used() {
    let dir = tempfile::tempdir().unwrap();
    // 30 updates of 2.5 s each in 30 s, and nothing else: before, 75 seat-seconds became 4,500
    // an hour (CRITICAL).
    let mut evs = every(T0, SEC, 30, |i, t| {
        Ev::new(t, "update", "configmaps")
            .obj("team-s", &format!("report-{i}"))
            .by("system:serviceaccount:team-s:slow", "slow-writer/v1.0.0")
            .ms(2500.0)
    });
    evs.push(Ev::new(T0, "get", "namespaces").obj("", "default").by(
        "system:apiserver",
        "kube-apiserver/v1.29.3 (linux/amd64) kubernetes/6813625",
    ));
    let path = write_log(dir.path(), "burst", evs);
    let seat_s: f64 = common::events(&path)
        .iter()
        .filter(|e| e["verb"] == "update")
        .map(|e| {
            (common::ts(&e["stageTimestamp"]).unwrap()
                - common::ts(&e["requestReceivedTimestamp"]).unwrap()) as f64
                / 1e6
        })
        .sum();
    let r = report_of(&path);
    let slow = findings(&r)
        .iter()
        .find(|f| f["rule"] == "AS501")
        .unwrap_or_else(|| panic!("no AS501: {:#?}", findings(&r)));
    let score = slow["score"].as_f64().unwrap();
    assert!(
        (score - seat_s).abs() <= seat_s * 0.02,
        "score {score} is the {seat_s} seat-seconds used"
    );
    assert!(
        !matches!(slow["severity"].as_str(), Some("critical" | "high")),
        "{slow:#}"
    );
    assert!(
        seat_s < 360.0,
        "a burst under 360 seat-seconds is below high"
    );
}

/// A deprecated API call with its removal release.
fn deprecated_calls(client: &str, removed: &'static str, n: i64) -> Vec<Ev> {
    every(T0 + 10 * MIN, MIN, n, move |_, t| {
        Ev::new(t, "get", "poddisruptionbudgets")
            .group("policy")
            .obj("ops", "web")
            .by(
                &format!("system:serviceaccount:ops:{client}"),
                &format!("{client}/v0.9.0"),
            )
            .annotate("k8s.io/deprecated", "true")
            .annotate("k8s.io/removed-release", removed)
    })
}

#[test]
fn severity_ranks_first_and_upgrade_blockers_are_always_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut evs = heartbeats(T0, 120);
    // On 1.29: removed in 1.30 (next minor: HIGH) and 1.31 (two ahead: MEDIUM, still a blocker),
    // and 1.33 (not a blocker).
    evs.extend(deprecated_calls("legacy-a", "1.30", 5));
    evs.extend(deprecated_calls("legacy-b", "1.31", 5));
    evs.extend(deprecated_calls("legacy-c", "1.33", 5));
    // A costlier MEDIUM: 20 slow updates a minute of one object, between 10:30 and 11:30.
    let loop_evs = every(T0 + 30 * MIN, 3 * SEC, 1200, |_, t| {
        Ev::new(t, "update", "configmaps")
            .obj("team", "state")
            .by("system:serviceaccount:team:looper", "looper/v1.0.0")
            .ms(80.0)
    });
    let (first, last) = (loop_evs[0].at, loop_evs.last().unwrap().at);
    evs.extend(loop_evs);
    let path = write_log(dir.path(), "ranked", evs);
    let r = report_of(&path);
    let f = findings(&r);
    let rank = |s: &Value| match s.as_str() {
        Some("critical") => 4,
        Some("high") => 3,
        Some("medium") => 2,
        Some("low") => 1,
        _ => 0,
    };
    for pair in f.windows(2) {
        assert!(
            rank(&pair[0]["severity"]) >= rank(&pair[1]["severity"]),
            "{} ranks above {}",
            pair[0]["headline"],
            pair[1]["headline"]
        );
    }
    let loop_f = f
        .iter()
        .find(|x| x["rule"] == "AS201")
        .expect("the loop is found");
    let high = f
        .iter()
        .find(|x| x["client"] == "legacy-a@ops/legacy-a")
        .unwrap();
    assert_eq!(high["severity"], "high");
    assert!(high["score"].as_f64() < loop_f["score"].as_f64());
    assert!(high["rank"].as_u64() < loop_f["rank"].as_u64());
    let blockers: Vec<&str> = f
        .iter()
        .filter(|x| x["upgrade_blocker"] == true)
        .map(|x| x["client"].as_str().unwrap())
        .collect();
    assert_eq!(blockers, ["legacy-a@ops/legacy-a", "legacy-b@ops/legacy-b"]);

    // The loop's headline says when: its first and last write, its busiest minute.
    let h = loop_f["headline"].as_str().unwrap();
    assert!(
        h.contains(&format!("2024-05-01 {}–{} UTC", hhmm(first), hhmm(last))),
        "{h}"
    );
    assert!(h.contains("busiest minute "), "{h}");
    let w = loop_f["evidence"]["window_seconds"].as_f64().unwrap();
    assert!((w - (last - first) as f64 / 1e6).abs() < 0.1, "{w}");

    // Text at --top 1 still lists both blockers.
    let out = common::run(&["--no-progress", "--top", "1", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let group = text
        .split("Upgrade blockers")
        .nth(1)
        .unwrap_or_else(|| panic!("no upgrade blockers group:\n{text}"));
    assert!(group.contains("legacy-a@ops/legacy-a") && group.contains("legacy-b@ops/legacy-b"));
    assert!(!group.contains("legacy-c"), "{group}");
}

#[test]
fn span_comes_from_the_events_coverage() {
    let dir = tempfile::tempdir().unwrap();
    // 30 minutes of GETs, and three watches received an hour before the log begins.
    let mut evs = every(T0, 2 * SEC, 900, |i, t| {
        Ev::new(t, "get", "pods").obj("web", &format!("p-{}", i % 10))
    });
    evs.extend(every(T0 - 60 * MIN, SEC, 3, |_, t| {
        let mut w = Ev::new(t, "watch", "configmaps")
            .obj("web", "")
            .query("watch=true&timeoutSeconds=5400")
            .by("system:serviceaccount:web:app", "app/v1.0.0");
        w.latency_us = 70 * MIN;
        w
    }));
    let path = write_log(dir.path(), "coverage", evs);
    let events = common::events(&path);
    let stages: Vec<i64> = events
        .iter()
        .filter_map(|e| common::ts(&e["stageTimestamp"]))
        .collect();
    let (first, last) = (*stages.iter().min().unwrap(), *stages.iter().max().unwrap());
    let r = report_of(&path);
    let s = &r["summary"];
    assert_eq!(common::ts(&s["first_timestamp"]), Some(first));
    assert_eq!(common::ts(&s["last_timestamp"]), Some(last));
    let span = (last - first) as f64 / 1e6;
    assert!((s["span_seconds"].as_f64().unwrap() - span).abs() < 1e-6);
    let qps = client(&r, "kubectl")["mean_qps"].as_f64().unwrap();
    common::assert_close(qps, 900.0 / span, "kubectl mean qps over the covered span");
}

/// Go's duration text of µs (`1.2s`).
fn go_duration(us: i64) -> String {
    format!("{}s", us as f64 / 1e6)
}

#[test]
fn an_etcd_annotation_overrides_the_version_inference() {
    let dir = tempfile::tempdir().unwrap();
    let mut evs = heartbeats(T0, 60);
    // On 1.31 a consistent LIST without limit is inferred to come from the watch cache.
    evs.extend(every(T0, MIN, 60, |_, t| {
        Ev::new(t, "get", "namespaces").obj("", "default").by(
            "system:apiserver",
            "kube-apiserver/v1.31.2 (linux/amd64) kubernetes/abc",
        )
    }));
    // A DaemonSet on 20 nodes LISTs every pod of the cluster each minute; each LIST says it
    // spent 1.2 s of its 1.5 s in etcd (one in ten says 0.2 s).
    for n in 0..20 {
        evs.extend(every(T0 + n * SEC, MIN, 60, |i, t| {
            let etcd = if i % 10 == 0 { 200_000 } else { 1_200_000 };
            let mut e = Ev::new(t, "list", "pods")
                .by(
                    "system:serviceaccount:kube-system:node-agent",
                    "node-agent/v2.3.1",
                )
                .ms(1500.0)
                .annotate("apiserver.latency.k8s.io/etcd", &go_duration(etcd));
            e.pod = Some(format!("node-agent-{n}"));
            e
        }));
    }
    // The same LISTs from a dashboard without annotations stay inferred from the cache.
    evs.extend(every(T0, 3 * SEC, 1200, |_, t| {
        Ev::new(t, "list", "pods")
            .by("system:serviceaccount:ops:dash", "dashboard/v1.0.0")
            .ms(40.0)
    }));
    let path = write_log(dir.path(), "serving", evs);
    let events = common::events(&path);
    let proven = events
        .iter()
        .filter(|e| e["userAgent"] == "node-agent/v2.3.1")
        .filter(|e| {
            let lat = common::ts(&e["stageTimestamp"]).unwrap()
                - common::ts(&e["requestReceivedTimestamp"]).unwrap();
            let etcd: f64 = e["annotations"]["apiserver.latency.k8s.io/etcd"]
                .as_str()
                .unwrap()
                .trim_end_matches('s')
                .parse()
                .unwrap();
            etcd * 1e6 * 2.0 >= lat as f64
        })
        .count() as u64;
    assert_eq!(proven, 20 * 54);
    let r = report_of(&path);
    let row = |ua: &str| {
        r["lists"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["user_agent"] == ua)
            .unwrap()
            .clone()
    };
    let agent = row("node-agent/v2.3.1");
    assert_eq!(agent["served_from_etcd"], proven, "{agent:#}");
    assert_eq!(agent["etcd_by_annotation"], proven);
    assert_eq!(agent["etcd_annotated"], 1200);
    assert_eq!(row("dashboard/v1.0.0")["served_from_etcd"], 0);
    let f = findings(&r)
        .iter()
        .find(|f| f["rule"] == "AS101" && f["client"] == "node-agent@kube-system/node-agent")
        .unwrap_or_else(|| panic!("no AS101 for the agent: {:#?}", findings(&r)));
    assert_eq!(
        f["evidence"]["details"]["serving_verdict_source"],
        "apiserver.latency.k8s.io/etcd annotations"
    );
    assert!(f["headline"].as_str().unwrap().contains("from etcd"));
}

#[test]
fn the_top_cost_client_always_has_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let mut evs = heartbeats(T0, 60);
    evs.extend(every(T0, MIN, 60, |_, t| {
        Ev::new(t, "get", "namespaces").obj("", "default").by(
            "system:apiserver",
            "kube-apiserver/v1.31.2 (linux/amd64) kubernetes/abc",
        )
    }));
    // A dashboard polls every pod of the cluster every 3 s with 2 s answers: on 1.31 these are
    // inferred from the watch cache, unpaged reads of the cache are not flagged, P99 is under
    // the 30 s SLO — no fixed rule matches it, yet it holds most of the seats.
    evs.extend(every(T0, 3 * SEC, 1200, |i, t| {
        Ev::new(t, "list", "pods")
            .by("system:serviceaccount:ops:dash", "dashboard/v1.0.0")
            .ms(1800.0 + (i % 5) as f64 * 100.0)
    }));
    let path = write_log(dir.path(), "top", evs);
    let events = common::events(&path);
    let lat_s: f64 = events
        .iter()
        .filter(|e| e["userAgent"] == "dashboard/v1.0.0")
        .map(|e| {
            (common::ts(&e["stageTimestamp"]).unwrap()
                - common::ts(&e["requestReceivedTimestamp"]).unwrap()) as f64
                / 1e6
        })
        .sum();
    let stages: Vec<i64> = events
        .iter()
        .filter_map(|e| common::ts(&e["stageTimestamp"]))
        .collect();
    let span_s = (stages.iter().max().unwrap() - stages.iter().min().unwrap()) as f64 / 1e6;
    // Cluster-scoped LISTs hold 10 seats, per hour of the span (at least an hour).
    let want = lat_s * 10.0 * 3600.0 / span_s.max(3600.0);
    let r = report_of(&path);
    let dash = client(&r, "dashboard@ops/dash");
    let got = dash["seat_seconds_per_hour"].as_f64().unwrap();
    assert!((got - want).abs() <= want * 0.02, "{got} vs {want}");
    assert_eq!(dash["dominant_cost"], "list pods");
    assert!(dash["cost_share"].as_f64().unwrap() > 0.9);
    assert!(
        !findings(&r).iter().any(|f| f["rule"] == "AS101"),
        "no fixed LIST rule matched"
    );
    // Every top-3 client of the ledger above the floor, heartbeats aside, has a finding that
    // names its dominant resource.
    let mut ranked: Vec<&Value> = r["clients"].as_array().unwrap().iter().collect();
    ranked.sort_by(|a, b| {
        b["seat_seconds_per_hour"]
            .as_f64()
            .unwrap()
            .total_cmp(&a["seat_seconds_per_hour"].as_f64().unwrap())
    });
    for c in ranked.iter().take(3) {
        let dominant = c["dominant_cost"].as_str().unwrap_or("");
        if c["seat_seconds_per_hour"].as_f64().unwrap() < 36.0
            || c["cost_share"].as_f64().unwrap() < 0.2
            || dominant.contains("leases")
        {
            continue;
        }
        let resource = dominant.split_once(' ').unwrap().1;
        assert!(
            findings(&r).iter().any(|f| f["client"] == c["client"]
                && (f["resource"] == resource
                    || f["evidence"]["details"]["client_dominant_cost"] == dominant)),
            "{} ({dominant}) has no finding: {:#?}",
            c["client"],
            findings(&r)
        );
    }
    let f = findings(&r).iter().find(|f| f["rule"] == "AS503").unwrap();
    assert_eq!(f["client"], "dashboard@ops/dash");
    assert!(f["headline"].as_str().unwrap().contains("list pods"));
}

#[test]
fn real_samples_have_no_high_or_critical_finding() {
    let dir = common::fixture("realdata");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_string_lossy().to_string();
        if !(path.extension().is_some_and(|e| e == "jsonl") || name.ends_with(".jsonl.gz")) {
            continue;
        }
        read += 1;
        let r = report_of(&path);
        for f in findings(&r) {
            assert!(
                !matches!(f["severity"].as_str(), Some("high" | "critical")),
                "{name}: {f:#}"
            );
        }
    }
    assert!(read >= 4, "the real samples are there");
}

/// Pod creates of two controllers meet a slow mutating webhook (named by its mutation
/// annotation) and, one in five, a validating webhook that refuses them (named only by the
/// status message); a few requests carry a validating time that nothing names.
fn webhook_log(dir: &Path) -> PathBuf {
    let mut evs = heartbeats(T0, 60);
    for (ctrl, every_s, offset) in [("replicaset-controller", 4, 0), ("job-controller", 6, 1)] {
        let (user, ua) = kcm(ctrl);
        evs.extend(every(T0 + offset * SEC, every_s * SEC, 3600 / every_s, |i, t| {
            let refused = i % 5 == 0;
            let mut e = Ev::new(t, "create", "pods")
                .obj("web", &format!("{ctrl}-{i}"))
                .by(&user, &ua)
                .ms(if refused { 2950.0 } else { 1950.0 })
                .annotate(
                    "mutation.webhook.admission.k8s.io/round_0_index_0",
                    r#"{"configuration":"sidecar","webhook":"inject.sidecar.io","mutated":true}"#,
                )
                .annotate("apiserver.latency.k8s.io/mutating-webhook", "1.9s");
            if refused {
                e = e
                    .code(500)
                    .annotate("apiserver.latency.k8s.io/validating-webhook", "1s");
                e.message = r#"Internal error occurred: failed calling webhook "policy.example.io": failed to call webhook: context deadline exceeded"#.into();
            }
            e
        }));
    }
    evs.extend(every(T0, 5 * MIN, 12, |i, t| {
        Ev::new(t, "update", "configmaps")
            .obj("ops", &format!("cm-{i}"))
            .by("system:serviceaccount:ops:tool", "tool/v1.0.0")
            .ms(900.0)
            .annotate("apiserver.latency.k8s.io/validating-webhook", "800ms")
    }));
    write_log(dir, "webhooks", evs)
}

#[test]
fn a_webhook_failure_goes_to_the_webhook_its_message_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = webhook_log(dir.path());
    let events = common::events(&path);
    let ann = |e: &Value, k: &str| e["annotations"][k].as_str().map(str::to_owned);
    let mutated = events
        .iter()
        .filter(|e| ann(e, "apiserver.latency.k8s.io/mutating-webhook").is_some())
        .count() as u64;
    let refused: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["responseStatus"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("failed calling webhook \"policy.example.io\""))
        })
        .collect();
    let unnamed = events
        .iter()
        .filter(|e| {
            ann(e, "apiserver.latency.k8s.io/validating-webhook").is_some()
                && e["responseStatus"]["message"].is_null()
        })
        .count() as u64;
    let waiting: std::collections::BTreeSet<String> = events
        .iter()
        .filter(|e| ann(e, "apiserver.latency.k8s.io/mutating-webhook").is_some())
        .map(|e| e["user"]["username"].as_str().unwrap().to_owned())
        .collect();
    let r = report_of(&path);
    let row = |name: &str| {
        r["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["webhook"] == name)
            .unwrap_or_else(|| panic!("no webhook {name}: {:#}", r["webhooks"]))
            .clone()
    };
    let inject = row("inject.sidecar.io");
    assert_eq!(inject["failed_closed"], 0, "{inject:#}");
    assert_eq!(inject["latency_ms"]["samples"], mutated);
    assert_eq!(inject["clients_waited"], waiting.len());
    let policy = row("policy.example.io");
    assert_eq!(policy["failed_closed"], refused.len() as u64, "{policy:#}");
    assert_eq!(policy["latency_ms"]["samples"], refused.len() as u64);
    assert!((policy["latency_ms"]["p50"].as_f64().unwrap() - 1000.0).abs() < 20.0);
    assert_eq!(row("(unnamed)")["latency_ms"]["samples"], unnamed);
    let f = findings(&r)
        .iter()
        .find(|f| f["rule"] == "AS502" && f["client"] == "webhook policy.example.io")
        .unwrap_or_else(|| panic!("no AS502 for policy: {:#?}", findings(&r)));
    assert_eq!(f["severity"], "high", "it refused requests");
    let f = findings(&r)
        .iter()
        .find(|f| f["rule"] == "AS502" && f["client"] == "webhook inject.sidecar.io")
        .unwrap();
    assert!(
        f["headline"]
            .as_str()
            .unwrap()
            .contains(&format!("{} clients waited on it", waiting.len())),
        "{f:#}"
    );
}

#[test]
fn slow_calls_fold_under_the_webhook_they_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = webhook_log(dir.path());
    let events = common::events(&path);
    let r = report_of(&path);
    // Where the controllers' slow pod creates spent their time, from the annotations.
    for ctrl in ["replicaset-controller", "job-controller"] {
        let user = format!("system:serviceaccount:kube-system:{ctrl}");
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["user"]["username"] == user.as_str())
            .collect();
        let n = mine.len() as f64;
        let mean_of = |f: &dyn Fn(&Value) -> f64| mine.iter().map(|e| f(e)).sum::<f64>() / n;
        let lat = mean_of(&|e| {
            (common::ts(&e["stageTimestamp"]).unwrap()
                - common::ts(&e["requestReceivedTimestamp"]).unwrap()) as f64
                / 1000.0
        });
        let part = |k: &str| {
            let key = format!("apiserver.latency.k8s.io/{k}");
            mean_of(&|e| match e["annotations"][key.as_str()].as_str() {
                Some("1.9s") => 1900.0,
                Some("1s") => 1000.0,
                Some(other) => panic!("unexpected {other}"),
                None => 0.0,
            })
        };
        let client = format!("kube-controller-manager/{ctrl}");
        let row = r["latency_breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["client"] == client.as_str() && b["resource"] == "pods")
            .unwrap_or_else(|| panic!("no breakdown for {client}: {:#}", r["latency_breakdown"]));
        assert_eq!(row["class"], "mutating");
        assert_eq!(row["requests"], mine.len() as u64);
        common::assert_close(row["mean_ms"].as_f64().unwrap(), lat, "mean latency");
        for k in ["mutating-webhook", "validating-webhook"] {
            common::assert_close(row["parts_ms"][k].as_f64().unwrap(), part(k), k);
        }
        // Their calls miss the 1 s SLO, yet they are the webhook's victims: no AS501 of
        // their own, a symptom inside the webhook's finding instead.
        assert!(part("mutating-webhook") + part("validating-webhook") >= 0.5 * lat);
        assert!(
            !findings(&r)
                .iter()
                .any(|f| f["rule"] == "AS501" && f["client"] == client.as_str()),
            "{client} folded: {:#?}",
            findings(&r)
        );
        let cause = findings(&r)
            .iter()
            .find(|f| f["client"] == "webhook inject.sidecar.io")
            .unwrap();
        assert!(
            cause["evidence"]["details"]["symptoms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["client"] == client.as_str() && s["class"] == "mutating"),
            "{cause:#}"
        );
    }
    // The tool's configmap updates (900 ms, under the SLO) are no finding at all.
    assert!(!findings(&r).iter().any(|f| f["rule"] == "AS501"));
}

#[test]
fn versions_never_appear_in_client_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut evs = heartbeats(T0, 10);
    let agents = [
        (
            "system:serviceaccount:argo:argo",
            "workflow-controller/v3.5.8 (linux/amd64) kubernetes/$Format/argo-workflows/v3.5.8 argo-controller",
        ),
        (
            "system:serviceaccount:argo:argo",
            "workflow-controller/v3.6.0 (linux/amd64) kubernetes/$Format/argo-workflows/v3.6.0 argo-controller",
        ),
        (
            "system:serviceaccount:team-a:op-a",
            "manager/v0.0.0 (linux/amd64) kubernetes/$Format/reconciler",
        ),
        (
            "system:serviceaccount:team-b:op-b",
            "manager/v0.0.0 (linux/amd64) kubernetes/$Format/reconciler",
        ),
        (
            "system:serviceaccount:kafka:strimzi",
            "strimzi-cluster-operator/0.35.1",
        ),
    ];
    for (i, (user, ua)) in agents.iter().enumerate() {
        evs.extend(every(T0 + i as i64 * SEC, 30 * SEC, 20, |_, t| {
            Ev::new(t, "get", "configmaps").obj("x", "y").by(user, ua)
        }));
    }
    let r = report_of(&write_log(dir.path(), "names", evs));
    let names: Vec<&str> = r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    let versionish = |tok: &str| {
        let t = tok.trim_start_matches('v');
        t.contains('.') && t.split('.').all(|p| p.chars().all(|c| c.is_ascii_digit()))
    };
    for name in &names {
        assert!(
            !name.split(['/', ' ', '@']).any(versionish),
            "a version in {name:?}"
        );
    }
    // One Argo across its upgrade; the two kubebuilder managers apart, each by its account.
    let argo: Vec<_> = names.iter().filter(|n| n.contains("workflow")).collect();
    assert_eq!(argo.len(), 1, "{names:?}");
    let managers: Vec<_> = names.iter().filter(|n| n.starts_with("manager")).collect();
    assert_eq!(managers.len(), 2, "{names:?}");
    assert!(managers.iter().any(|n| n.ends_with("team-a/op-a")));
    assert!(managers.iter().any(|n| n.ends_with("team-b/op-b")));
}

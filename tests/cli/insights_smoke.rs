//! `scripts/insights-smoke.sh`, run as a user would run it, against the cloud-shaped endpoint
//! (tests/cli/common/insights_service.rs) in front of moto instead of a real account: it
//! downloads the window, runs every template on the "service" and locally, and must find them
//! the same. The script needs bash and a few POSIX/GNU tools; without them the test fails
//! naming the missing ones, unless `AUDIT_SCAN_SKIP_EXTERNAL=1` asks for a printed skip.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::insights_service::Service;
use common::moto::{self, rfc3339, unique};

/// What the script calls besides audit-scan (GNU `date -d` for the window).
const TOOLS: [&str; 11] = [
    "bash", "date", "mktemp", "diff", "sort", "grep", "cut", "tail", "head", "wc", "sed",
];

/// The tools of [`TOOLS`] that `bash` cannot find (all of them when there is no bash).
fn missing_tools() -> Vec<&'static str> {
    let found = Command::new("bash")
        .args(["-c", "for t in \"$@\"; do command -v \"$t\" >/dev/null && echo \"$t\"; done; date -u -d @0 +%s >/dev/null 2>&1 && echo gnu-date", "-"])
        .args(TOOLS)
        .output();
    let Ok(found) = found else {
        return TOOLS.to_vec();
    };
    let found = String::from_utf8_lossy(&found.stdout).into_owned();
    let mut missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| !found.lines().any(|l| l == *t))
        .collect();
    if !found.lines().any(|l| l == "gnu-date") {
        missing.push("GNU date (date -d)");
    }
    missing
}

#[test]
fn the_smoke_script_runs_and_finds_the_service_and_the_local_evaluator_agree() {
    let missing = missing_tools();
    if !missing.is_empty() {
        common::lacking(&format!(
            "scripts/insights-smoke.sh needs {}, not found here",
            missing.join(", ")
        ));
        return;
    }
    let Some(moto_ep) = moto::endpoint() else {
        return;
    };
    let service = Service::start(&moto_ep);
    // Ten minutes of traffic inside the script's last 15 minutes, logged at each request's
    // receive time (so @timestamp reads the same on the service and in the download).
    let group = unique("/aws/eks/smoke/cluster");
    let now = moto::now_ms() / 1000 * 1000;
    let verbs = [
        ("list", "pods", 200),
        ("get", "configmaps", 404),
        ("update", "configmaps", 409),
        ("patch", "leases", 200),
        ("create", "events", 201),
    ];
    // Every template must have rows: a kube-controller-manager controller (controller-qps),
    // calls to a custom resource (crd-calls) and a few requests over 1 s (slow-requests).
    let agents = [
        "op/v1.2.0 (linux/amd64) kubernetes/abc1234",
        "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/abc1234/system:serviceaccount:kube-system:replicaset-controller",
    ];
    let records: Vec<moto::Record> = (0..600)
        .map(|i: i64| {
            let t = now - 11 * 60_000 + i * 1000 + 500;
            let (verb, mut resource, code) = verbs[(i % 5) as usize];
            let (mut api_group, mut prefix) = (String::new(), "/api/v1".to_owned());
            if i % 6 == 0 {
                resource = "workflows";
                api_group = r#","apiGroup":"argoproj.io""#.to_owned();
                prefix = "/apis/argoproj.io/v1alpha1".to_owned();
            }
            let user = ["alice", "system:serviceaccount:team-a:op", "system:node:ip-10-0-0-1"]
                [(i % 3) as usize];
            let agent = agents[usize::from(i % 4 == 1)];
            let name = if verb == "list" {
                String::new()
            } else {
                format!(r#","name":"o-{}""#, i % 7)
            };
            let latency = if i % 50 == 0 { 1500 } else { 40 + i % 9 * 30 };
            let msg = format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"s-{i}","stage":"ResponseComplete","requestURI":"{prefix}/namespaces/default/{resource}","verb":"{verb}","user":{{"username":"{user}"}},"userAgent":"{agent}","objectRef":{{"resource":"{resource}","namespace":"default"{api_group},"apiVersion":"v1"{name}}},"responseStatus":{{"code":{code}}},"requestReceivedTimestamp":"{}","stageTimestamp":"{}"}}"#,
                rfc3339(t),
                rfc3339(t + latency)
            );
            (t, msg)
        })
        .collect();
    moto::load(
        &moto_ep,
        &group,
        &[("kube-apiserver-audit-0a1b".to_owned(), records)],
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/insights-smoke.sh");
    let mut cmd = Command::new("bash");
    moto::aws_env(&mut cmd)
        .arg(&script)
        .args([
            "--log-group",
            &group,
            "--region",
            "us-east-1",
            "--since",
            "15m",
        ])
        .args(["--endpoint-url", &service.endpoint])
        .args(["--bin", env!("CARGO_BIN_EXE_audit-scan")])
        .env_remove("AUDIT_SCAN_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent/audit-scan-tests")
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // One verdict per template, each "same", and at least one with rows to compare.
    let verdicts: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ")).collect();
    let names: Vec<String> = audit_scan::insights::template::all()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(verdicts.len(), names.len(), "{stdout}");
    for (v, n) in verdicts.iter().zip(&names) {
        let rows: usize = v
            .strip_prefix(&format!("== {n}: same "))
            .and_then(|r| r.split(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{n} differs or failed: {stdout}"));
        assert!(rows > 0, "{n}: nothing to compare: {stdout}");
        assert!(v.contains("scanned"), "no bill for {n}: {stdout}");
    }
    let queried = service.answered();
    assert_eq!(queried.len(), names.len(), "one service query per template");
}

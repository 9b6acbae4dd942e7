//! The README's nightly audit of an operator, run as written (bash, against moto's CloudWatch
//! Logs through the real AWS SDK): it fails (exit 1) on a night when karpenter's writes tripled
//! and passes (exit 0) on a noisy night where only other clients changed.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use audit_scan::synth::{Plant, SynthConfig};
use common::moto::{self, Record};
use serde_json::Value;

/// The ```sh block after "A nightly audit of one operator, in CI:" in the README.
fn readme_block() -> String {
    let readme = include_str!("../../README.md");
    let at = readme
        .find("A nightly audit of one operator, in CI:")
        .expect("the README's nightly example");
    let rest = &readme[at..];
    let start = rest.find("```sh\n").expect("its sh block") + "```sh\n".len();
    let end = rest[start..].find("```").expect("the block's end");
    rest[start..start + end].to_owned()
}

/// The block's commands: comment lines dropped, `\` continuations joined.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in block.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some(head) = line.strip_suffix('\\') {
            cur.push_str(head);
        } else {
            cur.push_str(line);
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

/// A night of generated traffic ending half an hour ago, as CloudWatch records.
fn night(seed: u64, plants: &[Plant]) -> Vec<Value> {
    let cfg = SynthConfig {
        bytes: 8_000_000,
        seed,
        rate: 3.0,
        start: (moto::now_ms() - 90 * 60_000) * 1000,
        plants: plants.to_vec(),
        ..Default::default()
    };
    let mut out = Vec::new();
    audit_scan::synth::generate(&cfg, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn is_karpenter_write(e: &Value) -> bool {
    e["userAgent"]
        .as_str()
        .is_some_and(|ua| ua.starts_with("karpenter/"))
        && common::is_write(e)
}

/// The planted regression: every karpenter write happens three times (copies 1 s and 2 s
/// later, with their own auditIDs).
fn triple_karpenter_writes(events: &mut Vec<Value>) {
    let shift = |v: &Value, s: i64| {
        common::ts(v).map(|t| Value::from(audit_scan::timefmt::format_rfc3339(t + s * 1_000_000)))
    };
    let copies: Vec<Value> = events
        .iter()
        .filter(|e| is_karpenter_write(e))
        .flat_map(|e| {
            (1..=2).map(move |k| {
                let mut c = e.clone();
                c["auditID"] = format!("{}-copy{k}", e["auditID"].as_str().unwrap()).into();
                for field in ["requestReceivedTimestamp", "stageTimestamp"] {
                    if let Some(t) = shift(&e[field], k) {
                        c[field] = t;
                    }
                }
                c
            })
        })
        .collect();
    assert!(
        copies.len() > 40,
        "karpenter writes in the night: {}",
        copies.len() / 2
    );
    events.extend(copies);
}

fn load(endpoint: &str, cluster: &str, events: &[Value]) {
    let records: Vec<Record> = events
        .iter()
        .map(|e| {
            (
                common::ts(&e["stageTimestamp"]).unwrap() / 1000,
                e.to_string(),
            )
        })
        .collect();
    moto::load(
        endpoint,
        &format!("/aws/eks/{cluster}/cluster"),
        &[("kube-apiserver-audit-1".to_owned(), records)],
    );
}

/// Runs `script` with bash -e in `dir`, the built audit-scan first on PATH, against moto.
fn bash(dir: &Path, endpoint: &str, script: &str) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_audit-scan"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    moto::aws_env(&mut cmd)
        .args(["-e", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", endpoint)
        .env("NO_COLOR", "1");
    cmd.output().unwrap()
}

/// What a nightly run leaves: the block's outcome, its directory, and the two clusters.
struct Night {
    out: Output,
    dir: tempfile::TempDir,
    last_week: String,
    today: String,
}

/// Last week's baseline from `base`, then tonight's block on `tonight`.
fn nightly(endpoint: &str, base: &[Value], tonight: &[Value]) -> Night {
    let block = readme_block();
    assert_eq!(block.matches("--cluster prod").count(), 2, "{block}");
    let dir = tempfile::tempdir().unwrap();
    let (last_week, today) = (moto::unique("lastweek"), moto::unique("tonight"));
    load(endpoint, &last_week, base);
    load(endpoint, &today, tonight);
    // A week ago, step 1 ran on last week's traffic: its report is the baseline file.
    let step1 = commands(&block)[0].replace("--cluster prod", &format!("--cluster {last_week}"));
    let out = bash(
        dir.path(),
        endpoint,
        &format!(
            "{step1}\nmv \"audit-$(date +%F).json\" \"audit-$(date -d '7 days ago' +%F).json\""
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bash(
        dir.path(),
        endpoint,
        &block.replace("--cluster prod", &format!("--cluster {today}")),
    );
    Night {
        out,
        dir,
        last_week,
        today,
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_readme_nightly_flow_catches_a_planted_regression() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let base = night(5, &[]);
    let mut tonight = night(6, &[]);
    triple_karpenter_writes(&mut tonight);
    let out = nightly(&endpoint, &base, &tonight).out;
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("karpenter@kube-system/karpenter"), "{text}");
    assert!(text.contains("writes"), "{text}");
}

#[test]
fn the_readme_nightly_flow_passes_a_noisy_unchanged_night() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    // Other seeds, and other clients misbehave: karpenter's own traffic is what it was.
    let base = night(5, &[]);
    let tonight = night(7, &[Plant::WriteHeavy, Plant::ExpensiveList]);
    let n = nightly(&endpoint, &base, &tonight);
    let out = &n.out;
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(out).contains("No regression."), "{}", stdout(out));
    assert!(
        n.dir.path().join("karpenter.html").is_file(),
        "step 3's page"
    );
    // The night was noisy: the whole cluster's diff fails.
    let whole = |cluster: &str, name: &str| {
        let script = format!(
            "audit-scan --cluster {cluster} --since 24h --format json --no-progress -o {name}"
        );
        let o = bash(n.dir.path(), &endpoint, &script);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    whole(&n.last_week, "all-base.json");
    whole(&n.today, "all-tonight.json");
    let o = bash(
        n.dir.path(),
        &endpoint,
        "audit-scan diff all-base.json all-tonight.json --fail-on-regression 50",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("bulk-writer@data/bulk-writer"),
        "{}",
        stdout(&o)
    );
}

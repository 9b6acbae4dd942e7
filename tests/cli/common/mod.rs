//! Shared helpers: run the real binary, and compute expected numbers independently of the
//! program (serde_json + chrono over the raw lines).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub mod compare;
#[cfg(feature = "cloudwatch")]
pub mod insights_service;
#[cfg(feature = "cloudwatch")]
pub mod moto;

/// A tool the test needs from outside (`var` names it; `.ci/run` sets it). Without it the test
/// fails, naming what to start: a missing tool must never read as a pass. Only an explicit
/// `AUDIT_SCAN_SKIP_EXTERNAL=1` turns that into a skip (printed, and the test returns early).
#[allow(clippy::print_stderr, reason = "a skipped test says so on stderr")]
pub fn external(var: &str, hint: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if skip_external() => {
            eprintln!("\n*** SKIPPED (AUDIT_SCAN_SKIP_EXTERNAL=1): {var} is not set. {hint} ***\n");
            None
        }
        _ => panic!(
            "{var} is not set: {hint}; `.ci/run` installs and starts everything the tests need \
             (or set AUDIT_SCAN_SKIP_EXTERNAL=1 to skip the tests that need it)"
        ),
    }
}

/// A test whose tools (`what`) the machine lacks: fails naming them, unless
/// `AUDIT_SCAN_SKIP_EXTERNAL=1` asks for the skip (printed; the test then returns early).
#[allow(clippy::print_stderr, reason = "a skipped test says so on stderr")]
pub fn lacking(what: &str) {
    assert!(
        skip_external(),
        "{what}: install it (or set AUDIT_SCAN_SKIP_EXTERNAL=1 to skip the tests that need it)"
    );
    eprintln!("\n*** SKIPPED (AUDIT_SCAN_SKIP_EXTERNAL=1): {what} ***\n");
}

/// Whether the user asked to skip the tests that need moto or a browser.
fn skip_external() -> bool {
    std::env::var("AUDIT_SCAN_SKIP_EXTERNAL").is_ok_and(|v| v == "1")
}

/// The binary, blind to the developer's own config: no `$AUDIT_SCAN_CONFIG`, and a user
/// config directory that does not exist (a test that wants one sets its own).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_audit-scan"));
    c.env_remove("AUDIT_SCAN_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent/audit-scan-tests");
    c
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run audit-scan")
}

pub fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// The JSON report of `paths` built in this process (pipeline and report builder, no binary):
/// for tests that vary the pipeline's options.
pub fn report_in_process(paths: &[PathBuf], opts: &audit_scan::pipeline::Options) -> Value {
    use audit_scan::build::native::{Inputs, build};
    let inputs: Vec<audit_scan::source::Input> = paths
        .iter()
        .map(|p| audit_scan::source::Input::file(p))
        .collect();
    let scope = audit_scan::aggregate::Scope::default();
    let out = audit_scan::pipeline::run(&inputs, &scope, opts).unwrap();
    let r = build(&Inputs {
        aggregates: &out.aggregates,
        inputs: &out.inputs,
        window: audit_scan::aggregate::filter::Window::default(),
        filters: &audit_scan::aggregate::filter::Filters::default(),
        warnings: vec![],
        cloudwatch: None,
    });
    serde_json::to_value(&r).unwrap()
}

/// The JSON on stdout of a run that must succeed (`what` names it in the panic).
pub fn ok_json(out: &Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Runs with `--format json` and parses the report; panics with stderr on failure.
pub fn report(args: &[&str]) -> Value {
    let mut a = vec!["--format", "json", "--no-progress"];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(
        out.status.success(),
        "audit-scan {a:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_valid_report(&report);
    report
}

/// Every report a test reads validates against the checked-in `docs/schema/report-v1.json`.
pub fn assert_valid_report(report: &Value) {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let v = SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/report-v1.json");
        let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    });
    let errors: Vec<String> = v
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "the report does not match docs/schema/report-v1.json: {errors:#?}"
    );
}

/// Reads every JSON line of a plain or gzip file.
pub fn events(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap();
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn ts(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_micros())
}

pub fn is_request(e: &Value) -> bool {
    matches!(e["stage"].as_str(), Some("ResponseComplete" | "Panic"))
}

pub fn event_time(e: &Value) -> Option<i64> {
    ts(&e["requestReceivedTimestamp"])
        .or_else(|| ts(&e["stageTimestamp"]))
        .or_else(|| ts(&e["timestamp"]))
}

/// The resource as the report names it: `pods`, `deployments.apps`.
pub fn qualified_resource(e: &Value) -> String {
    let r = e["objectRef"]["resource"].as_str().unwrap_or("");
    match e["objectRef"]["apiGroup"].as_str() {
        Some(g) if !g.is_empty() => format!("{r}.{g}"),
        _ => r.to_owned(),
    }
}

pub fn uri(e: &Value) -> &str {
    e["requestURI"].as_str().unwrap_or("")
}

pub fn is_watch(e: &Value) -> bool {
    e["verb"] == "watch" || (e["verb"] == "list" && uri(e).contains("watch=true"))
}

pub fn is_plain_list(e: &Value) -> bool {
    e["verb"] == "list" && !is_watch(e)
}

pub fn is_write(e: &Value) -> bool {
    let code = e["responseStatus"]["code"].as_i64().unwrap_or(0);
    matches!(
        e["verb"].as_str(),
        Some("create" | "update" | "patch" | "delete" | "deletecollection")
    ) && (200..400).contains(&code)
        && !uri(e).contains("dryRun=")
        && !is_virtual_create(e)
}

/// A create that stores nothing: a TokenRequest or a review of authentication/authorization.
fn is_virtual_create(e: &Value) -> bool {
    let o = &e["objectRef"];
    let (res, sub, group) = (
        o["resource"].as_str().unwrap_or(""),
        o["subresource"].as_str().unwrap_or(""),
        o["apiGroup"].as_str().unwrap_or(""),
    );
    (res, sub) == ("serviceaccounts", "token")
        || (group.starts_with("authentication.") || group.starts_with("authorization."))
            && res.ends_with("reviews")
}

/// Exact nearest-rank percentile (the ⌈q·n⌉-th smallest), in ms.
pub fn percentile_ms(sorted_us: &[i64], q: f64) -> f64 {
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).max(1) - 1;
    sorted_us[rank] as f64 / 1000.0
}

/// Asserts `got` is within the sketch's 1% relative error of `want` (plus output rounding).
pub fn assert_close(got: f64, want: f64, what: &str) {
    let tol = want.abs() * 0.01 + 0.0011;
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} ±{tol}"
    );
}

/// Requests per epoch minute, by event time.
pub fn per_minute(events: &[Value], keep: impl Fn(&Value) -> bool) -> BTreeMap<i64, u64> {
    let mut m = BTreeMap::new();
    for e in events.iter().filter(|e| is_request(e) && keep(e)) {
        if let Some(t) = event_time(e) {
            *m.entry(t.div_euclid(60_000_000)).or_default() += 1;
        }
    }
    m
}

/// Writes the generated log of `cfg` to `path`.
pub fn write_generated(path: &Path, cfg: &audit_scan::synth::SynthConfig) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    audit_scan::synth::generate(cfg, &mut f).unwrap();
    f.flush().unwrap();
}

/// A generated log at 10 requests/s that crosses midnight (from 23:58), with `plants`: what
/// the Logs Insights tests run their templates on.
pub fn midnight_log(
    dir: &Path,
    bytes: u64,
    seed: u64,
    plants: &[audit_scan::synth::Plant],
) -> PathBuf {
    let path = dir.join("midnight.jsonl");
    let cfg = audit_scan::synth::SynthConfig {
        bytes,
        seed,
        rate: 10.0,
        start: audit_scan::timefmt::parse_rfc3339("2024-05-01T23:58:00Z").unwrap(),
        plants: plants.to_vec(),
        ..Default::default()
    };
    write_generated(&path, &cfg);
    path
}

/// A generated log written to a temp file.
pub fn generated(dir: &Path, bytes: u64, seed: u64) -> PathBuf {
    let path = dir.join(format!("synthetic-{seed}.jsonl"));
    let cfg = audit_scan::synth::SynthConfig {
        bytes,
        seed,
        rate: 20.0,
        ..Default::default()
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    audit_scan::synth::generate(&cfg, &mut f).unwrap();
    f.flush().unwrap();
    path
}

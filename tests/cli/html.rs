//! The HTML report in a real headless browser (Debian's Chromium, driven by Playwright from
//! `tests/browser/check_html.py`): no console error, no network request, no script, charts
//! with data, the expected top finding, and a hostile userAgent shown as text.

use crate::common;

use std::io::Write;
use std::process::Command;

use serde_json::Value;

/// The pod that the hostile client's service-account token names.
const SCRAPER_POD: &str = "scraper-7d9f4-x2kq8";
const HOSTILE_UA: &str = r"<script>alert('ua')</script><img src=x onerror=alert(2)>";

/// Python with Playwright (`AUDIT_SCAN_PYTHON`, set by `.ci/run`), or a loud skip by hand.
fn python() -> Option<String> {
    common::external(
        "AUDIT_SCAN_PYTHON",
        "Run .ci/run, or set AUDIT_SCAN_PYTHON to a python with playwright and install chromium",
    )
}

/// A generated log with a reconcile loop planted, plus 600 cluster-wide pod LISTs by a client
/// whose userAgent is markup.
fn log(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("incident.jsonl");
    let cfg = audit_scan::synth::SynthConfig {
        bytes: 4_000_000,
        seed: 11,
        rate: 10.0,
        plants: vec![audit_scan::synth::Plant::ReconcileLoop],
        ..Default::default()
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    audit_scan::synth::generate(&cfg, &mut f).unwrap();
    for i in 0..600 {
        let (m, s) = (i / 60, i % 60);
        writeln!(
            f,
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"hostile-{i}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"system:serviceaccount:x:scraper","extra":{{"authentication.kubernetes.io/pod-name":["{SCRAPER_POD}"]}}}},"userAgent":{ua},"objectRef":{{"resource":"pods","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2024-05-01T10:{m:02}:{s:02}.000000Z","stageTimestamp":"2024-05-01T10:{m:02}:{s:02}.250000Z"}}"#,
            ua = Value::from(HOSTILE_UA)
        )
        .unwrap();
    }
    f.flush().unwrap();
    path
}

#[test]
fn html_report_in_a_real_browser() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = log(dir.path());
    let html = dir.path().join("report.html");
    let json = dir.path().join("report.json");
    let p = |x: &std::path::Path| x.to_str().unwrap().to_owned();
    let out = common::run(&["--format", "json", "-o", &p(&json), &p(&input)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let out = common::run(&[
        "--format",
        "html",
        "-o",
        &p(&html),
        "--mark",
        "2024-05-01T10:03:00Z..2024-05-01T10:06:00Z",
        &p(&input),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("report.png");
    let run = Command::new(py)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/check_html.py"
        ))
        .arg(&html)
        .arg(&shot)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::copy(&html, artifacts.join("report.html")).unwrap();
    let b: Value = serde_json::from_slice(&run.stdout).unwrap();
    eprintln!("screenshot: {}", shot.display());

    // Nothing but the page itself was requested; nothing ran; nothing complained.
    assert_eq!(
        b["requests"],
        serde_json::json!([b["url"]]),
        "network: {}",
        b["requests"]
    );
    assert_eq!(
        b["console"],
        serde_json::json!([]),
        "console: {}",
        b["console"]
    );
    assert_eq!(b["page_errors"], serde_json::json!([]));
    assert_eq!(b["dialogs"], serde_json::json!([]), "a script ran");
    let dom = &b["dom"];
    assert_eq!(dom["scripts"], 0);
    assert_eq!(dom["images"], 0);
    assert_eq!(dom["on_handlers"], 0);
    assert_eq!(
        dom["overflow_x"], false,
        "the page scrolls sideways at 1366 px"
    );

    // The hostile userAgent is text, in the LIST table, verbatim.
    assert!(dom["body_text"].as_str().unwrap().contains(HOSTILE_UA));
    assert!(
        dom["list_user_agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == HOSTILE_UA),
        "{}",
        dom["list_user_agents"]
    );

    // Charts exist and carry the data: the traffic chart has a column for every minute of the
    // timeline that had requests (the span is short, so one column per minute).
    let charts = dom["charts"].as_array().unwrap();
    assert!(charts.len() >= 5, "{} charts", charts.len());
    let minutes_with_requests = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["requests"].as_u64().unwrap() > 0)
        .count() as u64;
    assert_eq!(charts[0]["points"].as_u64().unwrap(), minutes_with_requests);
    for c in charts {
        assert!(c["shapes"].as_u64().unwrap() > 0, "an empty chart: {c}");
        assert!(
            c["width"].as_f64().unwrap() > 600.0,
            "a squeezed chart: {c}"
        );
    }
    // Every chart on the time axis shades the --mark window, as the README says.
    let time_charts = dom["time_charts"].as_array().unwrap();
    assert!(time_charts.len() >= 3, "{time_charts:?}");
    for (i, c) in time_charts.iter().enumerate() {
        assert!(
            c["marks"].as_u64().unwrap() >= 1,
            "time chart {i} is not shaded"
        );
    }
    // What the traffic chart draws is the data: a column per minute with requests, left to
    // right in time order, each as tall as its requests on one linear scale.
    let per_minute: Vec<f64> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["requests"].as_f64().unwrap())
        .filter(|r| *r > 0.0)
        .collect();
    let cols = dom["traffic_columns"].as_array().unwrap();
    assert_eq!(cols.len(), per_minute.len(), "drawn columns");
    let xs: Vec<f64> = cols.iter().map(|c| c["x"].as_f64().unwrap()).collect();
    assert!(
        xs.windows(2).all(|w| w[0] < w[1]),
        "columns out of time order"
    );
    let busiest = per_minute.iter().copied().fold(0.0, f64::max);
    let tallest = cols
        .iter()
        .map(|c| c["height"].as_f64().unwrap())
        .fold(0.0, f64::max);
    for (c, requests) in cols.iter().zip(&per_minute) {
        let want = tallest * requests / busiest;
        let got = c["height"].as_f64().unwrap();
        // Bars are written with two decimals and a stacked layer is at least 0.5 px tall.
        assert!(
            (got - want).abs() <= 1.05,
            "a column of {requests} requests is {got:.2} px, want {want:.2}"
        );
    }
    // The Content-Security-Policy is there and in force.
    assert_eq!(dom["csp"], "default-src 'none'; style-src 'unsafe-inline'");
    assert_eq!(
        b["csp_probe"], "script-src-elem",
        "an injected script was not refused"
    );

    // The findings table lists the report's findings in rank order: the hostile client's
    // cluster-wide LISTs from etcd (AS101) cost most, then the planted reconcile loop (AS201).
    let rules: Vec<&str> = dom["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[2].as_str().unwrap().trim())
        .collect();
    assert_eq!(&rules[..2], ["AS101", "AS201"], "{rules:?}");
    for (row, f) in dom["findings"]
        .as_array()
        .unwrap()
        .iter()
        .zip(report["findings"].as_array().unwrap())
    {
        assert_eq!(row[2].as_str().unwrap().trim(), f["rule"]);
        assert_eq!(row[3], f["client"]);
    }
    assert!(
        dom["findings"][0][3]
            .as_str()
            .unwrap()
            .starts_with("<script>")
    );
    assert_eq!(
        dom["findings"].as_array().unwrap().len(),
        report["findings"].as_array().unwrap().len()
    );
}

/// The clients table carries each client's cost ledger (seats, share, costliest verb × resource)
/// and its top pod, as the JSON report has them; the scraper's own row names what it was made of.
#[test]
fn the_client_table_carries_the_ledger_and_the_top_pod() {
    let dir = tempfile::tempdir().unwrap();
    let input = log(dir.path());
    let path = input.to_str().unwrap();
    let report: Value =
        serde_json::from_slice(&common::run(&["--format", "json", path]).stdout).unwrap();
    let html = String::from_utf8(common::run(&["--format", "html", path]).stdout).unwrap();
    let table = html
        .split(r#"<table id="clients-table">"#)
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("a clients table");
    let headers: Vec<&str> = table
        .split("<th>")
        .skip(1)
        .map(|h| h.split("</th>").next().unwrap())
        .collect();
    let col = |name: &str| headers.iter().position(|h| *h == name).unwrap();
    let cells = |row: &str| -> Vec<String> {
        row.split("<td")
            .skip(1)
            .map(|c| {
                c.split_once('>')
                    .unwrap()
                    .1
                    .split("</td>")
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let rows: Vec<Vec<String>> = table.split("<tr>").skip(2).map(cells).collect();
    assert!(!rows.is_empty());
    for (row, c) in rows.iter().zip(report["clients"].as_array().unwrap()) {
        assert_eq!(
            row[col("Seats")],
            format!("{:.2}", c["apf_seats"].as_f64().unwrap())
        );
        assert_eq!(
            row[col("Cost %")],
            format!("{:.1}", c["cost_share"].as_f64().unwrap() * 100.0)
        );
    }
    // The scraper made only cluster-wide pod LISTs, each from the pod its token names.
    let scraper = rows
        .iter()
        .find(|r| r[col("Top pod")] == SCRAPER_POD)
        .expect("the scraper's row names its pod");
    assert_eq!(scraper[col("Costliest")], "list pods");
    assert_eq!(scraper[col("User")], "system:serviceaccount:x:scraper");
}

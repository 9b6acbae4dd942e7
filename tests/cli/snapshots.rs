//! The report contract, guarded: the JSON and text reports of a small real sample are
//! snapshots. A changed field name or a changed number shows up here; accept a deliberate
//! change with `INSTA_UPDATE=always cargo test --test cli snapshots::` and say so in the schema doc.

use crate::common;

use std::process::Stdio;

fn run_in_repo(args: &[&str]) -> String {
    let out = common::bin()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn json_report_of_the_small_ocp_sample() {
    let json = run_in_repo(&[
        "--format",
        "json",
        "fixtures/realdata/ocp-clo-apiaudit-testdata-audit.jsonl",
    ]);
    insta::assert_snapshot!(json);
}

#[test]
fn text_report_of_the_ocp_sample() {
    let text = run_in_repo(&[
        "--top",
        "5",
        "fixtures/realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl",
    ]);
    insta::assert_snapshot!(text);
}

#[test]
fn json_report_of_the_audit2rbac_v1_sample() {
    let json = run_in_repo(&[
        "--format",
        "json",
        "fixtures/realdata/audit2rbac-demo-v1-2022.jsonl",
    ]);
    insta::assert_snapshot!(json);
}

#[test]
fn json_report_of_the_v1beta1_sample() {
    let json = run_in_repo(&[
        "--format",
        "json",
        "fixtures/realdata/audit2rbac-demo-v1beta1-2017.jsonl",
    ]);
    assert!(json.contains("audit2rbac-demo-v1beta1-2017.jsonl"));
    insta::assert_snapshot!(json);
}

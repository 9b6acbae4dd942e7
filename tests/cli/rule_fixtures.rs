//! Per-rule fixtures, the way linters keep them: `fixtures/rules/ASxxx/fires.jsonl` holds the
//! rule's minimal pattern and a little background, `silent.jsonl` the nearest confounder the
//! rule must not flag (each directory's README says which; `fixtures/rules/generate.py` writes
//! them). Each rule runs alone (`--rules ASxxx`) on both: `fires` gives exactly one finding of
//! that rule, naming the culprit written below (by hand, from the fixture's design), and its
//! findings are a snapshot; `silent` gives none. Completeness: every registered rule has its
//! fixtures and its case here, and a threshold name misspelled in a config, a suppression or a
//! rule's own code is an error, never a NaN that silently fails every comparison.
//! Accept a deliberate change of a finding with `INSTA_UPDATE=always cargo test --test cli
//! rule_fixtures::`.

use crate::common;

use std::path::{Path, PathBuf};

use audit_scan::rules::{Config, RULES};
use serde_json::Value;

/// What a rule's `fires` fixture must produce.
struct Case {
    rule: &'static str,
    client: &'static str,
    resource: Option<&'static str>,
    object: Option<&'static str>,
}

/// One `#[test]` per rule and the table of cases, from one list: a case cannot lack its test.
macro_rules! cases {
    ($($test:ident: $rule:literal, $client:literal, $resource:expr, $object:expr;)*) => {
        const CASES: &[Case] = &[
            $(Case { rule: $rule, client: $client, resource: $resource, object: $object },)*
        ];
        $(
            #[test]
            fn $test() {
                check($rule);
            }
        )*
    };
}

cases! {
    as101_expensive_list: "AS101", "pod-poller@monitoring/pod-poller", Some("pods"), None;
    as102_watch_relist_storm: "AS102", "karpenter@kube-system/karpenter",
        Some("nodeclaims.karpenter.sh"), None;
    as201_tight_reconcile_loop: "AS201", "manager@team-a/op-controller-manager",
        Some("configmaps"), Some("team-a/app-state");
    as202_noop_update: "AS202", "cache-operator@team-b/cache-operator",
        Some("deployments.apps"), None;
    as203_etcd_write_heavy_client: "AS203",
        "argocd-application-controller@argocd/argocd-application-controller", None, None;
    as204_conflict_storm: "AS204", "manager@team-b/sync-operator", Some("configmaps"),
        Some("team-b/shared-config");
    as205_fighting_writers: "AS205",
        "argocd-application-controller@argocd/argocd-application-controller",
        Some("deployments.apps"), Some("team-c/web");
    as301_throttled_client: "AS301", "ci-deployer@ci/deployer", None, None;
    as302_client_side_throttling: "AS302", "manager@team-a/op-controller-manager", None, None;
    as303_missing_object_hot_loop: "AS303", "cfg-watcher@team-x/cfg-watcher",
        Some("configmaps"), None;
    as401_deprecated_api_caller: "AS401", "Helm@ci/helm-deployer",
        Some("policy/v1beta1/poddisruptionbudgets"), None;
    as501_slow_requests_slo: "AS501", "velero-server@velero/velero", Some("mutating"), None;
    as502_slow_or_failing_webhook: "AS502", "webhook sidecar-injector.mesh.example.com",
        None, None;
    as503_top_seat_consumer: "AS503", "node-agent@kube-system/node-agent", Some("pods"), None;
}

fn dir(rule: &str) -> PathBuf {
    common::fixture("rules").join(rule)
}

/// The findings (active and suppressed) of `rule` alone on `log`; `--strict` makes any line
/// the decoder skipped fatal, so a broken fixture cannot pass as a silent one.
fn findings(rule: &str, log: &Path) -> (Vec<Value>, Vec<Value>) {
    let report = common::report(&["--strict", "--rules", rule, log.to_str().unwrap()]);
    let list = |k: &str| report[k].as_array().cloned().unwrap_or_default();
    (list("findings"), list("suppressed"))
}

fn check(rule: &str) {
    let case = CASES.iter().find(|c| c.rule == rule).unwrap();
    let fires = dir(rule).join("fires.jsonl");
    let (found, suppressed) = findings(rule, &fires);
    assert!(suppressed.is_empty(), "{suppressed:#?}");
    assert_eq!(
        found.len(),
        1,
        "{rule} on its fires fixture: one finding: {found:#?}"
    );
    let f = &found[0];
    assert_eq!(f["rule"], rule, "{f:#}");
    assert_eq!(f["client"], case.client, "{f:#}");
    assert_eq!(f["resource"].as_str(), case.resource, "{f:#}");
    assert_eq!(f["object"].as_str(), case.object, "{f:#}");
    assert!(f["score"].as_f64().unwrap() > 0.0, "{f:#}");
    // The sample auditIDs are requests of the fixture.
    let ids: Vec<String> = common::events(&fires)
        .iter()
        .filter_map(|e| e["auditID"].as_str().map(str::to_owned))
        .collect();
    for id in f["evidence"]["sample_audit_ids"].as_array().unwrap() {
        assert!(
            ids.iter().any(|i| id == i),
            "{id} is not an auditID of {}",
            fires.display()
        );
    }
    insta::assert_snapshot!(
        format!("{}_fires", rule.to_lowercase()),
        serde_json::to_string_pretty(&found).unwrap()
    );

    let (found, suppressed) = findings(rule, &dir(rule).join("silent.jsonl"));
    assert!(
        found.is_empty() && suppressed.is_empty(),
        "{rule} fired on its confounder: {found:#?}{suppressed:#?}"
    );
}

#[test]
fn every_registered_rule_has_fixtures_and_a_case() {
    let codes: Vec<&str> = RULES.iter().map(|r| r.code()).collect();
    for code in &codes {
        for name in ["fires.jsonl", "silent.jsonl", "README.md"] {
            let p = dir(code).join(name);
            let len = std::fs::metadata(&p).map_or(0, |m| m.len());
            assert!(len > 0, "{code} has no {}", p.display());
        }
        assert!(
            CASES.iter().any(|c| c.rule == *code),
            "{code} has fixtures but no case in tests/cli/rule_fixtures.rs"
        );
    }
    // Nothing stale: every fixture directory and case is a registered rule's.
    for entry in std::fs::read_dir(common::fixture("rules")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name().into_string().unwrap();
            assert!(
                codes.contains(&name.as_str()),
                "fixtures/rules/{name}: no such rule"
            );
        }
    }
    for c in CASES {
        assert!(codes.contains(&c.rule), "case {}: no such rule", c.rule);
    }
    assert_eq!(CASES.len(), codes.len());
}

/// The names a rule's code reads with `t.get("…")`, from its source text (`Rule::doc` is the
/// rule's file).
fn names_read(source: &str) -> Vec<&str> {
    source
        .split("t.get(\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(name, _)| name))
        .collect()
}

#[test]
fn every_threshold_a_rule_reads_is_one_it_declares() {
    for rule in RULES {
        let declared: Vec<&str> = rule.thresholds().iter().map(|t| t.name).collect();
        let read = names_read(rule.doc());
        assert!(!read.is_empty(), "{}: no threshold read", rule.code());
        for name in &read {
            assert!(
                declared.contains(name),
                "{} reads threshold '{name}', which it does not declare ({declared:?}): it would read NaN",
                rule.code()
            );
        }
        for name in &declared {
            assert!(
                read.contains(name),
                "{} declares threshold '{name}' but never reads it",
                rule.code()
            );
        }
    }
}

/// `name` with its last letter doubled: `share` → `sharee`.
fn misspelled(name: &str) -> String {
    format!("{name}{}", name.chars().last().unwrap())
}

#[test]
fn a_misspelled_threshold_or_rule_in_a_config_is_refused() {
    for rule in RULES {
        for t in rule.thresholds() {
            // The right name is taken, by code and by slug…
            for id in [rule.code(), rule.slug()] {
                let ok = format!("[rules.{id}]\n{} = {}\n", t.name, t.default);
                assert!(Config::parse(&ok).is_ok(), "{ok}");
            }
            // … a misspelled one is refused, naming it and the names there are.
            let bad = misspelled(t.name);
            let err = Config::parse(&format!("[rules.{}]\n{bad} = 1\n", rule.code()))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("'{bad}'")) && err.contains(rule.code()),
                "{err}"
            );
            for known in rule.thresholds() {
                assert!(err.contains(known.name), "{err} lists {}", known.name);
            }
        }
        let code = rule.code().replace('0', "O");
        for bad in [format!("[rules.{code}]\nx = 1\n"), suppression(&code)] {
            let err = Config::parse(&bad).unwrap_err().to_string();
            assert!(err.contains(&format!("'{code}'")), "{err}");
        }
        assert!(Config::parse(&suppression(rule.code())).is_ok());
        assert!(Config::parse(&suppression(rule.slug())).is_ok());
        let err = Config::parse(&suppression(&misspelled(rule.slug())))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown rule"), "{err}");
    }
}

fn suppression(rule: &str) -> String {
    format!("[[suppress]]\nrule = \"{rule}\"\nclient = \"x\"\nreason = \"known\"\n")
}

/// Through the CLI: a misspelled threshold stops the scan (exit 2, naming the file and the
/// name), where it used to matter most — before a scan that would silently never fire.
#[test]
fn the_scan_refuses_a_config_with_a_misspelled_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("audit-scan.toml");
    std::fs::write(&config, "[rules.AS201]\nwrites_per_minut = 5\n").unwrap();
    let fires = dir("AS201").join("fires.jsonl");
    let out = common::run(&[
        "--config",
        config.to_str().unwrap(),
        fires.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("audit-scan.toml") && stderr.contains("'writes_per_minut'"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    // Spelled right, the override is read, whichever way the section names the rule: at 60 a
    // minute the 12-a-minute loop is no loop.
    for section in ["AS201", "as201", "tight-reconcile-loop"] {
        std::fs::write(
            &config,
            format!("[rules.{section}]\nwrites_per_minute = 60\n"),
        )
        .unwrap();
        let report = common::report(&[
            "--rules",
            "AS201",
            "--config",
            config.to_str().unwrap(),
            fires.to_str().unwrap(),
        ]);
        assert_eq!(
            report["findings"],
            Value::Array(vec![]),
            "[rules.{section}]"
        );
    }
    std::fs::write(
        &config,
        "[rules.AS201]\nsustained_minutes = 2\n[rules.tight-reconcile-loop]\nsustained_minutes = 9\n",
    )
    .unwrap();
    let out = common::run(&[
        "--config",
        config.to_str().unwrap(),
        fires.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "the same rule configured twice");
}

/// `--rules` names rules by code or slug, and refuses a name that is no rule's.
#[test]
fn rules_selects_by_code_or_slug_and_refuses_unknown_names() {
    let fires = dir("AS201").join("fires.jsonl");
    let by_slug = common::report(&["--rules", "tight-reconcile-loop", fires.to_str().unwrap()]);
    assert_eq!(by_slug["findings"][0]["rule"], "AS201");
    let other = common::report(&["--rules", "AS101,as204", fires.to_str().unwrap()]);
    assert_eq!(other["findings"], Value::Array(vec![]), "{other:#}");
    let out = common::run(&["--rules", "AS999", fires.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("'AS999'") && stderr.contains("AS101"),
        "{stderr}"
    );
}

//! Packaging (issue #16): the Dockerfile builds from what the repository has and runs as
//! non-root, the deploy/ CronJob is a manifest audit-scan's own parsers accept, and the binary
//! answers as a kubectl plugin under `kubectl-audit_scan`. Docker and a cluster are not needed:
//! what they would read is read here.

use crate::common;

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Dockerfile instructions (continuation lines joined, comments dropped).
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() && cur.is_empty() {
            continue;
        }
        let (part, more) = t
            .strip_suffix('\\')
            .map_or((t, false), |p| (p.trim_end(), true));
        cur.push_str(part);
        cur.push(' ');
        if !more {
            let (op, rest) = cur.trim().split_once(' ').unwrap_or((cur.trim(), ""));
            out.push((op.to_uppercase(), rest.trim().to_owned()));
            cur.clear();
        }
    }
    out
}

/// Every file `include_str!`/`include_bytes!` embeds, as a path relative to the repository.
fn embedded_files() -> Vec<PathBuf> {
    let re = regex::Regex::new(r#"include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)"#).unwrap();
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root().join("src")) {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            for c in re.captures_iter(&text) {
                let p = e.path().parent().unwrap().join(&c[1]);
                let p = p
                    .canonicalize()
                    .unwrap_or_else(|_| panic!("{}: {}", e.path().display(), &c[1]));
                out.push(
                    p.strip_prefix(root().canonicalize().unwrap())
                        .unwrap()
                        .to_path_buf(),
                );
            }
        }
    }
    out
}

#[test]
fn the_dockerfile_builds_from_what_the_repository_has_and_runs_as_non_root() {
    let ins = instructions(&read("Dockerfile"));
    let froms: Vec<&String> = ins
        .iter()
        .filter(|(op, _)| op == "FROM")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        froms.len(),
        2,
        "multi-stage: a build stage and a runtime stage: {froms:?}"
    );
    assert!(
        froms[0].starts_with("rust:") && froms[0].ends_with(" AS build"),
        "{}",
        froms[0]
    );
    assert!(
        froms[1].starts_with("gcr.io/distroless/cc") && froms[1].contains("nonroot"),
        "a small runtime without a shell: {}",
        froms[1]
    );
    // The build stage copies paths that exist, and they cover everything the build reads.
    let runtime_at = ins.iter().rposition(|(op, _)| op == "FROM").unwrap();
    let mut copied = Vec::new();
    for (op, args) in &ins[..runtime_at] {
        if op == "COPY" {
            let parts: Vec<&str> = args.split_whitespace().collect();
            for src in &parts[..parts.len() - 1] {
                assert!(
                    root().join(src).exists(),
                    "COPY {src}: not in the repository"
                );
                copied.push(PathBuf::from(src));
            }
        }
    }
    let ignored = read(".dockerignore");
    for c in &copied {
        assert!(
            !ignored
                .lines()
                .any(|l| Path::new(l.trim_end_matches('/')) == c.as_path()),
            "{} is copied but .dockerignore leaves it out",
            c.display()
        );
    }
    let covered = |p: &Path| copied.iter().any(|c| p.starts_with(c));
    for needed in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
        assert!(covered(Path::new(needed)), "{needed} is not copied");
    }
    let embedded = embedded_files();
    assert!(
        embedded.iter().any(|p| p.starts_with("queries")),
        "{embedded:?}"
    );
    for p in &embedded {
        assert!(
            covered(p),
            "the build embeds {} but the Dockerfile does not copy it",
            p.display()
        );
    }
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).unwrap();
    for bench in manifest["bench"].as_array().unwrap() {
        let p = PathBuf::from(format!("benches/{}.rs", bench["name"].as_str().unwrap()));
        assert!(
            covered(&p),
            "Cargo.toml declares {} but it is not copied",
            p.display()
        );
    }
    let build = ins[..runtime_at]
        .iter()
        .find(|(op, a)| op == "RUN" && a.contains("cargo build"))
        .map(|(_, a)| a.clone())
        .unwrap();
    assert!(
        build.contains("--release")
            && build.contains("--locked")
            && build.contains("--bin audit-scan"),
        "{build}"
    );
    // The runtime stage: the binary, a numeric non-root user, the binary as the entrypoint.
    let runtime = &ins[runtime_at..];
    let user = runtime
        .iter()
        .find(|(op, _)| op == "USER")
        .map(|(_, a)| a.as_str())
        .unwrap();
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("a numeric user");
    assert_ne!(uid, 0, "not root");
    let entry = runtime
        .iter()
        .find(|(op, _)| op == "ENTRYPOINT")
        .map(|(_, a)| a.as_str())
        .unwrap();
    let entry: Vec<String> = serde_json::from_str(entry).expect("exec form");
    let installed = runtime
        .iter()
        .find(|(op, a)| op == "COPY" && a.starts_with("--from=build"))
        .map(|(_, a)| a.split_whitespace().last().unwrap().to_owned())
        .unwrap();
    assert_eq!(entry, [installed]);
}

/// Every YAML document of the manifest (YAML is read with the crate the kubeconfig reader uses).
#[cfg(feature = "cloudwatch")]
fn manifest() -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(&read("deploy/nightly-audit.yaml"))
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

#[cfg(feature = "cloudwatch")]
fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[cfg(feature = "cloudwatch")]
fn args(c: &Value) -> Vec<String> {
    c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().expect("args are strings").to_owned())
        .collect()
}

#[cfg(feature = "cloudwatch")]
#[test]
fn the_nightly_cronjob_is_a_manifest_audit_scan_accepts() {
    let docs = manifest();
    let job = find(&docs, "CronJob");
    let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(job["spec"]["jobTemplate"]["spec"]["backoffLimit"], 0);
    assert_eq!(
        pod["restartPolicy"], "Never",
        "a failed audit is not retried"
    );
    // IRSA: the pod's service account carries the role.
    let sa = find(&docs, "ServiceAccount");
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    let role = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .unwrap();
    assert!(
        role.starts_with("arn:aws:iam::") && role.contains(":role/"),
        "{role}"
    );
    // Non-root, as the image's USER.
    let sc = &pod["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    let docker_user = read("Dockerfile")
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .map(|u| u.split(':').next().unwrap().parse::<u64>().unwrap())
        .unwrap();
    assert_eq!(sc["runAsUser"], docker_user);
    // The scan: audit-scan's own parser takes its arguments, and it fails the Job on HIGH.
    let scan = &pod["initContainers"][0];
    let scan_args = args(scan);
    let cli = audit_scan::cli::Cli::try_parse_from(
        std::iter::once("audit-scan".to_owned()).chain(scan_args.clone()),
    )
    .unwrap_or_else(|e| panic!("{scan_args:?}: {e}"));
    assert!(cli.command.is_none());
    assert_eq!(
        cli.scan.fail_on,
        Some(audit_scan::model::finding::Severity::High)
    );
    assert_eq!(cli.scan.cloudwatch.target.cluster.as_deref(), Some("prod"));
    let out_file = cli.scan.output.clone().expect("-o");
    // The compare: `diff BASE CURRENT --fail-on-regression`, CURRENT being the scan's output.
    let compare = &pod["containers"][0];
    let compare_args = args(compare);
    let cli = audit_scan::cli::Cli::try_parse_from(
        std::iter::once("audit-scan".to_owned()).chain(compare_args.clone()),
    )
    .unwrap_or_else(|e| panic!("{compare_args:?}: {e}"));
    let Some(audit_scan::cli::Command::Diff(d)) = cli.command else {
        panic!("{compare_args:?} is not a diff");
    };
    assert_eq!(d.current, out_file);
    assert!(d.fail_on_regression.is_some());
    // Both see the same reports volume; the config and baseline come from the ConfigMap.
    let mount = |c: &Value, name: &str| -> PathBuf {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map_or_else(
                || panic!("{} mounts no {name}", c["name"]),
                |m| PathBuf::from(m["mountPath"].as_str().unwrap()),
            )
    };
    assert!(out_file.starts_with(mount(scan, "reports")));
    assert!(d.current.starts_with(mount(compare, "reports")));
    let cm = find(&docs, "ConfigMap");
    let volumes = pod["volumes"].as_array().unwrap();
    let config_volume = volumes.iter().find(|v| v["name"] == "config").unwrap();
    assert_eq!(config_volume["configMap"]["name"], cm["metadata"]["name"]);
    let env = scan["env"].as_array().unwrap();
    let config_path = env
        .iter()
        .find(|e| e["name"] == audit_scan::config_file::ENV)
        .map(|e| PathBuf::from(e["value"].as_str().unwrap()))
        .expect("$AUDIT_SCAN_CONFIG");
    let key = config_path.strip_prefix(mount(scan, "config")).unwrap();
    let toml = cm["data"][key.to_str().unwrap()]
        .as_str()
        .expect("the config key");
    audit_scan::rules::Config::parse(toml)
        .unwrap_or_else(|e| panic!("the ConfigMap's config: {e}"));
    let base_key = d.base.strip_prefix(mount(compare, "config")).unwrap();
    let baseline = cm["data"][base_key.to_str().unwrap()]
        .as_str()
        .expect("the baseline key");
    // The compare step on real files: the manifest's baseline is a report diff accepts, and a
    // night equal to its baseline passes.
    let dir = tempfile::tempdir().unwrap();
    let night = dir.path().join("current.json");
    let log = common::fixture("realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl");
    let out = common::run(&[
        "--format",
        "json",
        "-o",
        night.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let placeholder = dir.path().join("baseline.json");
    std::fs::write(&placeholder, baseline).unwrap();
    let run_compare = |base: &Path| {
        let mut a: Vec<String> = compare_args.clone();
        for x in &mut a {
            if Path::new(x.as_str()) == d.base {
                *x = base.to_str().unwrap().to_owned();
            } else if Path::new(x.as_str()) == d.current {
                *x = night.to_str().unwrap().to_owned();
            }
        }
        common::bin().args(&a).output().unwrap()
    };
    let out = run_compare(&placeholder);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_compare(&night);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_binary_answers_as_a_kubectl_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join(audit_scan::cli::KUBECTL_PLUGIN);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_audit-scan"), &plugin).unwrap();
    let help = std::process::Command::new(&plugin)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Usage: kubectl audit-scan [OPTIONS] [INPUT]..."),
        "{text}"
    );
    let own = common::run(&["--help"]);
    assert!(String::from_utf8_lossy(&own.stdout).contains("Usage: audit-scan [OPTIONS]"));
    // A usage error says how the user typed it.
    let bad = std::process::Command::new(&plugin)
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("kubectl audit-scan"));
    // As kubectl runs it (from PATH, by name): the same report as the binary's own.
    let log = common::fixture("realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl");
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let via = std::process::Command::new(audit_scan::cli::KUBECTL_PLUGIN)
        .env("PATH", path)
        .args(["--format", "json", "--no-config"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        via.status.success(),
        "{}",
        String::from_utf8_lossy(&via.stderr)
    );
    let direct = common::run(&["--format", "json", "--no-config", log.to_str().unwrap()]);
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&via.stdout).unwrap(),
        serde_json::from_slice(&direct.stdout).unwrap(),
    );
    assert_eq!(a["summary"]["requests"], b["summary"]["requests"]);
    assert_eq!(a["findings"], b["findings"]);
    assert_eq!(a["clients"], b["clients"]);
    // Through kubectl itself, where it is installed: its plugin lookup finds the name and runs it.
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let kubectl = |args: &[&str]| {
        std::process::Command::new("kubectl")
            .env("PATH", &path)
            .args(args)
            .output()
    };
    match kubectl(&["plugin", "list"]) {
        Ok(list) => {
            let list = String::from_utf8_lossy(&list.stdout);
            assert!(list.contains(audit_scan::cli::KUBECTL_PLUGIN), "{list}");
            let help = kubectl(&["audit-scan", "--help"]).unwrap();
            assert!(help.status.success());
            assert!(
                String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl audit-scan"),
                "{}",
                String::from_utf8_lossy(&help.stdout)
            );
        }
        Err(e) => eprintln!("note: no kubectl on PATH ({e}): the plugin was run by its name only"),
    }
}

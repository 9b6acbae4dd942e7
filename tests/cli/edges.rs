//! The edges people touch first (issue #16): directory scans that leave out what is not a log,
//! messages in words, a byte-order mark, an empty window, `--code` and resource filters in the
//! report's own forms, completions and the man page.

use crate::common;

use common::*;
use serde_json::Value;

const OCP: &str = "realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The audit logs of fixtures/realdata, as PROVENANCE.md lists them (the other files are its
/// notes, checksums, a policy and a CSV flattening of a log).
const REALDATA_LOGS: [&str; 5] = [
    "audit2rbac-demo-v1-2022.jsonl",
    "audit2rbac-demo-v1beta1-2017.jsonl",
    "hkerma-perfspec-derived-partial-events.jsonl.gz",
    "ocp-clo-apiaudit-testdata-audit.jsonl",
    "ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl",
];

#[test]
fn a_directory_scan_leaves_out_what_is_not_a_log_in_one_note() {
    let dir = fixture("realdata");
    let out = run(&["--format", "json", "--no-progress", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &r["summary"];
    assert_eq!(s["skipped"]["total"], 0, "no line of a non-log is counted");
    let inputs: Vec<&str> = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(inputs, REALDATA_LOGS);
    let mut left_out: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !REALDATA_LOGS.contains(&n.as_str()))
        .collect();
    left_out.sort();
    let skipped: Vec<&str> = s["skipped_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(skipped, left_out);
    let provenance = &s["skipped_files"][0];
    assert_eq!(provenance["reason"], "not JSON: starts with '#'");
    // Requests: the same as reading every log by name.
    let want: u64 = REALDATA_LOGS
        .iter()
        .map(|n| {
            events(&dir.join(n))
                .iter()
                .filter(|e| is_request(e))
                .count() as u64
        })
        .sum();
    assert_eq!(s["requests"], want);
    let err = stderr(&out);
    assert_eq!(
        err.matches("audit-scan: note: left out").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("PROVENANCE.md (not JSON: starts with '#')"),
        "{err}"
    );
    assert!(
        err.contains("audit-logs.csv.gz (gzip: not JSON: starts with '\"')"),
        "{err}"
    );
    // --strict is about malformed lines of logs, not about a README beside them.
    let strict = run(&["--strict", "--no-progress", dir.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(0), "{}", stderr(&strict));
}

#[test]
fn a_file_named_on_the_command_line_is_read_and_its_lines_are_explained() {
    let f = fixture("realdata/PROVENANCE.md");
    let out = run(&["--format", "json", f.to_str().unwrap()]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &r["summary"]["skipped"]["examples"][0];
    assert_eq!(first["line"], 1);
    assert_eq!(first["message"], "not JSON: starts with '#'");
    let err = stderr(&out);
    assert!(
        err.contains("PROVENANCE.md:1: not JSON: starts with '#'"),
        "{err}"
    );
    assert!(
        !err.contains("InternalError") && !err.contains("character 0"),
        "{err}"
    );
}

#[test]
fn a_leading_byte_order_mark_costs_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read(fixture(OCP)).unwrap();
    let path = dir.path().join("bom.jsonl");
    std::fs::write(&path, [&b"\xEF\xBB\xBF"[..], &src].concat()).unwrap();
    let want = events(&fixture(OCP)).len() as u64;
    for input in [path.clone(), dir.path().to_path_buf()] {
        let r = report(&[input.to_str().unwrap()]);
        assert_eq!(r["summary"]["events"], want, "{}", input.display());
        assert_eq!(r["summary"]["skipped"]["total"], 0);
    }
    // From stdin too.
    let out = run_stdin(&["--format", "json", "-"], &std::fs::read(&path).unwrap());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["summary"]["events"], want);
}

#[test]
fn a_window_that_excludes_every_event_warns_and_fails_under_strict() {
    let f = fixture(OCP);
    let requests = events(&f).iter().filter(|e| is_request(e)).count();
    let out = run(&["--format", "json", "--since", "1h", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    let want = format!(
        "audit-scan: warning: no request fell inside the window (--since 1h): {requests} request(s) lay outside it"
    );
    assert!(err.contains(&want), "{err}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r["summary"]["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("no request fell inside the window")
    );
    let strict = run(&["--strict", "--since", "1h", f.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        stderr(&strict).contains("(--strict)"),
        "{}",
        stderr(&strict)
    );
    assert!(strict.stdout.is_empty());
    // A window that keeps requests says nothing of the kind.
    let kept = run(&["--since", "2000-01-01", f.to_str().unwrap()]);
    assert!(
        !stderr(&kept).contains("no request fell"),
        "{}",
        stderr(&kept)
    );
}

fn code(e: &Value) -> u64 {
    e["responseStatus"]["code"].as_u64().unwrap_or(0)
}

#[test]
fn code_filters_keep_codes_and_classes() {
    let f = fixture(OCP);
    let reqs: Vec<Value> = events(&f).into_iter().filter(is_request).collect();
    let count = |keep: &dyn Fn(u64) -> bool| reqs.iter().filter(|e| keep(code(e))).count() as u64;
    let r = report(&["--code", "4xx", f.to_str().unwrap()]);
    let want = count(&|c| (400..500).contains(&c));
    assert!(want > 0, "the sample has client errors");
    assert_eq!(r["summary"]["requests"], want);
    let errors: u64 = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(errors, want, "every kept request is an error row");
    let r = report(&["--code", "200", "--code", "404", f.to_str().unwrap()]);
    assert_eq!(r["summary"]["requests"], count(&|c| c == 200 || c == 404));
    let out = run(&["--code", "6xx", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid --code '6xx'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn resource_filters_take_the_forms_the_report_prints() {
    let f = fixture(OCP);
    let reqs: Vec<Value> = events(&f).into_iter().filter(is_request).collect();
    // Every resource the report names, in its own printed form, keeps exactly its requests.
    let r = report(&[f.to_str().unwrap()]);
    let mut printed: Vec<String> = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["resource"].as_str().unwrap().to_owned())
        .filter(|r| r.contains('.') || r.contains('/'))
        .collect();
    printed.sort();
    printed.dedup();
    assert!(printed.iter().any(|p| p.contains('.')), "{printed:?}");
    for p in &printed {
        let (res, sub) = p.split_once('/').unwrap_or((p, ""));
        let want = reqs
            .iter()
            .filter(|e| {
                qualified_resource(e) == res
                    && (sub.is_empty() || e["objectRef"]["subresource"].as_str() == Some(sub))
            })
            .count() as u64;
        let got = report(&["--resource", p, f.to_str().unwrap()]);
        assert_eq!(got["summary"]["requests"], want, "--resource {p}");
    }
}

#[test]
fn a_filter_that_matches_nothing_says_so() {
    let f = fixture(OCP);
    let out = run(&["--resource", "deploymentz", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let requests = events(&f).iter().filter(|e| is_request(e)).count();
    assert!(
        stderr(&out).contains(&format!(
            "warning: the filters matched no request (--resource 'deploymentz'): {requests} request(s) were left out"
        )),
        "{}",
        stderr(&out)
    );
    let strict = run(&["--strict", "--resource", "deploymentz", f.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(2));
}

#[test]
fn queries_run_json_ends_with_a_newline() {
    let out = run(&[
        "queries",
        "run",
        "client-qps",
        "--local",
        fixture(OCP).to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.ends_with(b"}\n"));
    let _: Value = serde_json::from_slice(&out.stdout).unwrap();
}

#[test]
fn the_html_counts_inputs_in_words() {
    let f = fixture(OCP);
    let one = run(&["--format", "html", f.to_str().unwrap()]);
    let page = String::from_utf8_lossy(&one.stdout);
    assert!(page.contains(" · 1 input · "), "one input");
    let two = run(&["--format", "html", f.to_str().unwrap(), f.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&two.stdout).contains(" · 2 inputs · "));
}

/// Every long flag of the scan, as `--help` lists them.
fn long_flags() -> Vec<String> {
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    let mut flags: Vec<String> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2 && w.as_bytes()[2].is_ascii_lowercase())
        .map(|w| {
            w.trim_end_matches([',', '.', ')', ']', '>', ':', '\'', '`'])
                .split(['=', '['])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

#[test]
fn completions_for_every_shell_know_the_flags() {
    let flags = long_flags();
    assert!(
        flags.contains(&"--code".to_owned()) && flags.len() > 30,
        "{flags:?}"
    );
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = String::from_utf8(out.stdout).unwrap();
        for flag in &flags {
            let bare = flag.trim_start_matches('-');
            assert!(script.contains(bare), "{shell} completion lacks {flag}");
        }
    }
    // bash loads it and registers the function for the command.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit-scan.bash");
    std::fs::write(&path, run(&["completions", "bash"]).stdout).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p audit-scan",
            path.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("audit-scan"),
        "{}",
        stderr(&out)
    );
    // An unknown shell is a usage error, not a file name.
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_completions_quietly() {
    let mut child = bin()
        .args(["completions", "zsh"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn the_man_page_is_checked_in_fresh_and_names_every_flag() {
    let out = run(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH audit-scan 1"), "{}", &page[..200]);
    for flag in long_flags() {
        // roff escapes the dashes: `\-\-code`.
        let roff = flag.replace('-', "\\-");
        assert!(page.contains(&roff), "the man page lacks {flag}");
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man/audit-scan.1");
    if std::env::var_os("AUDIT_SCAN_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &page).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == page,
        "docs/man/audit-scan.1 is stale: run `AUDIT_SCAN_UPDATE_DOCS=1 cargo test --test cli edges::` (or `audit-scan man > docs/man/audit-scan.1`)"
    );
    // man renders it.
    if let Ok(out) = std::process::Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(&path)
        .env("MANWIDTH", "100")
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("audit-scan"), "{}", stderr(&out));
    }
}

/// A config with `n` distinct suppressions (one of them expired when `expired`): the count in
/// `summary.config.suppressions` tells which file was read.
fn config_with(n: usize, expired: bool) -> String {
    (0..n)
        .map(|i| {
            let expires = if expired && i == 0 {
                "2001-02-03"
            } else {
                "2999-01-01"
            };
            format!(
                "[[suppress]]\nrule = \"AS201\"\nclient = \"team-{i}-*\"\nreason = \"known {i}\"\nexpires = \"{expires}\"\n\n"
            )
        })
        .collect::<Vec<String>>()
        .concat()
}

/// Runs a JSON scan of the OCP sample in `cwd` with this environment.
fn scan_in(
    cwd: &std::path::Path,
    env: &[(&str, &std::path::Path)],
    args: &[&str],
) -> std::process::Output {
    let mut c = bin();
    if !args.contains(&"--format") {
        c.args(["--format", "json"]);
    }
    c.current_dir(cwd)
        .arg("--no-progress")
        .args(args)
        .arg(fixture(OCP))
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn the_config_is_found_by_flag_variable_working_dir_repository_and_user_dir_in_that_order() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let cwd = repo.join("jobs").join("nightly");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let xdg = t.path().join("xdg");
    std::fs::create_dir_all(xdg.join("audit-scan")).unwrap();
    let user = xdg.join("audit-scan").join("audit-scan.toml");
    let in_repo = repo.join("audit-scan.toml");
    let here = cwd.join("audit-scan.toml");
    let named = t.path().join("named.toml");
    let flagged = t.path().join("flagged.toml");
    let files = [
        (&user, 1),
        (&in_repo, 2),
        (&here, 3),
        (&named, 4),
        (&flagged, 5),
    ];
    for (path, n) in files {
        std::fs::write(path, config_with(n, false)).unwrap();
    }
    // Each step adds the next source; the last added wins.
    let cases: [(&str, usize, &std::path::Path); 5] = [
        ("user_dir", 1, user.as_path()),
        ("repository", 2, in_repo.as_path()),
        ("working_dir", 3, here.as_path()),
        ("env", 4, named.as_path()),
        ("flag", 5, flagged.as_path()),
    ];
    for (i, (found_by, n, path)) in cases.into_iter().enumerate() {
        // Files of the later (stronger) sources are hidden until their turn.
        for (p, m) in files {
            let hidden = p.with_extension("off");
            if m > i + 1 && p.exists() {
                std::fs::rename(p, &hidden).unwrap();
            } else if m <= i + 1 && hidden.exists() {
                std::fs::rename(&hidden, p).unwrap();
            }
        }
        let mut env: Vec<(&str, &std::path::Path)> = vec![("XDG_CONFIG_HOME", xdg.as_path())];
        if i >= 3 {
            env.push(("AUDIT_SCAN_CONFIG", named.as_path()));
        }
        let flag = flagged.to_str().unwrap();
        let args: &[&str] = if i >= 4 { &["--config", flag] } else { &[] };
        let out = scan_in(&cwd, &env, args);
        assert_eq!(out.status.code(), Some(0), "{found_by}: {}", stderr(&out));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_valid_report(&r);
        let c = &r["summary"]["config"];
        assert_eq!(c["found_by"], found_by, "{c}");
        assert_eq!(c["suppressions"], n as u64, "{found_by}: the file read");
        let shown = std::path::Path::new(c["path"].as_str().unwrap());
        assert_eq!(
            shown.canonicalize().unwrap(),
            path.canonicalize().unwrap(),
            "{found_by}"
        );
        let err = stderr(&out);
        assert!(
            err.contains(&format!("audit-scan: config {}", shown.display())),
            "{found_by}: {err}"
        );
        // --no-config reads none of them (and cannot be mixed with --config).
        if i < 4 {
            let out = scan_in(&cwd, &env, &["--no-config"]);
            let r: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(r["summary"].get("config").is_none(), "{found_by}");
        }
    }
    let both = scan_in(&cwd, &[], &["--no-config", "--config", "x.toml"]);
    assert_eq!(both.status.code(), Some(2));
    // Outside a repository the parents are not searched.
    let outside = t.path().join("plain").join("sub");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        t.path().join("plain").join("audit-scan.toml"),
        config_with(1, false),
    )
    .unwrap();
    let out = scan_in(&outside, &[], &[]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["summary"].get("config").is_none(), "{}", r["summary"]);
}

#[test]
fn an_expired_suppression_warns_with_its_rule_client_and_date_and_fails_under_strict() {
    let t = tempfile::tempdir().unwrap();
    let cfg = t.path().join("audit-scan.toml");
    std::fs::write(&cfg, config_with(3, true)).unwrap();
    let out = scan_in(t.path(), &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let warning = "audit-scan: warning: the suppression of AS201 for 'team-0-*' expired on 2001-02-03 (known 0)";
    assert!(err.contains(warning), "{err}");
    assert_eq!(
        err.matches("expired on").count(),
        1,
        "only the lapsed one: {err}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &r["summary"]["config"];
    assert_eq!(c["suppressions"], 3);
    let expired = c["expired_suppressions"].as_array().unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["rule"], "AS201");
    assert_eq!(expired[0]["client"], "team-0-*");
    assert_eq!(expired[0]["expires"], "2001-02-03");
    assert!(
        r["summary"]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("expired on 2001-02-03")),
    );
    // The human formats carry the file and the count.
    for format in ["text", "md", "html"] {
        let out = scan_in(t.path(), &[], &["--format", format]);
        let page = String::from_utf8_lossy(&out.stdout);
        assert!(
            page.contains("3 suppression(s); 1 expired)") && page.contains("audit-scan.toml"),
            "{format}: {page}"
        );
    }
    let strict = scan_in(t.path(), &[], &["--strict"]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        stderr(&strict).contains("expired on 2001-02-03") && stderr(&strict).contains("(--strict)"),
        "{}",
        stderr(&strict)
    );
}

#[test]
fn a_bad_config_is_an_error_naming_the_file_line_and_column() {
    let t = tempfile::tempdir().unwrap();
    let cfg = t.path().join("audit-scan.toml");
    for (text, line_col, says) in [
        (
            "[rules.AS201]\nwrites_per_minute = 3\nnope = 1\n",
            "3:1",
            "rule AS201 has no threshold 'nope'",
        ),
        ("# ok\n\n[rules.AS201\n", "3:", ""),
        (
            "[[suppress]]\nrule = \"AS201\"\nclient = \"x\"\nreason = \"r\"\nexpires = \"soon\"\n",
            "5:11",
            "which is not a date",
        ),
    ] {
        std::fs::write(&cfg, text).unwrap();
        // Found in the working directory as well as given by name.
        for args in [&[][..], &["--config", cfg.to_str().unwrap()][..]] {
            let out = scan_in(t.path(), &[], args);
            assert_eq!(out.status.code(), Some(2), "{text}");
            let err = stderr(&out);
            let first = err.lines().next().unwrap_or_default();
            assert!(
                first.starts_with("audit-scan: error: ")
                    && first.contains(&format!("audit-scan.toml:{line_col}"))
                    && first.contains(says),
                "{text:?} {args:?}: {err}"
            );
            assert!(out.stdout.is_empty());
        }
    }
}

/// GitHub's anchor for a heading: lowercase, punctuation other than `-` dropped, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn the_readme_opens_with_two_commands_and_its_contents_reach_every_section() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    // The first screen: the title, then one block of exactly two commands.
    let first = readme
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    assert_eq!(first.lines().count(), 2, "{first}");
    assert!(
        readme.find("```sh\n").unwrap() < 40,
        "the commands open the README"
    );
    // The contents line links every section, and every link in it resolves.
    let contents = readme
        .split("**Contents:**")
        .nth(1)
        .and_then(|c| c.split("\n\n").next())
        .expect("a Contents line");
    let link = regex::Regex::new(r"\]\(([^)]+)\)").unwrap();
    let targets: Vec<&str> = link
        .captures_iter(contents)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let in_fence = |i: usize| readme[..i].matches("```").count() % 2 == 1;
    let headings: Vec<String> = readme
        .match_indices("\n## ")
        .filter(|(i, _)| !in_fence(*i))
        .map(|(i, _)| readme[i + 4..].lines().next().unwrap().to_owned())
        .collect();
    assert!(headings.len() >= 10, "{headings:?}");
    for h in &headings {
        let a = format!("#{}", anchor(h));
        assert!(
            targets.contains(&a.as_str()),
            "the contents do not link '## {h}' ({a})"
        );
    }
    for t in &targets {
        match t.strip_prefix('#') {
            Some(a) => assert!(
                headings.iter().any(|h| anchor(h) == a),
                "#{a} is no heading"
            ),
            None => assert!(root.join(t).exists(), "{t} does not exist"),
        }
    }
    // Every relative link of the README leads to a file of the repository.
    for c in link.captures_iter(&readme) {
        let t = c.get(1).unwrap().as_str();
        if !t.starts_with('#') && !t.contains("://") {
            assert!(
                root.join(t).exists(),
                "README links {t}, which does not exist"
            );
        }
    }
}

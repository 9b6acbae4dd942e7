//! `--follow`: a growing file followed like `tail -F` (appends, a rename rotation, a
//! truncation, a line written in two halves, new and compressed files in a watched directory),
//! the NDJSON refreshes, and the final report after SIGINT against a batch scan of the same
//! events. The expected counts come from the lines the test itself wrote.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;

/// A running `audit-scan --follow`, its stdout lines collected as they come.
pub(crate) struct Following {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Following {
    fn start(args: &[&str]) -> Self {
        Self::spawn(common::bin(), args)
    }

    /// Starts `cmd` (the binary, its environment set) with `--follow`, a 1 s refresh and `args`.
    pub(crate) fn spawn(mut cmd: std::process::Command, args: &[&str]) -> Self {
        let mut child = cmd
            .args([
                "--follow",
                "--refresh",
                "1s",
                "--poll-ms",
                "50",
                "--no-progress",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start audit-scan --follow");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Self {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Waits (a minute at most) until the latest refresh satisfies `ready`.
    pub(crate) fn wait_for(&mut self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let doc = |l: &String| serde_json::from_str::<Value>(l).expect("an NDJSON line");
        let lines = self.wait_lines(what, |lines| {
            lines.last().map(doc).is_some_and(|d| ready(&d))
        });
        doc(lines.last().unwrap())
    }

    /// Waits (a minute at most) until the stdout lines so far satisfy `ready`.
    fn wait_lines(&mut self, what: &str, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
        let t = Instant::now();
        loop {
            {
                let lines = self.lines.lock().unwrap();
                if ready(&lines) {
                    return lines.clone();
                }
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                let err = std::io::read_to_string(self.child.stderr.take().unwrap()).unwrap();
                panic!("--follow ended ({status}) before {what}: {err}");
            }
            assert!(
                t.elapsed() < Duration::from_mins(1),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT.
    pub(crate) fn signal(&self) {
        let kill = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    }

    /// Waits for the exit, `within` at most: its exit code.
    pub(crate) fn wait_exit(&mut self, within: Duration) -> i32 {
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited, not killed");
            }
            assert!(t.elapsed() < within, "still running after {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT and returns every stdout line, the exit code and stderr.
    pub(crate) fn interrupt(mut self) -> (Vec<String>, i32, String) {
        self.signal();
        let status = self.child.wait().unwrap();
        self.reader.take().unwrap().join().unwrap();
        let err = std::io::read_to_string(self.child.stderr.take().unwrap()).unwrap();
        let lines = self.lines.lock().unwrap().clone();
        (lines, status.code().expect("exited, not killed"), err)
    }
}

/// A failed test leaves no follower running.
impl Drop for Following {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One audit event (ResponseComplete) of `client`'s service account, `seq` within it, at `t`.
pub(crate) fn event(client: &str, seq: usize, t: chrono::DateTime<chrono::Utc>) -> String {
    let ts = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": format!("{client}-{seq}"), "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/follow/configmaps/c{seq}"), "verb": "get",
        "user": {"username": format!("system:serviceaccount:follow:{client}")},
        "userAgent": format!("{client}/v1.0.0 (linux/amd64) kubernetes/abcdef"),
        "objectRef": {"resource": "configmaps", "namespace": "follow", "name": format!("c{seq}"), "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": ts, "stageTimestamp": ts,
    })
    .to_string()
}

/// `n` lines of `client`, timed a few seconds back from now.
fn lines_of(client: &str, n: usize) -> String {
    let now = chrono::Utc::now() - chrono::Duration::seconds(5);
    (0..n)
        .map(|i| event(client, i, now + chrono::Duration::milliseconds(i as i64)) + "\n")
        .collect()
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Requests per client (the client name starts with the userAgent's product).
pub(crate) fn per_client(doc: &Value) -> std::collections::BTreeMap<String, u64> {
    doc["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["client"].as_str().unwrap();
            let product = name.split('@').next().unwrap().to_owned();
            (product, c["requests"].as_u64().unwrap())
        })
        .collect()
}

pub(crate) fn requests(doc: &Value) -> u64 {
    doc["summary"]["requests"].as_u64().unwrap()
}

#[test]
fn appends_a_rename_rotation_and_a_truncation_lose_no_line_and_read_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let rotated = dir.path().join("audit.log.1");
    append(&log, &lines_of("before", 50));
    let log_arg = log.to_str().unwrap();
    let mut f = Following::start(&["--format", "json", log_arg]);
    f.wait_for("the first 50", |d| requests(d) == 50);

    // Appends, and a line written in two halves (a writer caught mid-line).
    append(&log, &lines_of("append", 20));
    let half = event("halves", 0, chrono::Utc::now());
    let (a, b) = half.split_at(half.len() / 2);
    append(&log, a);
    f.wait_for("the appends", |d| requests(d) == 70);
    append(&log, &format!("{b}\n"));
    f.wait_for("the joined line", |d| requests(d) == 71);

    // Rename rotation; the writer still appends to the old file once, then the new one.
    std::fs::rename(&log, &rotated).unwrap();
    append(&rotated, &lines_of("late", 10));
    append(&log, &lines_of("renamed", 30));
    let d = f.wait_for("the rotation", |d| requests(d) == 111);
    assert_eq!(
        d["summary"]["follow"]["rotations"], 1,
        "{}",
        d["summary"]["follow"]
    );

    // copytruncate: emptied in place, then written again from its start.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    f.wait_for("the truncation", |d| {
        d["summary"]["follow"]["truncations"] == 1
    });
    append(&log, &lines_of("truncated", 20));
    f.wait_for("the lines after the truncation", |d| requests(d) == 131);

    let (lines, code, err) = f.interrupt();
    assert_eq!(code, 0, "{err}");
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    common::assert_valid_report(&last);
    assert_eq!(last["summary"]["follow"]["final"], true);
    let expected: std::collections::BTreeMap<String, u64> = [
        ("append", 20),
        ("before", 50),
        ("halves", 1),
        ("late", 10),
        ("renamed", 30),
        ("truncated", 20),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(per_client(&last), expected);
    assert_eq!(requests(&last), 131);
    assert_eq!(
        last["summary"]["skipped"]["total"], 0,
        "{}",
        last["summary"]["skipped"]
    );
    // Every refresh before it is a window document, never final.
    for l in &lines[..lines.len() - 1] {
        let d: Value = serde_json::from_str(l).unwrap();
        assert_eq!(d["summary"]["follow"]["final"], false);
    }
}

#[test]
fn a_watched_directory_reads_new_files_and_compressed_files_once() {
    let dir = tempfile::tempdir().unwrap();
    let gz = |name: &str, text: &str| {
        let f = std::fs::File::create(dir.path().join(name)).unwrap();
        let mut w = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        w.write_all(text.as_bytes()).unwrap();
        w.finish().unwrap();
    };
    // History before following: a compressed rotated file and the live one.
    gz("audit-1.log.gz", &lines_of("history", 40));
    append(&dir.path().join("audit.log"), &lines_of("live", 10));
    let mut f = Following::start(&["--format", "json", dir.path().to_str().unwrap()]);
    f.wait_for("the files present at start", |d| requests(d) == 50);
    // A new plain file is read from its start; a compressed file appearing now is a rotated
    // copy of lines already read, counted and not read.
    append(&dir.path().join("audit-b.log"), &lines_of("newfile", 7));
    gz("audit-2.log.gz", &lines_of("live", 10));
    f.wait_for("the new file", |d| {
        requests(d) == 57 && d["summary"]["follow"]["compressed_skipped"] == 1
    });
    let (lines, code, err) = f.interrupt();
    assert_eq!(code, 0, "{err}");
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let expected: std::collections::BTreeMap<String, u64> =
        [("history", 40), ("live", 10), ("newfile", 7)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    assert_eq!(per_client(&last), expected);
}

/// Writes `size` of generated traffic from `start` with a reconcile loop and throttling
/// planted, to `path`.
pub(crate) fn generate_planted(start: &str, size: &str, path: &Path) {
    let out = common::run(&[
        "generate",
        "--size",
        size,
        "--start",
        start,
        "--rate",
        "5",
        "--plant",
        "reconcile-loop",
        "--plant",
        "throttled",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
}

/// The report minus what only following has: `summary.follow`.
pub(crate) fn without_follow(mut doc: Value) -> Value {
    doc["summary"].as_object_mut().unwrap().remove("follow");
    doc
}

#[test]
fn the_final_report_after_sigint_equals_a_batch_scan_of_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("generated.jsonl");
    // Ten minutes of traffic ending about now, with three planted problems.
    let start = (chrono::Utc::now() - chrono::Duration::minutes(12))
        .format("%Y-%m-%dT%H:%M:00Z")
        .to_string();
    generate_planted(&start, "4MB", &all);
    let text = std::fs::read_to_string(&all).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;
    let log = dir.path().join("audit.log");
    append(&log, &(lines[..half].join("\n") + "\n"));
    let log_arg = log.to_str().unwrap();
    let since = ["--since", &start];
    let mut f = Following::start(&[
        "--format",
        "json",
        "--window",
        "1h",
        "--fail-on",
        "medium",
        since[0],
        since[1],
        log_arg,
    ]);
    f.wait_for("the first half", |d| {
        d["summary"]["follow"]["refresh"].as_u64() >= Some(0)
    });
    append(&log, &(lines[half..].join("\n") + "\n"));
    let events = lines.len() as u64;
    f.wait_for("the second half in a refresh", |d| {
        d["summary"]["events"].as_u64() == Some(events)
    });
    let (out, code, err) = f.interrupt();
    let last = without_follow(serde_json::from_str(out.last().unwrap()).unwrap());

    let batch_out = common::run(&[
        "--format",
        "json",
        "--no-progress",
        "--threads",
        "1",
        "--fail-on",
        "medium",
        since[0],
        since[1],
        log_arg,
    ]);
    let batch: Value = serde_json::from_slice(&batch_out.stdout).unwrap();
    assert!(
        !batch["findings"].as_array().unwrap().is_empty(),
        "the plants make findings"
    );
    assert_eq!(last, batch, "the final report differs from the batch scan");
    // The same exit code as the batch run: findings at medium make it 1.
    assert_eq!(Some(code), batch_out.status.code(), "{err}");
    assert_eq!(code, 1);
}

#[test]
fn piped_text_is_appended_blocks_and_html_is_rewritten_whole() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, &lines_of("blocks", 5));
    let page = dir.path().join("live.html");
    let html = Following::start(&[
        "--format",
        "html",
        "-o",
        page.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let mut text = Following::start(&[log.to_str().unwrap()]);
    let t = Instant::now();
    while !page.exists() {
        assert!(t.elapsed() < Duration::from_mins(1), "no page written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = std::fs::read_to_string(&page).unwrap();
    assert!(
        first.trim_end().ends_with("</html>"),
        "a whole page, never half of one"
    );
    let (_, code, err) = html.interrupt();
    assert_eq!(code, 0, "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");

    let blocks = |lines: &[String], what: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with("== audit-scan --follow: ") && l.contains(what))
            .count()
    };
    text.wait_lines("two blocks", |lines| blocks(lines, "window") >= 2);
    let (lines, code, err) = text.interrupt();
    assert_eq!(code, 0, "{err}");
    assert_eq!(blocks(&lines, "final report"), 1, "{lines:#?}");
    let final_at = lines
        .iter()
        .position(|l| l.contains("final report"))
        .unwrap();
    assert!(
        lines[..final_at].iter().all(|l| !l.contains("\u{1b}[")),
        "piped output carries no escape sequence"
    );
}

#[test]
fn the_terminal_view_redraws_in_a_pty_and_neutralizes_a_hostile_user_agent() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let mut text = lines_of("steady", 30);
    let now = chrono::Utc::now() - chrono::Duration::seconds(2);
    for i in 0..5 {
        // A bidi override and a colour escape in the userAgent, as an attacker would send.
        text.push_str(&(event("evil\u{202e}\u{1b}[31mred", i, now) + "\n"));
    }
    append(&log, &text);
    // `script` gives the follower a terminal; `timeout` sends the SIGINT that ends it.
    let cmd = format!(
        "timeout --preserve-status -s INT 4 {} --follow --refresh 1s --poll-ms 50 --no-config {}",
        env!("CARGO_BIN_EXE_audit-scan"),
        log.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("COLUMNS", "120")
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux runs the follower in a pty");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    let redraws = screen.matches("\u{1b}[H\u{1b}[2J").count();
    assert!(
        redraws >= 3,
        "at least two refreshes and the final report: {redraws}\n{screen}"
    );
    for part in [
        "requests/s",
        "TOP CLIENTS",
        "FINDINGS",
        "steady@follow/steady",
        "lag ",
    ] {
        assert!(screen.contains(part), "the view shows {part:?}:\n{screen}");
    }
    // Under NO_COLOR the only escapes are the redraws; the hostile text arrives neutralized.
    let rest = screen.replace("\u{1b}[H\u{1b}[2J", "");
    assert!(
        !rest.contains('\u{1b}'),
        "an escape reached the terminal:\n{rest}"
    );
    assert!(
        !rest.contains('\u{202e}'),
        "a bidi override reached the terminal"
    );
    assert!(rest.contains("evil\\u{202e}\\u{1b}[31mred"), "{rest}");
    assert!(
        rest.contains("final report of the whole followed period"),
        "{rest}"
    );
}

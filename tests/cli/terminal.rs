//! What a person at a terminal sees: colour on a terminal and never on a pipe or under
//! `NO_COLOR`, a progress bar on a large input (none with `--no-progress`), and `| head -1`
//! ending the run with exit 0 and nothing on stderr. The terminal is a real pseudo-terminal.

use crate::common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A pseudo-terminal pair (controller, terminal side), 200 columns wide.
fn pty() -> (File, OwnedFd) {
    let (mut controller, mut terminal) = (0, 0);
    let mut size = libc::winsize {
        ws_row: 50,
        ws_col: 200,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two new descriptors into the integers; no name or termios is asked.
    let rc = unsafe {
        libc::openpty(
            &raw mut controller,
            &raw mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            &raw mut size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    unsafe {
        (
            File::from_raw_fd(controller),
            OwnedFd::from_raw_fd(terminal),
        )
    }
}

/// Where a stream of the child goes.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Terminal,
    Null,
}

/// Runs audit-scan with stdout and stderr each on the terminal or `/dev/null`; returns what the
/// terminal showed and the exit code.
fn on_terminal(args: &[&str], stdout: To, stderr: To, env: &[(&str, &str)]) -> (String, i32) {
    let (mut controller, terminal) = pty();
    let side = |to: To| match to {
        To::Terminal => Stdio::from(terminal.try_clone().unwrap()),
        To::Null => Stdio::null(),
    };
    let mut cmd = common::bin();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(side(stdout))
        .stderr(side(stderr))
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // The command keeps its copies of the terminal side until dropped: drop them (and ours),
    // so that the child's exit closes the terminal and the reader below ends.
    drop(cmd);
    drop(terminal);
    // Read until the terminal side is closed by the child's exit (EIO on Linux).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = controller.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        let _ = tx.send(seen);
    });
    let status = child.wait().unwrap();
    let seen = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the terminal stayed open after the run ended");
    (
        String::from_utf8_lossy(&seen).into_owned(),
        status.code().unwrap_or(-1),
    )
}

fn small_log(dir: &Path) -> PathBuf {
    common::generated(dir, 400_000, 5)
}

const ESC: char = '\u{1b}';

#[test]
fn colour_on_a_terminal_only_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let log = small_log(dir.path());
    let log = log.to_str().unwrap();
    let (tty, code) = on_terminal(&["--no-progress", log], To::Terminal, To::Null, &[]);
    assert_eq!(code, 0);
    assert!(tty.contains("CLIENT"), "{tty}");
    assert!(tty.contains(&format!("{ESC}[")), "no colour on a terminal");
    let (plain, code) = on_terminal(
        &["--no-progress", log],
        To::Terminal,
        To::Null,
        &[("NO_COLOR", "1")],
    );
    assert_eq!(code, 0);
    assert!(!plain.contains(ESC), "colour under NO_COLOR");
    // An empty NO_COLOR does not count (no-color.org).
    let (empty, _) = on_terminal(
        &["--no-progress", log],
        To::Terminal,
        To::Null,
        &[("NO_COLOR", "")],
    );
    assert!(empty.contains(&format!("{ESC}[")));
    let piped = common::run(&["--no-progress", log]);
    assert!(piped.status.success());
    assert!(
        !String::from_utf8_lossy(&piped.stdout).contains(ESC),
        "colour on a pipe"
    );
}

#[test]
fn a_progress_bar_on_a_large_input_unless_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    // Over the 64 MiB below which no bar is drawn: one generated log, written 17 times.
    let part = std::fs::read(common::generated(dir.path(), 4_000_000, 9)).unwrap();
    let big = dir.path().join("big.jsonl");
    let mut f = std::io::BufWriter::new(File::create(&big).unwrap());
    while f.get_ref().metadata().unwrap().len() + (f.buffer().len() as u64) < 66 << 20 {
        f.write_all(&part).unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let big = big.to_str().unwrap();
    let (bar, code) = on_terminal(&["--format", "json", big], To::Null, To::Terminal, &[]);
    assert_eq!(code, 0, "{bar}");
    assert!(
        bar.contains("MiB") || bar.contains('%') || bar.contains("B/s"),
        "no progress bar: {bar:?}"
    );
    let (quiet, code) = on_terminal(
        &["--format", "json", "--no-progress", big],
        To::Null,
        To::Terminal,
        &[],
    );
    assert_eq!(code, 0);
    assert!(
        !quiet.contains('\r') && !quiet.contains(ESC),
        "a bar under --no-progress: {quiet:?}"
    );
}

/// `audit-scan … | head -1`: the reader goes away after one line; the run ends with exit 0 and
/// says nothing on stderr (ripgrep's rule for a broken pipe).
#[test]
fn a_closed_pipe_ends_the_run_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let log = common::generated(dir.path(), 3_000_000, 6);
    let mut child = common::bin()
        .args(["--no-progress", "--format", "json", log.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert!(err.is_empty(), "stderr after a closed pipe: {err}");
    // The report is larger than a pipe holds, so the write did meet the closed pipe.
    let whole = common::run(&["--no-progress", "--format", "json", log.to_str().unwrap()]);
    assert!(whole.stdout.len() > 1 << 17, "{} bytes", whole.stdout.len());
}

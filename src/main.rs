//! The `audit-scan` binary: parse arguments, run, print errors, exit.

#![allow(
    clippy::print_stderr,
    reason = "the binary prints the error that ends the run"
)]

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    let cli = parse();
    match audit_scan::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("audit-scan: error: {err:#}");
            ExitCode::from(audit_scan::error::EXIT_ERROR)
        }
    }
}

/// Parses the arguments; run as the kubectl plugin, help and errors say `kubectl audit-scan`
/// (what the user typed) instead of the file name.
#[allow(
    clippy::exit,
    reason = "clap's own exit: help, version and usage errors end the run here"
)]
fn parse() -> audit_scan::cli::Cli {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let mut cmd = audit_scan::cli::Cli::command();
    if audit_scan::cli::is_kubectl_plugin(std::path::Path::new(&argv0)) {
        cmd = cmd.bin_name("kubectl audit-scan");
    }
    let matches = cmd.get_matches();
    audit_scan::cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

//! The `audit-scan` binary: parse arguments, run, print errors, exit.

#![allow(
    clippy::print_stderr,
    reason = "the binary prints the error that ends the run"
)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = audit_scan::cli::Cli::parse();
    match audit_scan::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("audit-scan: error: {err:#}");
            ExitCode::from(audit_scan::error::EXIT_ERROR)
        }
    }
}

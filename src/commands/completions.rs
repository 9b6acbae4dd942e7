//! Shell completions and the man page, generated from the clap definition of the command line
//! (so they never drift from the flags): `audit-scan completions SHELL`, `audit-scan man`.

use std::io::{self, Write};

use anyhow::Result;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::EXIT_OK;

/// The command line as clap sees it, named as invoked (`kubectl audit-scan` as a plugin).
#[must_use]
pub fn command(bin_name: &str) -> clap::Command {
    Cli::command().bin_name(bin_name)
}

/// Writes the completion script for `shell`.
///
/// # Errors
/// Writing fails.
pub fn completions(
    shell: clap_complete::Shell,
    bin_name: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut cmd = command(bin_name);
    // Into memory first: clap_complete panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, bin_name, &mut script);
    out.write_all(&script)
}

/// Writes the man page (roff), `audit-scan(1)`.
///
/// # Errors
/// Writing fails.
pub fn man(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Runs `audit-scan completions SHELL`.
///
/// # Errors
/// Writing fails (a closed pipe is fine).
pub fn run(shell: clap_complete::Shell) -> Result<u8> {
    super::to_stdout(|w| completions(shell, "audit-scan", w))?;
    Ok(EXIT_OK)
}

/// Runs `audit-scan man`.
///
/// # Errors
/// Writing fails (a closed pipe is fine).
pub fn run_man() -> Result<u8> {
    super::to_stdout(man)?;
    Ok(EXIT_OK)
}

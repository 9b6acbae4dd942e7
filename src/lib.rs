//! audit-scan: which Kubernetes client is hurting the API server and etcd, how badly, and what
//! its owner should change — from kube-apiserver audit logs.
//!
//! Data flow: [`source`] (bytes) → [`decode`] (borrowed events) → [`aggregate`] (mergeable
//! tables, folded with rayon in [`pipeline`]) → [`build`] (one [`model`] report) → [`rules`]
//! (findings) → [`render`] (text, JSON, …). [`commands`] run it, one file per subcommand.
#![warn(missing_docs)]

pub mod aggregate;
#[cfg(feature = "cloudwatch")]
pub mod aws;
pub mod build;
pub mod cli;
pub mod commands;
pub mod config_file;
pub mod decode;
pub mod diff;
pub mod error;
pub mod export;
pub mod fuzzing;
pub mod insights;
pub mod model;
pub mod pipeline;
pub mod render;
pub mod rules;
pub mod source;
pub mod synth;
pub mod timefmt;

use anyhow::Result;

use cli::{Cli, Command};

/// Runs the command line; returns the exit code.
///
/// # Errors
/// Errors to print, exit code 2.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Some(Command::Generate(g)) => commands::generate::run(&g),
        Some(Command::Rules { id }) => commands::rules::run(id.as_deref()),
        Some(Command::Diff(d)) => commands::diff::run(&d),
        Some(Command::Queries(q)) => commands::queries::run(&q),
        Some(Command::Completions { shell }) => commands::completions::run(shell),
        Some(Command::Man) => commands::completions::run_man(),
        None => commands::scan::run(&cli.scan),
    }
}

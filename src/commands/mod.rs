//! The subcommands, one file each: resolve the clap arguments into a plan and run it. The top
//! floor: it may use any module, and no module below it imports `cli` or `commands`.

#![allow(
    clippy::print_stderr,
    reason = "the commands are where notes, warnings and summaries reach stderr"
)]

use std::io::{self, BufWriter, Write};

pub mod completions;
pub mod diff;
pub(crate) mod follow;
pub mod generate;
pub(crate) mod plan;
pub mod queries;
pub mod rules;
pub mod scan;
pub(crate) mod scan_insights;

/// Writes to stdout through one buffer; a closed pipe (`audit-scan … | head`) is not an
/// error: the run ends quietly with its exit code, as ripgrep's does.
pub(crate) fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

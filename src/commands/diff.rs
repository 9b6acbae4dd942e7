//! `audit-scan diff BASE CURRENT`: what regressed between two reports, per client.

use anyhow::{Result, bail};

use crate::cli::diff::{DiffArgs, DiffFormat};
use crate::error::{EXIT_FINDINGS, EXIT_OK, fail};
use crate::{aggregate, diff};

/// Runs `audit-scan diff`.
///
/// # Errors
/// Unreadable reports, bad arguments: exit code 2.
pub fn run(args: &DiffArgs) -> Result<u8> {
    let only = aggregate::filter::Patterns::new("--client", &args.client).map_err(fail)?;
    if args.threshold.is_nan() || args.threshold < 0.0 {
        bail!(fail("--threshold must be a percentage of 0 or more"));
    }
    // A rise between --fail-on-regression and a higher --threshold must still be seen.
    let threshold = args
        .fail_on_regression
        .map_or(args.threshold, |p| p.min(args.threshold));
    let d = diff::compare(&args.base, &args.current, threshold, only.as_ref())
        .map_err(|e| fail(format!("{e:#}")))?;
    let text = match args.format {
        DiffFormat::Text => diff::render_text(&d),
        DiffFormat::Json => serde_json::to_string_pretty(&d)? + "\n",
    };
    super::to_stdout(|w| w.write_all(text.as_bytes()))?;
    Ok(match args.fail_on_regression {
        Some(pct) if d.fails(pct) => EXIT_FINDINGS,
        _ => EXIT_OK,
    })
}

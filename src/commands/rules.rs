//! `audit-scan rules [CODE]`: the registry's rules and their documentation.

use anyhow::Result;

use crate::error::{EXIT_OK, fail};
use crate::rules;

/// Runs `audit-scan rules [CODE]`: the rule table, or one rule's documentation.
///
/// # Errors
/// An unknown rule: exit code 2.
pub fn run(id: Option<&str>) -> Result<u8> {
    use std::fmt::Write as _;
    let mut out = String::new();
    match id {
        None => {
            let _ = writeln!(
                out,
                "{:<6} {:<26} {:<68} THRESHOLDS",
                "CODE", "SLUG", "TITLE"
            );
            for r in rules::RULES {
                let th: Vec<String> = r
                    .thresholds()
                    .iter()
                    .map(|t| format!("{}={}", t.name, t.default))
                    .collect();
                let _ = writeln!(
                    out,
                    "{:<6} {:<26} {:<68} {}",
                    r.code(),
                    r.slug(),
                    r.title(),
                    th.join(" ")
                );
            }
        }
        Some(id) => {
            let r = rules::find(id).ok_or_else(|| {
                let codes: Vec<&str> = rules::RULES.iter().map(|r| r.code()).collect();
                fail(format!(
                    "unknown rule '{id}'; the rules are {}",
                    codes.join(", ")
                ))
            })?;
            let _ = writeln!(
                out,
                "{} {}: {}
",
                r.code(),
                r.slug(),
                r.title()
            );
            out.push_str(&rules::documentation(r));
            let _ = writeln!(
                out,
                "

# Thresholds (override in --config under [rules.{}])",
                r.code()
            );
            for t in r.thresholds() {
                let _ = writeln!(out, "- {} = {}: {}", t.name, t.default, t.source);
            }
        }
    }
    super::to_stdout(|w| w.write_all(out.as_bytes()))?;
    Ok(EXIT_OK)
}

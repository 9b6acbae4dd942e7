//! The top of the error chain: a [`Failure`] carries a message for the user, and the exit codes
//! the binary ends with.

/// Exit code: the run worked.
pub const EXIT_OK: u8 = 0;
/// Exit code: a finding at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage, input or I/O error, or under `--strict` any skipped line, unreadable input
/// or warning (wins over 1).
pub const EXIT_ERROR: u8 = 2;

/// A failure with its exit code; its message is printed as `audit-scan: error: …`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// What went wrong, and what to do.
    pub message: String,
}

/// A [`Failure`] as an `anyhow::Error`: a message, or a typed error from below `commands/`.
/// A typed error's `Display` already ends with its cause (its `#[source]`, kept for callers
/// that look), so the failure holds that one line and the cause is not printed twice.
pub(crate) fn fail(message: impl std::fmt::Display) -> anyhow::Error {
    Failure {
        message: message.to_string(),
    }
    .into()
}

//! Source: why a CloudWatch Logs download stopped.

use std::path::PathBuf;

use crate::aws::client::ConnectError;
use crate::aws::retry::RetryError;

/// Why a download stopped, in one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// No client (no region).
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A call failed for good.
    #[error(transparent)]
    Call(#[from] RetryError),
    /// Another task failed first, so this one stopped retrying.
    #[error("stopped: another slice failed")]
    Stopped,
    /// `--save FILE` cannot be created.
    #[error("--save {}: {source}", .path.display())]
    SaveCreate {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Writing or finishing the `--save` file failed.
    #[error("--save: {0}")]
    Save(#[source] std::io::Error),
    /// The zstd encoder of `--save` cannot start.
    #[error("{0}")]
    SaveEncoder(#[source] std::io::Error),
    /// The download's async runtime cannot start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

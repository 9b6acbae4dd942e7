//! Source: one input to read — a file or stdin, with the name messages and the report use.

use std::path::{Path, PathBuf};

/// Where an input's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// A file on disk.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The name shown in messages and the report.
    pub name: String,
    /// What to open.
    pub kind: InputKind,
}

impl Input {
    /// An input for a path.
    #[must_use]
    pub fn file(path: &Path) -> Self {
        Self {
            name: path.display().to_string(),
            kind: InputKind::File(path.to_path_buf()),
        }
    }

    /// Standard input.
    #[must_use]
    pub fn stdin() -> Self {
        Self {
            name: "<stdin>".into(),
            kind: InputKind::Stdin,
        }
    }
}

//! Source: expanding INPUT arguments — files, directories (recursive, sorted, hidden entries
//! skipped), globs and `-` for stdin — into a list of inputs. An input named on the command line
//! that cannot be found is an error; an unreadable entry met while walking a directory is a
//! warning, counted.

use std::path::Path;

use thiserror::Error;

use super::input::Input;
use super::sniff::{NotALog, sniff_file};

/// An input argument that names nothing readable.
#[derive(Debug, Error)]
pub enum InputError {
    /// No such file, and not a glob.
    #[error("{0}: no such file or directory")]
    NotFound(String),
    /// A glob that matched nothing.
    #[error("{0}: the pattern matches no file")]
    NoMatch(String),
    /// A malformed glob.
    #[error("{0}: invalid glob pattern: {1}")]
    BadGlob(String, String),
    /// A path that exists but cannot be read.
    #[error("{0}: {1}")]
    Unreadable(String, std::io::Error),
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// What expanding the INPUT arguments found besides the inputs.
#[derive(Debug, Default)]
pub struct Expansion {
    /// Unreadable directory entries (warnings: fatal under `--strict`).
    pub warnings: Vec<String>,
    /// Files met while walking a directory that are not audit logs by their first bytes
    /// (a file named on the command line is always read).
    pub not_logs: Vec<NotALog>,
}

fn walk_dir(dir: &Path, out: &mut Vec<Input>, found: &mut Expansion) {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => match sniff_file(e.path()) {
                Ok(()) => out.push(Input::file(e.path())),
                Err(reason) => found.not_logs.push(NotALog {
                    name: e.path().display().to_string(),
                    reason: reason.to_string(),
                }),
            },
            Ok(_) => {}
            Err(e) => {
                let path = e
                    .path()
                    .map_or_else(|| dir.display().to_string(), |p| p.display().to_string());
                found.warnings.push(format!(
                    "{path}: skipped: {}",
                    e.io_error()
                        .map_or_else(|| e.to_string(), ToString::to_string)
                ));
            }
        }
    }
}

fn add_path(path: &Path, out: &mut Vec<Input>, found: &mut Expansion) -> Result<(), InputError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| InputError::Unreadable(path.display().to_string(), e))?;
    if meta.is_dir() {
        walk_dir(path, out, found);
    } else {
        out.push(Input::file(path));
    }
    Ok(())
}

/// Expands INPUT arguments. Unreadable directory entries and the files of a directory that are
/// not audit logs go to `found`.
///
/// # Errors
/// An argument that is missing, unreadable, or a glob that matches nothing.
pub fn expand_inputs(args: &[String], found: &mut Expansion) -> Result<Vec<Input>, InputError> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(Input::stdin());
            continue;
        }
        let path = Path::new(arg);
        if path.exists() {
            add_path(path, &mut out, found)?;
        } else if is_glob(arg) {
            let paths =
                glob::glob(arg).map_err(|e| InputError::BadGlob(arg.clone(), e.to_string()))?;
            let before = out.len();
            for p in paths {
                match p {
                    Ok(p) => add_path(&p, &mut out, found)?,
                    Err(e) => found.warnings.push(format!(
                        "{}: skipped: {}",
                        e.path().display(),
                        e.error()
                    )),
                }
            }
            if out.len() == before {
                return Err(InputError::NoMatch(arg.clone()));
            }
        } else if std::fs::symlink_metadata(path).is_ok() {
            return Err(InputError::Unreadable(
                arg.clone(),
                std::io::Error::other("broken symbolic link"),
            ));
        } else {
            return Err(InputError::NotFound(arg.clone()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_globs_and_errors() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("b.log"), "").unwrap();
        std::fs::write(d.path().join("sub/a.log"), "").unwrap();
        std::fs::write(d.path().join(".hidden"), "").unwrap();
        std::fs::write(d.path().join("README.md"), "# logs\n").unwrap();
        let mut w = Expansion::default();
        let got = expand_inputs(&[d.path().display().to_string()], &mut w).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|i| i.name.rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["b.log", "a.log"]);
        assert_eq!(w.not_logs.len(), 1);
        assert!(w.not_logs[0].name.ends_with("README.md"));
        assert_eq!(w.not_logs[0].reason, "not JSON: starts with '#'");
        // Named on the command line, a file is read whatever it holds.
        let named = d.path().join("README.md").display().to_string();
        assert_eq!(expand_inputs(&[named], &mut w).unwrap().len(), 1);
        let pat = format!("{}/*.log", d.path().display());
        assert_eq!(expand_inputs(&[pat], &mut w).unwrap().len(), 1);
        let none = format!("{}/*.zst", d.path().display());
        assert!(matches!(
            expand_inputs(&[none], &mut w),
            Err(InputError::NoMatch(_))
        ));
        assert!(matches!(
            expand_inputs(&["/no/such/file".into()], &mut w),
            Err(InputError::NotFound(_))
        ));
        assert_eq!(
            expand_inputs(&["-".into()], &mut w).unwrap(),
            vec![Input::stdin()]
        );
    }
}

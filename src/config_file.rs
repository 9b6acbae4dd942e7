//! Where the rules config ([`crate::rules::Config`]) comes from: `--config FILE`, else
//! `$AUDIT_SCAN_CONFIG`, else `./audit-scan.toml` (or one in a parent directory up to the
//! repository's root), else the user config directory (`$XDG_CONFIG_HOME/audit-scan/audit-scan.toml`,
//! `~/.config/...`). A nightly job that checks out the repository its config lives in finds it
//! without a flag, as ruff and rustfmt find theirs; the report says which file was read.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use crate::model::report::ConfigOrigin as Origin;
use crate::model::report::{ConfigRow, ExpiredSuppression};
use crate::rules::Config;
use crate::rules::config::ConfigError;

/// The file name looked for in the working directory, its parents and the user config dir.
pub const FILE_NAME: &str = "audit-scan.toml";
/// The environment variable naming a config file.
pub const ENV: &str = "AUDIT_SCAN_CONFIG";

/// A config file and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file.
    pub path: PathBuf,
    /// How.
    pub origin: Origin,
}

/// What the search looks at: given by the caller so tests need no process-wide state.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// `--config`.
    pub flag: Option<PathBuf>,
    /// `$AUDIT_SCAN_CONFIG` (empty counts as unset).
    pub env: Option<OsString>,
    /// The working directory.
    pub cwd: PathBuf,
    /// The user config directory (its `audit-scan/` holds the file).
    pub user_dir: Option<PathBuf>,
}

impl Search {
    /// The process's own: its flag, environment, working directory and user config directory
    /// (XDG on Linux and macOS, `%APPDATA%` on Windows).
    #[must_use]
    pub fn from_process(flag: Option<&Path>) -> Self {
        use etcetera::BaseStrategy as _;
        Self {
            flag: flag.map(Path::to_path_buf),
            env: std::env::var_os(ENV),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            user_dir: etcetera::choose_base_strategy()
                .ok()
                .map(|s| s.config_dir()),
        }
    }

    /// The file to read, in order of precedence; `None` when there is none. A file named by
    /// the flag or the variable is returned whether it exists or not (reading it says why not);
    /// the others only when they exist.
    #[must_use]
    pub fn locate(&self) -> Option<Place> {
        let place = |path: PathBuf, origin| Some(Place { path, origin });
        if let Some(p) = &self.flag {
            return place(p.clone(), Origin::Flag);
        }
        if let Some(p) = self.env.as_ref().filter(|v| !v.is_empty()) {
            return place(PathBuf::from(p), Origin::Env);
        }
        let here = self.cwd.join(FILE_NAME);
        if here.is_file() {
            return place(here, Origin::WorkingDir);
        }
        if let Some(p) = repository_config(&self.cwd) {
            return place(p, Origin::Repository);
        }
        let user = self.user_dir.as_ref()?.join("audit-scan").join(FILE_NAME);
        if user.is_file() {
            return place(user, Origin::UserDir);
        }
        None
    }
}

/// The nearest `audit-scan.toml` in a parent of `cwd` up to the repository's root (the first
/// directory with a `.git`); none outside a repository, so a scan in `/tmp` never picks up a
/// stray file from `/`.
fn repository_config(cwd: &Path) -> Option<PathBuf> {
    let root = cwd.ancestors().find(|d| d.join(".git").exists())?;
    cwd.ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(root))
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// A config file that cannot be used: it names the file, and keeps the cause.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("cannot read the config {} ({}): {source}", .path.display(), .origin.words())]
    Read {
        /// The file.
        path: PathBuf,
        /// How it was named or found.
        origin: Origin,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid config: `FILE:LINE:COLUMN: message`, or `FILE: message` when
    /// the entry has no position.
    #[error("{}{}{source}", .path.display(), .source.line.map_or(": ", |_| ":"))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where in the file.
        #[source]
        source: Box<ConfigError>,
    },
}

/// Reads and checks the config `search` finds (the default config when none).
///
/// # Errors
/// The file cannot be read, or is not a valid config: the message names the file, line and
/// column (`audit-scan.toml:3:1: unknown rule 'AS999' in [rules]`).
pub fn load(search: &Search) -> Result<(Config, Option<Place>), LoadError> {
    let Some(place) = search.locate() else {
        return Ok((Config::default(), None));
    };
    let text = std::fs::read_to_string(&place.path).map_err(|source| LoadError::Read {
        path: place.path.clone(),
        origin: place.origin,
        source,
    })?;
    let config = Config::parse(&text).map_err(|e| LoadError::Invalid {
        path: place.path.clone(),
        source: Box::new(e),
    })?;
    Ok((config, Some(place)))
}

/// The report's `summary.config` for `config` read from `place`, and one warning per
/// suppression past its day on `today` (`YYYY-MM-DD`), naming its rule, client and date.
#[must_use]
pub fn summary(config: &Config, place: &Place, today: &str) -> (ConfigRow, Vec<String>) {
    let path = place.path.display().to_string();
    let expired: Vec<ExpiredSuppression> = config
        .expired(today)
        .into_iter()
        .map(|s| ExpiredSuppression {
            rule: s.rule.clone(),
            client: s.client.clone(),
            resource: s.resource.clone(),
            expires: s.expires.clone().unwrap_or_default(),
            reason: s.reason.clone(),
        })
        .collect();
    let warnings = expired
        .iter()
        .map(|s| {
            format!(
                "the suppression of {} for '{}'{} expired on {} ({}): its findings are reported again; renew or remove it in {path}",
                s.rule,
                s.client,
                s.resource
                    .as_ref()
                    .map_or_else(String::new, |r| format!(" on {r}")),
                s.expires,
                s.reason
            )
        })
        .collect();
    let row = ConfigRow {
        path,
        found_by: place.origin,
        suppressions: config.suppress.len() as u64,
        expired_suppressions: expired,
    };
    (row, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }

    #[test]
    fn precedence_flag_env_working_dir_repository_user_dir() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        let cwd = repo.join("jobs/nightly");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        let user = t.path().join("xdg");
        let mut s = Search {
            flag: None,
            env: None,
            cwd: cwd.clone(),
            user_dir: Some(user.clone()),
        };
        assert_eq!(s.locate(), None, "nothing anywhere");
        touch(&user.join("audit-scan").join(FILE_NAME));
        assert_eq!(s.locate().unwrap().origin, Origin::UserDir);
        touch(&repo.join(FILE_NAME));
        assert_eq!(
            s.locate(),
            Some(Place {
                path: repo.join(FILE_NAME),
                origin: Origin::Repository
            })
        );
        touch(&cwd.join(FILE_NAME));
        assert_eq!(s.locate().unwrap().origin, Origin::WorkingDir);
        s.env = Some(OsString::new());
        assert_eq!(
            s.locate().unwrap().origin,
            Origin::WorkingDir,
            "an empty variable is unset"
        );
        s.env = Some("/elsewhere/a.toml".into());
        assert_eq!(s.locate().unwrap().path, PathBuf::from("/elsewhere/a.toml"));
        s.flag = Some("b.toml".into());
        assert_eq!(
            s.locate(),
            Some(Place {
                path: "b.toml".into(),
                origin: Origin::Flag
            })
        );
    }

    #[test]
    fn no_parent_outside_a_repository() {
        let t = tempfile::tempdir().unwrap();
        let cwd = t.path().join("a/b");
        std::fs::create_dir_all(&cwd).unwrap();
        touch(&t.path().join("a").join(FILE_NAME));
        let s = Search {
            cwd,
            ..Search::default()
        };
        assert_eq!(s.locate(), None);
    }

    #[test]
    fn a_missing_named_file_is_an_error_naming_it_and_how_it_was_named() {
        let s = Search {
            env: Some("/nonexistent/audit-scan.toml".into()),
            ..Search::default()
        };
        let e = load(&s).unwrap_err();
        assert!(matches!(e, LoadError::Read { .. }), "{e}");
        let e = e.to_string();
        assert!(
            e.contains("/nonexistent/audit-scan.toml") && e.contains("$AUDIT_SCAN_CONFIG"),
            "{e}"
        );
    }
}

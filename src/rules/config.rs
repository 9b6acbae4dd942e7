//! Rules: the `--config audit-scan.toml` file — threshold overrides per rule and suppressions
//! (rule × client glob × optional resource, each with a reason and an optional expiry date).
//!
//! ```toml
//! [rules.AS201]
//! writes_per_minute = 20
//!
//! [[suppress]]
//! rule = "AS203"
//! client = "kubelet"
//! reason = "node heartbeats scale with the node count"
//! expires = "2027-01-31"
//! ```

use std::collections::BTreeMap;

use globset::Glob;
use serde::Deserialize;
use toml::Spanned;

use crate::model::finding::Finding;

/// One suppression.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Rule code or slug.
    pub rule: String,
    /// Client glob.
    pub client: String,
    /// Resource, if only one.
    #[serde(default)]
    pub resource: Option<String>,
    /// Why (required: a suppression without a reason is a silent drop).
    pub reason: String,
    /// Last day it applies (`YYYY-MM-DD`), if it ends.
    #[serde(default)]
    pub expires: Option<String>,
}

/// The config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Threshold overrides: rule code → name → value.
    #[serde(default)]
    pub rules: BTreeMap<String, BTreeMap<String, f64>>,
    /// Suppressions.
    #[serde(default)]
    pub suppress: Vec<Suppression>,
    /// The codes of the only rules to run (`--rules`); empty runs every rule.
    #[serde(skip)]
    pub only: Vec<&'static str>,
}

/// A config that cannot be used: what is wrong, and where in the file (1-based line and column),
/// when the parser or the entry knows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", .line.map_or_else(String::new, |(l, c)| format!("{l}:{c}: ")))]
pub struct ConfigError {
    /// Line and column of the bad entry.
    pub line: Option<(usize, usize)>,
    /// What is wrong, and what to write instead.
    pub problem: ConfigProblem,
}

/// What is wrong with a config, quoting the bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    /// Not TOML, or not the config's shape: the parser's message.
    #[error("{0}")]
    Toml(String),
    /// `[rules.X]` names no rule.
    #[error("unknown rule '{0}' in [rules]")]
    UnknownRule(String),
    /// `[rules.X]` sets a threshold the rule does not have.
    #[error("rule {rule} has no threshold '{name}'; it has: {}", .known.join(", "))]
    UnknownThreshold {
        /// The rule as written.
        rule: String,
        /// The threshold as written.
        name: String,
        /// The rule's thresholds.
        known: Vec<&'static str>,
    },
    /// The same rule twice, once by code and once by slug.
    #[error("rule {0} has two [rules] sections (by code and by slug?)")]
    TwoSections(&'static str),
    /// A suppression names no rule.
    #[error("unknown rule '{0}' in a suppression")]
    UnknownSuppressedRule(String),
    /// A suppression's client is not a glob.
    #[error("suppression client '{client}': {source}")]
    BadClient {
        /// The client as written.
        client: String,
        /// Why it is not a glob.
        #[source]
        source: globset::Error,
    },
    /// A suppression with an empty reason.
    #[error("the suppression of {rule} for '{client}' needs a reason")]
    NoReason {
        /// Its rule.
        rule: String,
        /// Its client.
        client: String,
    },
    /// A suppression whose `expires` is not a date (compared as text, it would never expire).
    #[error(
        "the suppression of {rule} for '{client}' expires '{expires}', which is not a date: write it as YYYY-MM-DD (e.g. 2027-01-31)"
    )]
    NotADate {
        /// Its rule.
        rule: String,
        /// Its client.
        client: String,
        /// The value as written.
        expires: String,
    },
}

impl ConfigError {
    fn at(text: &str, span: Option<std::ops::Range<usize>>, problem: ConfigProblem) -> Self {
        Self {
            line: span.map(|s| line_column(text, s.start)),
            problem,
        }
    }
}

/// `--rules` names no rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--rules: no rule '{id}'; the rules are {}", .codes.join(", "))]
pub struct UnknownRule {
    /// The name as given.
    pub id: String,
    /// The codes there are.
    pub codes: Vec<&'static str>,
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where each entry the checks can reject sits in the file: the same document read again with
/// spans, so a message names the line of the entry and not only the file.
#[derive(Deserialize, Default)]
struct Spans {
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, toml::Value>>,
    #[serde(default)]
    suppress: Vec<BTreeMap<String, Spanned<toml::Value>>>,
}

impl Spans {
    fn suppression(&self, i: usize, field: &str) -> Option<std::ops::Range<usize>> {
        self.suppress.get(i)?.get(field).map(Spanned::span)
    }
}

impl Config {
    /// Parses a config, checking that every rule and threshold named exists.
    ///
    /// # Errors
    /// A message naming the bad entry, with its line and column.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut c: Config = toml::from_str(text).map_err(|e| {
            ConfigError::at(text, e.span(), ConfigProblem::Toml(e.message().to_owned()))
        })?;
        // The document parsed once already, so this reading cannot fail on its syntax.
        let spans: Spans = toml::from_str(text).unwrap_or_default();
        // Keyed by code below: the rules look their overrides up by code, so `[rules.as201]` or
        // `[rules.tight-reconcile-loop]` would otherwise be accepted and never read.
        let mut by_code = std::collections::BTreeSet::new();
        for (code, values) in &spans.rules {
            let rule = super::find(code.get_ref()).ok_or_else(|| {
                ConfigError::at(
                    text,
                    Some(code.span()),
                    ConfigProblem::UnknownRule(code.get_ref().clone()),
                )
            })?;
            for name in values.keys() {
                if !rule.thresholds().iter().any(|t| t.name == name.get_ref()) {
                    return Err(ConfigError::at(
                        text,
                        Some(name.span()),
                        ConfigProblem::UnknownThreshold {
                            rule: code.get_ref().clone(),
                            name: name.get_ref().clone(),
                            known: rule.thresholds().iter().map(|t| t.name).collect(),
                        },
                    ));
                }
            }
            if !by_code.insert(rule.code()) {
                return Err(ConfigError::at(
                    text,
                    Some(code.span()),
                    ConfigProblem::TwoSections(rule.code()),
                ));
            }
        }
        c.rules = std::mem::take(&mut c.rules)
            .into_iter()
            .map(|(k, v)| (super::find(&k).map_or(k, |r| r.code().to_owned()), v))
            .collect();
        for (i, s) in c.suppress.iter().enumerate() {
            let err = |field: &str, problem: ConfigProblem| {
                ConfigError::at(text, spans.suppression(i, field), problem)
            };
            if super::find(&s.rule).is_none() {
                return Err(err(
                    "rule",
                    ConfigProblem::UnknownSuppressedRule(s.rule.clone()),
                ));
            }
            if let Err(source) = Glob::new(&s.client) {
                return Err(err(
                    "client",
                    ConfigProblem::BadClient {
                        client: s.client.clone(),
                        source,
                    },
                ));
            }
            if s.reason.trim().is_empty() {
                return Err(err(
                    "reason",
                    ConfigProblem::NoReason {
                        rule: s.rule.clone(),
                        client: s.client.clone(),
                    },
                ));
            }
            if let Some(e) = &s.expires
                && !is_date(e)
            {
                // Compared as text, a non-date (`soon`) would never expire.
                return Err(err(
                    "expires",
                    ConfigProblem::NotADate {
                        rule: s.rule.clone(),
                        client: s.client.clone(),
                        expires: e.clone(),
                    },
                ));
            }
        }
        Ok(c)
    }

    /// The suppressions whose `expires` day is before `today` (`YYYY-MM-DD`): they match
    /// nothing any more, and each is worth a warning so a lapsed waiver is noticed.
    #[must_use]
    pub fn expired(&self, today: &str) -> Vec<&Suppression> {
        self.suppress
            .iter()
            .filter(|s| s.expires.as_deref().is_some_and(|e| e < today))
            .collect()
    }

    /// Runs only the rules named by code or slug (`--rules`); none named runs them all.
    ///
    /// # Errors
    /// A name that is no rule's, with the codes there are.
    pub fn select(&mut self, ids: &[String]) -> Result<(), UnknownRule> {
        for id in ids {
            let rule = super::find(id.trim()).ok_or_else(|| UnknownRule {
                id: id.clone(),
                codes: super::RULES.iter().map(|r| r.code()).collect(),
            })?;
            self.only.push(rule.code());
        }
        Ok(())
    }

    /// Whether the rule with `code` runs.
    #[must_use]
    pub fn runs(&self, code: &str) -> bool {
        self.only.is_empty() || self.only.contains(&code)
    }

    /// The reason `f` is suppressed on `today` (`YYYY-MM-DD`), if it is. A suppression holds
    /// through its `expires` day and lapses the day after (dates are validated, so comparing
    /// them as text is comparing them as dates).
    #[must_use]
    pub fn suppression(&self, f: &Finding, today: &str) -> Option<String> {
        self.suppress.iter().find_map(|s| {
            let rule_ok = s.rule.eq_ignore_ascii_case(f.rule) || s.rule == f.slug;
            let client_ok =
                Glob::new(&s.client).is_ok_and(|g| g.compile_matcher().is_match(&f.client));
            let res_ok = s
                .resource
                .as_ref()
                .is_none_or(|r| f.resource.as_deref() == Some(r.as_str()));
            let live = s.expires.as_deref().is_none_or(|e| e >= today);
            (rule_ok && client_ok && res_ok && live).then(|| {
                s.expires
                    .as_ref()
                    .map_or_else(|| s.reason.clone(), |e| format!("{} (until {e})", s.reason))
            })
        })
    }
}

/// An RFC 3339 full-date, `YYYY-MM-DD`, that exists in the calendar.
fn is_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::{ConfigError, ConfigProblem};
    use crate::model::finding::Evidence;
    use crate::rules::*;

    fn config(expires: &str, resource: Option<&str>) -> Result<Config, ConfigError> {
        let resource = resource.map_or_else(String::new, |r| format!("resource = \"{r}\"\n"));
        Config::parse(&format!(
            "[[suppress]]\nrule = \"AS201\"\nclient = \"loop-*\"\n{resource}reason = \"known\"\nexpires = \"{expires}\"\n"
        ))
    }

    fn finding(client: &str, resource: &str) -> Finding {
        Finding {
            rank: 0,
            rule: "AS201",
            slug: "tight-reconcile-loop",
            severity: crate::model::finding::Severity::High,
            score: 1.0,
            client: client.to_owned(),
            resource: Some(resource.to_owned()),
            object: None,
            headline: String::new(),
            evidence: Evidence::default(),
            remediation: String::new(),
            suppressed: None,
            upgrade_blocker: false,
            temporal: crate::model::finding::Temporal::default(),
            episodes: Vec::new(),
            stopped_at: None,
            floor: crate::model::finding::Severity::Info,
        }
    }

    #[test]
    fn expiry_dates_are_dates() {
        for bad in [
            "soon",
            "2027-1-31",
            "2027-02-30",
            "31/01/2027",
            "2027-01-31T00:00:00Z",
            "",
        ] {
            let err = config(bad, None).unwrap_err().to_string();
            assert!(
                err.contains("not a date") && err.contains("AS201"),
                "{bad}: {err}"
            );
        }
        assert!(config("2028-02-29", None).is_ok(), "a leap day");
    }

    #[test]
    fn a_suppression_holds_through_its_day_and_lapses_the_day_after() {
        let c = config("2027-01-31", None).unwrap();
        let f = finding("loop-operator@a/b", "configmaps");
        assert!(c.suppression(&f, "2027-01-30").is_some());
        assert!(
            c.suppression(&f, "2027-01-31").is_some(),
            "on the day itself"
        );
        assert!(c.suppression(&f, "2027-02-01").is_none(), "the day after");
        assert!(c.suppression(&f, "2028-01-01").is_none());
    }

    #[test]
    fn resource_and_client_scope_a_suppression() {
        let c = config("2099-01-01", Some("configmaps")).unwrap();
        assert!(
            c.suppression(&finding("loop-operator@a/b", "configmaps"), "2027-01-01")
                .is_some()
        );
        assert!(
            c.suppression(&finding("loop-operator@a/b", "secrets"), "2027-01-01")
                .is_none()
        );
        assert!(
            c.suppression(&finding("other@a/b", "configmaps"), "2027-01-01")
                .is_none()
        );
    }

    #[test]
    fn a_suppression_needs_a_reason() {
        let err = Config::parse("[[suppress]]\nrule = \"AS201\"\nclient = \"x\"\nreason = \" \"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs a reason"), "{err}");
    }

    #[test]
    fn an_error_names_the_line_and_column_of_the_bad_entry() {
        // Syntax: the parser's own position.
        let e = Config::parse("[rules.AS201]\nwrites_per_minute = = 3\n").unwrap_err();
        assert_eq!(e.line.map(|l| l.0), Some(2), "{e}");
        // A value of the wrong type.
        let e = Config::parse("\n[rules.AS201]\nwrites_per_minute = \"many\"\n").unwrap_err();
        assert_eq!(e.line, Some((3, 21)), "{e}");
        // Checks after parsing: the entry's own key or value.
        let e = Config::parse("# c\n[rules.AS999]\nx = 1\n").unwrap_err();
        assert_eq!(e.line, Some((2, 8)), "{e}");
        assert!(
            e.to_string().starts_with("2:8: unknown rule 'AS999'"),
            "{e}"
        );
        let e = Config::parse("[rules.AS201]\nwrites_per_minute = 3\nnope = 1\n").unwrap_err();
        assert_eq!(e.line, Some((3, 1)), "{e}");
        let text = "[[suppress]]\nrule = \"AS201\"\nclient = \"x\"\nreason = \"r\"\n\n[[suppress]]\nrule = \"AS201\"\nclient = \"y\"\nreason = \"r\"\nexpires = \"soon\"\n";
        let e = Config::parse(text).unwrap_err();
        assert_eq!(e.line, Some((10, 11)), "{e}");
        let e = Config::parse("[[suppress]]\nrule = \"AS201\"\nclient = \"x\"\n").unwrap_err();
        assert!(
            e.line.is_some()
                && matches!(&e.problem, ConfigProblem::Toml(m) if m.contains("reason")),
            "{e}"
        );
    }

    #[test]
    fn expired_lists_the_suppressions_past_their_day() {
        let c = config("2027-01-31", None).unwrap();
        assert!(c.expired("2027-01-31").is_empty(), "on its day it holds");
        let gone = c.expired("2027-02-01");
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].rule, "AS201");
        let forever =
            Config::parse("[[suppress]]\nrule = \"AS201\"\nclient = \"x\"\nreason = \"r\"\n")
                .unwrap();
        assert!(forever.expired("2999-01-01").is_empty());
    }
}

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

use super::Finding;

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
}

impl Config {
    /// Parses a config, checking that every rule and threshold named exists.
    ///
    /// # Errors
    /// A message naming the bad entry.
    pub fn parse(text: &str) -> Result<Self, String> {
        let c: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        for (code, values) in &c.rules {
            let rule =
                super::find(code).ok_or_else(|| format!("unknown rule '{code}' in [rules]"))?;
            for name in values.keys() {
                if !rule.thresholds().iter().any(|t| t.name == name) {
                    let known: Vec<&str> = rule.thresholds().iter().map(|t| t.name).collect();
                    return Err(format!(
                        "rule {code} has no threshold '{name}'; it has: {}",
                        known.join(", ")
                    ));
                }
            }
        }
        for s in &c.suppress {
            super::find(&s.rule)
                .ok_or_else(|| format!("unknown rule '{}' in a suppression", s.rule))?;
            Glob::new(&s.client).map_err(|e| format!("suppression client '{}': {e}", s.client))?;
            if s.reason.trim().is_empty() {
                return Err(format!(
                    "the suppression of {} for '{}' needs a reason",
                    s.rule, s.client
                ));
            }
        }
        Ok(c)
    }

    /// The reason `f` is suppressed on `today` (`YYYY-MM-DD`), if it is.
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

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
            if let Some(e) = &s.expires
                && !is_date(e)
            {
                // Compared as text, a non-date (`soon`) would never expire.
                return Err(format!(
                    "the suppression of {} for '{}' expires '{e}', which is not a date: write it as YYYY-MM-DD (e.g. 2027-01-31)",
                    s.rule, s.client
                ));
            }
        }
        Ok(c)
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
    use crate::model::finding::Evidence;
    use crate::rules::*;

    fn config(expires: &str, resource: Option<&str>) -> Result<Config, String> {
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
            let err = config(bad, None).unwrap_err();
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
            .unwrap_err();
        assert!(err.contains("needs a reason"), "{err}");
    }
}

//! Insights: `--use-field-indexes`. A `filterIndex` query reads indexed data only: on a log group
//! whose index policy lacks the field, or for events ingested before the policy, it finds
//! nothing and says nothing (CWL_QuerySyntax-FilterIndex; "Create field indexes to improve
//! query performance and reduce scan volume": indexes do not backfill). So before any such
//! query runs, the log group's index policy (DescribeIndexPolicies) must name every field the
//! queries index on and be older than the window: else the run stops with one line saying what
//! to put, rather than report empty tables.

use std::collections::BTreeSet;

use super::lang::{Command, parse};

/// The fields the queries' `filterIndex` commands read (none for a query without one).
#[must_use]
pub fn fields<'a>(queries: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    queries
        .into_iter()
        .filter_map(|q| parse(q).ok())
        .flatten()
        .filter_map(|c| match c {
            Command::FilterIndex(f) => Some(f.field),
            _ => None,
        })
        .collect()
}

/// A log group's field index policy, as DescribeIndexPolicies returns it.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `policyDocument`: `{"Fields": ["verb", …]}`.
    pub document: String,
    /// `lastUpdateTime`, epoch ms: events ingested before it are not indexed on its fields.
    pub last_update_ms: Option<i64>,
}

/// The command that indexes `fields` on `group`.
fn put_command(group: &str, fields: &BTreeSet<String>) -> String {
    let list: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    format!(
        "aws logs put-index-policy --log-group-identifier {group} --policy-document '{{\"Fields\": [{}]}}'",
        list.join(", ")
    )
}

/// Checks that `policy` indexes every one of `fields` for events from `start_ms` on.
///
/// # Errors
/// One line: the fields missing (and the command that adds them), or the window starting
/// before the policy.
pub fn check(
    group: &str,
    policy: Option<&Policy>,
    fields: &BTreeSet<String>,
    start_ms: i64,
) -> Result<(), String> {
    if fields.is_empty() {
        return Ok(());
    }
    let indexed: BTreeSet<String> = policy
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.document).ok())
        .and_then(|d| {
            d["Fields"].as_array().map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    let missing: Vec<&str> = fields
        .iter()
        .filter(|f| !indexed.contains(*f))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let all: BTreeSet<String> = indexed.union(fields).cloned().collect();
        return Err(format!(
            "--use-field-indexes: log group '{group}' has no field index on {}: filterIndex would find nothing there; index it ({}) and query events ingested after that, or drop --use-field-indexes",
            missing.join(", "),
            put_command(group, &all)
        ));
    }
    match policy.and_then(|p| p.last_update_ms) {
        Some(t) if t > start_ms => Err(format!(
            "--use-field-indexes: the field index policy of '{group}' dates from {} and indexes do not cover events ingested before it, but the window starts at {}: pass a later --since or drop --use-field-indexes",
            crate::timefmt::format_rfc3339(t * 1000),
            crate::timefmt::format_rfc3339(start_ms * 1000)
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(fields: &str, at: i64) -> Policy {
        Policy {
            document: format!(r#"{{"Fields": [{fields}]}}"#),
            last_update_ms: Some(at),
        }
    }

    #[test]
    fn the_fields_of_the_queries() {
        let got = fields([
            "filterIndex verb = \"list\" | stats count(*)",
            "filter verb = \"get\" | filterIndex stage in [\"Panic\"]",
            "stats count(*) by verb",
        ]);
        assert_eq!(got, BTreeSet::from(["stage".into(), "verb".into()]));
    }

    #[test]
    fn a_missing_field_or_a_window_before_the_policy_stops_the_run() {
        let verb = BTreeSet::from(["verb".to_owned()]);
        let g = "/aws/eks/c/cluster";
        assert!(check(g, None, &BTreeSet::new(), 0).is_ok());
        let none = check(g, None, &verb, 0).unwrap_err();
        assert!(none.contains("no field index on verb"), "{none}");
        assert!(
            none.contains(r#"--policy-document '{"Fields": ["verb"]}'"#),
            "{none}"
        );
        // The command keeps the fields already indexed.
        let other = check(g, Some(&policy(r#""userAgent""#, 0)), &verb, 10).unwrap_err();
        assert!(other.contains(r#"["userAgent", "verb"]"#), "{other}");
        assert!(check(g, Some(&policy(r#""stage", "verb""#, 1_000)), &verb, 1_000).is_ok());
        let late = check(g, Some(&policy(r#""verb""#, 2_000)), &verb, 1_000).unwrap_err();
        assert!(
            late.contains("1970-01-01T00:00:02") && late.contains("later --since"),
            "{late}"
        );
    }
}

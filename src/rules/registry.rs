//! Rules: the registry — the one list of rules, sorted by code. `audit-scan rules`, the config
//! file and the docs all read it.

use crate::rules::Rule;

/// Every rule, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &super::expensive_list::ExpensiveList,
    &super::watch_relist_storm::WatchRelistStorm,
    &super::reconcile_loop::ReconcileLoop,
    &super::noop_updates::NoopUpdates,
    &super::write_heavy_client::WriteHeavyClient,
    &super::conflict_storm::ConflictStorm,
    &super::fighting_writers::FightingWriters,
    &super::throttled_client::ThrottledClient,
    &super::client_side_throttling::ClientSideThrottling,
    &super::missing_object_loop::MissingObjectLoop,
    &super::deprecated_api::DeprecatedApi,
    &super::slow_requests::SlowRequests,
    &super::slow_webhook::SlowWebhook,
    &super::top_consumer::TopConsumer,
];

/// The rule with this code or slug (case-insensitive code).
#[must_use]
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code().eq_ignore_ascii_case(id) || r.slug() == id)
}

#[cfg(test)]
mod tests {
    use crate::rules::*;

    /// Completeness: unique codes in order, slugs, documented sections, thresholds with sources.
    #[test]
    fn every_rule_is_complete() {
        let mut last = "";
        for r in RULES {
            assert!(r.code() > last, "{} sorted and unique", r.code());
            last = r.code();
            assert!(r.code().len() == 5 && r.code().starts_with("AS"));
            assert!(r.slug().chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            let doc = super::super::documentation(*r);
            for section in [
                "# What it does",
                "# Why is this bad?",
                "# Example",
                "# Remediation",
                "# References",
            ] {
                assert!(doc.contains(section), "{} lacks {section}", r.code());
            }
            assert!(r.thresholds().iter().all(|t| !t.source.is_empty()));
            assert_eq!(find(r.slug()).map(Rule::code), Some(r.code()));
        }
    }
}

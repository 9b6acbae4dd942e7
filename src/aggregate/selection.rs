//! Aggregate: what only a filtered scan keeps about its selection beyond the per-client tables —
//! the selection's own timeline (unfiltered, the cluster's minutes are the timeline) and which
//! filter patterns matched any request in the window, so a typo is a warning, not an empty
//! report that passes.

use rustc_hash::FxHashMap;

use super::filter::{FilterView, Filters};
use super::tables::{MinuteTotals, merge_map};

/// The selection's extra tables.
#[derive(Debug, Clone, Default)]
pub struct SelectionAcc {
    /// Selected requests per epoch minute (filled only when a filter is set).
    pub minutes: FxHashMap<i64, MinuteTotals>,
    /// Per pattern (in [`Filters::describe`] order): whether it matched its field of any request.
    pub seen: Vec<bool>,
    /// Every pattern has matched: nothing left to look for.
    all_seen: bool,
    buf: Vec<usize>,
}

impl SelectionAcc {
    /// Notes which patterns match `view` until each has matched once (then it costs nothing).
    pub fn note_patterns(&mut self, filters: &Filters, view: &FilterView) {
        if self.all_seen {
            return;
        }
        if self.seen.is_empty() {
            self.seen = vec![false; filters.pattern_count()];
        }
        filters.mark_seen(view, &mut self.seen, &mut self.buf);
        self.all_seen = self.seen.iter().all(|s| *s);
    }

    /// The patterns that matched no request, as `--flag 'pattern'`. Before any request was
    /// seen, that is every pattern.
    #[must_use]
    pub fn unmatched(&self, filters: &Filters) -> Vec<String> {
        filters
            .describe_each()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !self.seen.get(*i).copied().unwrap_or(false))
            .map(|(_, d)| d)
            .collect()
    }

    /// Merges another worker's in.
    pub fn merge(&mut self, o: &Self) {
        merge_map(&mut self.minutes, &o.minutes, &[], |t| *t);
        if self.seen.len() < o.seen.len() {
            self.seen.resize(o.seen.len(), false);
        }
        for (a, b) in self.seen.iter_mut().zip(&o.seen) {
            *a |= b;
        }
        self.all_seen = !self.seen.is_empty() && self.seen.iter().all(|s| *s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::filter::Patterns;

    fn view<'a>(client: &'a str, product: &'a str, verb: &'a str) -> FilterView<'a> {
        FilterView {
            username: "u",
            user_agent: "",
            client,
            product,
            namespace: "",
            resource: "pods",
            subresource: "",
            api_group: "",
            verb,
            code: 200,
        }
    }

    #[test]
    fn a_pattern_that_never_matches_is_reported() {
        let filters = Filters {
            client: Patterns::new("--client", &["karpenter".into(), "karpentr".into()]).unwrap(),
            verb: Patterns::new("--verb", &["delete".into()]).unwrap(),
            ..Filters::default()
        };
        let mut a = SelectionAcc::default();
        assert_eq!(a.unmatched(&filters).len(), 3, "before any request");
        // The product matches although the name does not; the verb matches on another request.
        a.note_patterns(
            &filters,
            &view("karpenter@kube-system/karpenter", "karpenter", "get"),
        );
        let mut b = SelectionAcc::default();
        b.note_patterns(&filters, &view("kubectl", "kubectl", "delete"));
        a.merge(&b);
        assert_eq!(a.unmatched(&filters), ["--client 'karpentr'"]);
    }
}

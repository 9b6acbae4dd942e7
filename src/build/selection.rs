//! Report: the `summary.selection` section of a filtered scan — which filters made the
//! selection, what share of the cluster it is, and the warnings for filters that selected
//! nothing (with the client names they probably meant).

use crate::aggregate::Aggregates;
use crate::aggregate::filter::Filters;
use crate::decode::client::nearest;
use crate::model::report::{ResourceWrites, Selection};

/// Client names suggested for a filter that matched nothing.
const SUGGESTIONS: usize = 3;

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

/// The selection against the cluster; `None` when no filter was given.
#[must_use]
pub fn selection(a: &Aggregates, filters: &Filters) -> Option<Selection> {
    if filters.is_empty() {
        return None;
    }
    let cl = &a.cluster;
    let writes: u64 = a.writes.values().map(|w| w.count).sum();
    let seat_us: u64 = a.clients.values().map(|c| c.seat_us).sum();
    let cluster_seat_us = cl.seat_total();
    let mut by_resource: Vec<ResourceWrites> = cl
        .writes
        .iter()
        .map(|((r, sub), n)| ResourceWrites {
            resource: a.strings.name(*r).to_owned(),
            subresource: a.strings.name(*sub).to_owned(),
            count: *n,
        })
        .collect();
    by_resource.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| (&x.resource, &x.subresource).cmp(&(&y.resource, &y.subresource)))
    });
    let seconds = |us: u64| (us as f64 / 1e4).round() / 100.0;
    Some(Selection {
        filters: filters
            .describe_each()
            .into_iter()
            .chain(
                filters
                    .code
                    .iter()
                    .flat_map(|c| c.raw().iter().map(|r| format!("--code '{r}'"))),
            )
            .collect(),
        unmatched: a.selection.unmatched(filters),
        requests: a.summary.requests,
        cluster_requests: cl.requests,
        share_of_requests: share(a.summary.requests, cl.requests),
        writes,
        cluster_writes: cl.write_total(),
        share_of_writes: share(writes, cl.write_total()),
        seat_seconds: seconds(seat_us),
        cluster_seat_seconds: seconds(cluster_seat_us),
        share_of_seat_seconds: share(seat_us, cluster_seat_us),
        clients: a.clients.len() as u64,
        cluster_clients: cl.clients.len() as u64,
        cluster_writes_by_resource: by_resource,
    })
}

/// Warnings for patterns that matched no request and for an empty selection, naming the
/// nearest clients of the cluster for a `--client` pattern.
#[must_use]
pub fn warnings(a: &Aggregates, sel: &Selection) -> Vec<String> {
    let names = || a.cluster.clients.keys().map(|id| a.strings.name(*id));
    let hint = |pattern: &str| {
        let near = nearest(pattern, names(), SUGGESTIONS);
        if near.is_empty() {
            String::new()
        } else {
            format!("; nearest clients: {}", near.join(", "))
        }
    };
    let mut w: Vec<String> = sel
        .unmatched
        .iter()
        .map(|u| {
            let suggestion = u
                .strip_prefix("--client '")
                .and_then(|p| p.strip_suffix('\''))
                .map(hint)
                .unwrap_or_default();
            format!("{u} matched no request in the window{suggestion}")
        })
        .collect();
    if sel.requests == 0 && sel.cluster_requests > 0 {
        w.push(format!(
            "the filters ({}) selected none of the {} requests in the window: the report has no client to audit",
            sel.filters.join(" "),
            sel.cluster_requests
        ));
    }
    w
}

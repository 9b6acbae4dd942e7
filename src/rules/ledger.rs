//! Rules: the cost ledger — every client's APF seat-seconds per hour in one place, from its
//! reads (GETs and other short calls), LISTs (width by scope), persisting writes (plus their
//! etcd weight) and watches (the seat a watch holds while it starts), with its share of the
//! cluster and its dominant verb × resource. The report's `clients[]` carry it; AS503 reads it
//! so the biggest consumer is never silent.

use std::collections::BTreeMap;

use crate::model::cost;
use crate::model::report::Report;

/// Seat-seconds charged per watch: the seat it holds while its initial events are sent.
pub const WATCH_INIT_SECONDS: f64 = 0.05;

/// One client's line of the ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    /// Seat-seconds per hour of the report span.
    pub seat_seconds_per_hour: f64,
    /// Share of the cluster's seat-seconds.
    pub share: f64,
    /// The verb × resource that costs it most (`list pods`).
    pub dominant: Option<String>,
    /// That part's share of the client's cost.
    pub dominant_share: f64,
}

/// The ledger of every client of `r`, by client name.
#[must_use]
pub fn ledger(r: &Report) -> BTreeMap<String, Line> {
    let span = r.summary.span_seconds;
    let mean_ms: BTreeMap<&str, f64> = r
        .clients
        .iter()
        .map(|c| (c.client.as_str(), c.latency_ms.map_or(10.0, |l| l.mean)))
        .collect();
    let mean = |c: &str| mean_ms.get(c).copied().unwrap_or(10.0);
    // client → (verb resource) → seat-seconds over the span.
    let mut parts: BTreeMap<&str, BTreeMap<String, f64>> = BTreeMap::new();
    for l in &r.lists {
        let seats = if l.cluster_scope >= l.namespaced {
            cost::CLUSTER_LIST_SEATS
        } else {
            1.0
        };
        let ms = l.latency_ms.map_or(50.0, |x| x.mean);
        *parts
            .entry(l.client.as_str())
            .or_default()
            .entry(format!("list {}", l.resource))
            .or_default() += l.count as f64 * ms / 1000.0 * seats;
    }
    for c in r
        .calls
        .iter()
        .filter(|c| !matches!(c.verb.as_str(), "list" | "watch"))
    {
        *parts
            .entry(c.client.as_str())
            .or_default()
            .entry(format!("{} {}", c.verb, c.resource))
            .or_default() += c.count as f64 * mean(&c.client) / 1000.0;
    }
    for w in &r.writes {
        *parts
            .entry(w.client.as_str())
            .or_default()
            .entry(format!("{} {}", w.verb, w.target()))
            .or_default() += w.count as f64 * cost::WRITE_ETCD_SECONDS;
    }
    for w in &r.watches {
        *parts
            .entry(w.client.as_str())
            .or_default()
            .entry(format!("watch {}", w.resource))
            .or_default() += w.count as f64 * WATCH_INIT_SECONDS;
    }
    // Shares are of the cluster. A filtered scan has only the selection's rows, so the
    // cluster's total is estimated from the selection's share of the cluster's APF seat time
    // (both counted in one pass); unfiltered, the rows are the cluster.
    let mut total: f64 = parts.values().flat_map(|p| p.values()).sum();
    if let Some(sel) = &r.summary.selection
        && sel.share_of_seat_seconds > 0.0
    {
        total /= sel.share_of_seat_seconds.min(1.0);
    }
    parts
        .into_iter()
        .map(|(client, p)| {
            let sum: f64 = p.values().sum();
            let top = p
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)));
            let line = Line {
                seat_seconds_per_hour: round(sum * cost::per_hour(span), 100.0),
                share: if total > 0.0 {
                    round(sum / total, 1000.0)
                } else {
                    0.0
                },
                dominant: top.map(|(k, _)| k.clone()),
                dominant_share: top.map_or(0.0, |(_, v)| {
                    if sum > 0.0 {
                        round(v / sum, 1000.0)
                    } else {
                        0.0
                    }
                }),
            };
            (client.to_owned(), line)
        })
        .collect()
}

fn round(v: f64, by: f64) -> f64 {
    (v * by).round() / by
}

/// Writes the ledger into `r.clients` (`seat_seconds_per_hour`, `cost_share`, `apf_seats`,
/// `dominant_cost`): both report builders call it.
pub fn fill(r: &mut Report) {
    let l = ledger(r);
    for c in &mut r.clients {
        if let Some(line) = l.get(&c.client) {
            c.seat_seconds_per_hour = line.seat_seconds_per_hour;
            c.cost_share = line.share;
            c.apf_seats = round(line.seat_seconds_per_hour / 3600.0, 1000.0);
            c.dominant_cost.clone_from(&line.dominant);
        }
    }
}

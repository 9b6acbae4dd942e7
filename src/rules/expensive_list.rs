//! AS101 `expensive-list`: LISTs that read from etcd, span the cluster without paging, or are
//! slow.

use crate::model::cost;
use crate::model::finding::{Evidence, Finding};
use crate::rules::{Report, Rule, Threshold, Thresholds};

/// # What it does
/// Flags a userAgent × resource whose LISTs are frequent and (a) served from etcd (no
/// resourceVersion before 1.31, `limit` with a resourceVersion other than 0, `continue`,
/// `Exact`), or (b) cluster-scoped without `limit`, or that are (c) slow: P99 above
/// `slow_namespaced_p99_s` or `slow_cluster_p99_s` (the upstream LIST SLOs). Where a LIST
/// carries the `apiserver.latency.k8s.io/etcd` annotation and spent most of its time in etcd,
/// it counts as served from etcd whatever the version-based inference says; the evidence's
/// `serving_verdict_source` names the source used.
///
/// # Why is this bad?
/// A LIST from etcd reads every object of the resource from disk, decodes and serializes them:
/// its APF width grows with the object count (up to 10 seats), and its memory spikes the
/// apiserver. Frequent ones are the classic cause of apiserver OOMs and etcd latency.
///
/// # Example
/// `kube-state-metrics/v2.10.1`, `pods`, cluster scope: 1,100 LISTs an hour, half from etcd,
/// P99 1.6 s.
///
/// # Remediation
/// Use an informer (LIST once, then WATCH) instead of polling; when you must LIST, pass
/// `resourceVersion=0` (or `resourceVersionMatch=NotOlderThan`) to read from the watch cache,
/// narrow with label/field selectors, and page with `limit`. From Kubernetes 1.31, consistent
/// LISTs without `limit` are served from the cache.
///
/// # References
/// Kubernetes API concepts, "Resource versions" and "Retrieving large results sets in chunks";
/// KEP-2340 consistent reads from cache; KEP-1040 APF (LIST work estimation); sig-scalability
/// SLOs (LIST P99 ≤ 5 s namespace, ≤ 30 s cluster).
pub struct ExpensiveList;

const T: &[Threshold] = &[
    Threshold {
        name: "etcd_lists_per_hour",
        default: 60.0,
        source: "LISTs from etcd per hour by one userAgent and resource",
    },
    Threshold {
        name: "unpaginated_cluster_lists_per_hour",
        default: 60.0,
        source: "cluster-scoped LISTs without limit per hour",
    },
    Threshold {
        name: "slow_namespaced_p99_s",
        default: 5.0,
        source: "upstream SLO: namespace-scoped LIST P99 ≤ 5 s",
    },
    Threshold {
        name: "slow_cluster_p99_s",
        default: 30.0,
        source: "upstream SLO: cluster-scoped LIST P99 ≤ 30 s",
    },
    Threshold {
        name: "min_lists",
        default: 10.0,
        source: "LISTs seen before judging",
    },
];

/// Which source the etcd-or-cache verdict rests on: the LISTs' own etcd annotations where
/// they prove etcd, else the resourceVersion semantics and the server version.
fn serving_source(l: &crate::model::report::ListRow) -> &'static str {
    match (l.etcd_by_annotation, l.served_from_etcd) {
        (0, _) => "inferred from resourceVersion and server version",
        (a, e) if a >= e => "apiserver.latency.k8s.io/etcd annotations",
        _ => "apiserver.latency.k8s.io/etcd annotations and inference",
    }
}

impl Rule for ExpensiveList {
    fn code(&self) -> &'static str {
        "AS101"
    }
    fn slug(&self) -> &'static str {
        "expensive-list"
    }
    fn title(&self) -> &'static str {
        "Frequent LISTs from etcd, unpaginated across the cluster, or slow"
    }
    fn doc(&self) -> &'static str {
        include_str!("expensive_list.rs")
    }
    fn thresholds(&self) -> &'static [Threshold] {
        T
    }

    fn check(&self, r: &Report, t: &Thresholds, out: &mut Vec<Finding>) {
        let from_cache = r.summary.consistent_list_from_cache;
        for l in &r.lists {
            if (l.count as f64) < t.get("min_lists") {
                continue;
            }
            let hours =
                super::window::judged_hours(r, &l.client, l.first.as_deref(), l.last.as_deref());
            let cluster = l.cluster_scope >= l.namespaced;
            // Unpaginated cluster-wide LISTs that reach etcd (a cache read ignores limit anyway).
            let unpaged_cluster = l
                .cluster_scope
                .saturating_sub(l.cluster_paginated)
                .min(l.served_from_etcd);
            let p99_s = l.latency_ms.map_or(0.0, |x| x.p99 / 1000.0);
            let mut why = Vec::new();
            if l.served_from_etcd as f64 / hours >= t.get("etcd_lists_per_hour") {
                why.push(format!(
                    "{:.0}/h from etcd",
                    l.served_from_etcd as f64 / hours
                ));
            }
            if unpaged_cluster as f64 / hours >= t.get("unpaginated_cluster_lists_per_hour") {
                why.push(format!(
                    "{:.0}/h cluster-wide without limit",
                    unpaged_cluster as f64 / hours
                ));
            }
            let slo = if cluster {
                t.get("slow_cluster_p99_s")
            } else {
                t.get("slow_namespaced_p99_s")
            };
            if p99_s > slo {
                why.push(format!("P99 {p99_s:.1} s > {slo} s"));
            }
            if why.is_empty() {
                continue;
            }
            let mean = l.latency_ms.map_or(50.0, |x| x.mean);
            let seats = if cluster {
                cost::CLUSTER_LIST_SEATS
            } else {
                1.0
            };
            let mut ev = Evidence {
                metric: "lists_per_hour".into(),
                value: super::r1(l.per_hour),
                threshold: t.get("etcd_lists_per_hour"),
                first: l.first.clone(),
                last: l.last.clone(),
                sample_audit_ids: l.sample_audit_ids.clone(),
                ..Evidence::default()
            };
            ev.details
                .insert("user_agent".into(), l.user_agent.clone().into());
            ev.details.insert("lists".into(), l.count.into());
            ev.details
                .insert("served_from_etcd".into(), l.served_from_etcd.into());
            ev.details
                .insert("cluster_scope".into(), l.cluster_scope.into());
            ev.details.insert("paginated".into(), l.paginated.into());
            ev.details
                .insert("p99_ms".into(), l.latency_ms.map(|x| x.p99).into());
            ev.details.insert(
                "server_serves_consistent_lists_from_cache".into(),
                from_cache.into(),
            );
            ev.details
                .insert("etcd_annotated".into(), l.etcd_annotated.into());
            ev.details.insert(
                "served_from_etcd_by_annotation".into(),
                l.etcd_by_annotation.into(),
            );
            ev.details
                .insert("serving_verdict_source".into(), serving_source(l).into());
            let version_note = match from_cache {
                _ if l.etcd_by_annotation > 0 => {
                    " The apiserver.latency.k8s.io/etcd annotations show these LISTs spent most of their time in etcd: they were served by etcd, whatever the version suggests."
                }
                Some(true) => {
                    " This cluster (1.31+) already serves consistent LISTs without limit from the watch cache; the etcd reads here come from limit/continue/Exact."
                }
                Some(false) => {
                    " On this cluster's version, a LIST without resourceVersion reads etcd; 1.31+ serves it from the cache."
                }
                None => "",
            };
            out.push(
                crate::rules::finding(
                    self,
                    &l.client,
                    cost::reads(l.count, mean, seats, r.summary.span_seconds),
                    format!("{} LISTs {} {:.0} times an hour: {}", l.client, l.resource, l.per_hour, why.join(", ")),
                    ev,
                    format!("Use an informer (LIST once, then WATCH) instead of polling; when you must LIST, pass resourceVersion=0 to read the watch cache, narrow with label/field selectors, and page with limit.{version_note}"),
                )
                .resource(&l.resource),
            );
        }
    }
}

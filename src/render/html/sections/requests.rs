//! HTML sections: the requests that load the API server — lists and writes.

use std::collections::BTreeMap;

use super::{Cell, ms, n, t, table};
use crate::model::report::Report;
use crate::model::rows::LatencyRow;
use crate::render::format::{fnum, num};
use crate::render::html::HtmlOptions;
use crate::render::html::charts::{HBar, hbar_chart, latency_chart, legend};

fn list_name(l: &crate::model::report::ListRow) -> String {
    let who = if l.user_agent.is_empty() {
        format!("({})", l.client)
    } else {
        l.user_agent.clone()
    };
    format!("{who} · {}", l.resource)
}

pub(in crate::render::html) fn lists(out: &mut String, r: &Report, o: &HtmlOptions) {
    out.push_str(r#"<h2 id="lists">LISTs per userAgent</h2>"#);
    let rows: Vec<(String, &LatencyRow)> = r
        .lists
        .iter()
        .take(o.top)
        .filter_map(|l| Some((list_name(l), l.latency_ms.as_ref()?)))
        .collect();
    if !rows.is_empty() {
        legend(
            out,
            &[
                ("#2f6fb3", "p50"),
                ("#8fb8e0", "p90"),
                ("#d6e4f0", "p99"),
                ("#c8382b", "max"),
            ],
        );
        latency_chart(out, &rows);
    }
    let rows: Vec<Vec<Cell>> = r
        .lists
        .iter()
        .take(o.top)
        .map(|l| {
            let lat = l.latency_ms.as_ref();
            vec![
                t(if l.user_agent.is_empty() {
                    format!("({})", l.client)
                } else {
                    l.user_agent.clone()
                }),
                t(l.resource.clone()),
                n(num(l.count)),
                n(fnum(l.per_hour)),
                n(ms(lat, |x| x.p50)),
                n(ms(lat, |x| x.p90)),
                n(ms(lat, |x| x.p99)),
                n(ms(lat, |x| x.max)),
                n(num(l.cluster_scope)),
                n(num(l.served_from_etcd)),
                n(num(l.paginated)),
            ]
        })
        .collect();
    table(
        out,
        "lists-table",
        &[
            "userAgent",
            "Resource",
            "LISTs",
            "/hour",
            "P50 ms",
            "P90 ms",
            "P99 ms",
            "Max ms",
            "Cluster",
            "From etcd",
            "Paginated",
        ],
        &rows,
        r.lists.len(),
    );
}

pub(in crate::render::html) fn writes(out: &mut String, r: &Report, o: &HtmlOptions) {
    out.push_str(r#"<h2 id="writes">Write load per client</h2>"#);
    let mut by_client: BTreeMap<&str, ([f64; 5], u64)> = BTreeMap::new();
    for w in &r.writes {
        let slot = match w.verb.as_str() {
            "create" => 0,
            "update" => 1,
            "patch" => 2,
            "delete" | "deletecollection" => 3,
            _ => 4,
        };
        let e = by_client.entry(&w.client).or_default();
        e.0[slot] += w.per_second;
        e.1 += w.count;
    }
    let mut per_client: Vec<(&str, [f64; 5], u64)> =
        by_client.into_iter().map(|(c, (v, n))| (c, v, n)).collect();
    per_client.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    let rows: Vec<HBar<'_>> = per_client
        .iter()
        .take(o.top)
        .map(|(c, v, total)| {
            let parts = ["create", "update", "patch", "delete", "other"]
                .into_iter()
                .zip(v.iter().copied())
                .collect();
            (
                (*c).to_owned(),
                parts,
                format!("{}/s ({} writes)", fnum(v.iter().sum()), num(*total)),
            )
        })
        .collect();
    if !rows.is_empty() {
        legend(
            out,
            &[
                ("#2f855a", "create"),
                ("#2f6fb3", "update"),
                ("#8fb8e0", "patch"),
                ("#c8382b", "delete"),
                ("#9aa5b1", "other"),
            ],
        );
        hbar_chart(out, &rows, "writes/s");
    }
    let rows: Vec<Vec<Cell>> = r
        .writes
        .iter()
        .take(o.top)
        .map(|w| {
            vec![
                t(w.client.clone()),
                t(w.target()),
                t(w.verb.clone()),
                n(num(w.count)),
                n(fnum(w.per_second)),
                n(num(w.noop)),
            ]
        })
        .collect();
    table(
        out,
        "writes-table",
        &["Client", "Resource", "Verb", "Writes", "Per s", "No-op"],
        &rows,
        r.writes.len(),
    );
    out.push_str("<h3>Most-written objects</h3>");
    let rows: Vec<Vec<Cell>> = r
        .objects
        .iter()
        .take(o.top)
        .map(|x| {
            let writers: Vec<String> = x
                .writers
                .iter()
                .take(3)
                .map(|w| format!("{} ({})", w.name, w.count))
                .collect();
            vec![
                t(format!("{}/{}/{}", x.resource, x.namespace, x.name)),
                n(num(x.writes)),
                n(num(x.status_writes)),
                n(num(x.peak_writes)),
                n(num(x.conflicts)),
                t(writers.join(", ")),
            ]
        })
        .collect();
    table(
        out,
        "objects-table",
        &["Object", "Writes", "Status", "Peak/min", "409s", "Writers"],
        &rows,
        r.objects.len(),
    );
}

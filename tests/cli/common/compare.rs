//! Comparing an insights report with the native report of the same events: every counted
//! table equal, LIST percentiles within 6% (4.9% histogram bin plus 1% sketch), max and mean within 1%.

use std::collections::BTreeMap;

use serde_json::Value;

pub fn table<K: Ord>(
    r: &Value,
    section: &str,
    key: impl Fn(&Value) -> K,
    val: &str,
) -> BTreeMap<K, u64> {
    let mut m = BTreeMap::new();
    for row in r[section].as_array().unwrap() {
        let v = row[val].as_u64().unwrap();
        if v > 0 {
            *m.entry(key(row)).or_default() += v;
        }
    }
    m
}

pub fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

/// Compares every counted table; with `rich`, each must hold rows (no vacuous equality).
pub fn reports(ins: &Value, nat: &Value, n: &str, rich: bool) -> usize {
    if rich {
        for t in [
            "clients", "lists", "writes", "errors", "timeline", "objects",
        ] {
            assert!(!ins[t].as_array().unwrap().is_empty(), "{t} is empty");
        }
        assert!(ins["summary"]["requests"].as_u64().unwrap() > 1000);
    }
    let facts = &ins["summary"]["insights"];
    assert_eq!(ins["summary"]["engine"], "insights");
    assert_eq!(facts["cut"], 0, "{n}: a sub-window stayed capped");
    assert!(
        nat["summary"].get("engine").is_none(),
        "native reports carry no engine"
    );
    assert_eq!(
        ins["summary"]["requests"], nat["summary"]["requests"],
        "{n}"
    );
    assert!(!ins["summary"]["coverage"].as_array().unwrap().is_empty());

    let by_client = |r: &Value| table(r, "clients", |c| s(c, "client"), "requests");
    assert_eq!(by_client(ins), by_client(nat), "clients {n}");
    let writes_of = |r: &Value| table(r, "clients", |c| s(c, "client"), "writes");
    assert_eq!(writes_of(ins), writes_of(nat), "client writes {n}");

    let lists = |r: &Value| {
        table(
            r,
            "lists",
            |l| (s(l, "user_agent"), s(l, "resource")),
            "count",
        )
    };
    assert_eq!(lists(ins), lists(nat), "lists {n}");

    let writes = |r: &Value| {
        table(
            r,
            "writes",
            |w| {
                (
                    s(w, "client"),
                    s(w, "resource"),
                    s(w, "subresource"),
                    s(w, "verb"),
                )
            },
            "count",
        )
    };
    assert_eq!(writes(ins), writes(nat), "writes {n}");

    let crds = |r: &Value, v: &str| {
        table(
            r,
            "crds",
            |c| {
                (
                    s(c, "group"),
                    s(c, "resource"),
                    s(c, "verb"),
                    s(c, "client"),
                )
            },
            v,
        )
    };
    assert_eq!(crds(ins, "count"), crds(nat, "count"), "crds {n}");
    assert_eq!(crds(ins, "errors"), crds(nat, "errors"), "crd errors {n}");

    let errors = |r: &Value| {
        let mut m = table(
            r,
            "errors",
            |e| {
                (
                    s(e, "client"),
                    e["code"].as_u64().unwrap(),
                    s(e, "reason"),
                    s(e, "verb"),
                    s(e, "resource"),
                )
            },
            "count",
        );
        m.retain(|k, _| matches!(k.1, 404 | 409 | 429) || k.1 >= 500);
        m
    };
    assert_eq!(errors(ins), errors(nat), "errors {n}");

    let timeline = |r: &Value, v: &str| table(r, "timeline", |m| s(m, "minute"), v);
    for v in ["requests", "short", "server_errors", "throttled"] {
        assert_eq!(timeline(ins, v), timeline(nat, v), "timeline {v} {n}");
    }

    let object = |o: &Value| {
        (
            s(o, "group"),
            s(o, "resource"),
            s(o, "namespace"),
            s(o, "name"),
        )
    };
    let objects = table(ins, "objects", object, "writes");
    for (k, w) in table(nat, "objects", object, "writes") {
        assert_eq!(objects.get(&k), Some(&w), "object {k:?} {n}");
    }

    // Percentiles: keys with one native row (the native key also holds the client).
    let mut native_rows: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for l in nat["lists"].as_array().unwrap() {
        native_rows
            .entry((s(l, "user_agent"), s(l, "resource")))
            .or_default()
            .push(l);
    }
    let mut compared = 0;
    for l in ins["lists"].as_array().unwrap() {
        let Some([want]) = native_rows
            .get(&(s(l, "user_agent"), s(l, "resource")))
            .map(Vec::as_slice)
        else {
            continue;
        };
        let (got, want) = (&l["latency_ms"], &want["latency_ms"]);
        assert_eq!(got.is_null(), want.is_null(), "{n}");
        if want.is_null() {
            continue;
        }
        assert_eq!(got["samples"], want["samples"]);
        for f in ["p50", "p90", "p99"] {
            let (g, w) = (got[f].as_f64().unwrap(), want[f].as_f64().unwrap());
            assert!((g - w).abs() <= w * 0.0601 + 0.002, "{n} {f}: {g} vs {w}");
        }
        for f in ["max", "mean"] {
            let (g, w) = (got[f].as_f64().unwrap(), want[f].as_f64().unwrap());
            assert!((g - w).abs() <= w * 0.01 + 0.002, "{n} {f}: {g} vs {w}");
        }
        compared += 1;
    }
    compared
}

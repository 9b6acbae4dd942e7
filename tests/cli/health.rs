//! Health and sizing against numbers worked out by hand: seats from known in-flight overlap,
//! success-rate minutes and SLO windows from planted slow and failing minutes.

use crate::common;

#[allow(clippy::too_many_arguments)]
fn ev(
    id: &str,
    user: &str,
    verb: &str,
    resource: &str,
    ns: &str,
    code: u16,
    from: &str,
    to: &str,
) -> String {
    let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
    let sub = if sub.is_empty() {
        String::new()
    } else {
        format!(r#","subresource":"{sub}""#)
    };
    let ns_json = if ns.is_empty() {
        String::new()
    } else {
        format!(r#","namespace":"{ns}""#)
    };
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/x","verb":"{verb}","user":{{"username":"{user}"}},"userAgent":"t/1","objectRef":{{"resource":"{res}"{ns_json},"name":"o-{id}","apiVersion":"v1"{sub}}},"responseStatus":{{"code":{code}}},"requestReceivedTimestamp":"2024-05-01T{from}Z","stageTimestamp":"2024-05-01T{to}Z"}}"#
    )
}

fn log() -> Vec<String> {
    let mut l = vec![
        // Seats, minute 10:00: A 30 s + B 30 s + C's first 10 s × 10 seats = 160 seat-s.
        ev(
            "A",
            "system:serviceaccount:team:a",
            "get",
            "pods",
            "team",
            200,
            "10:00:00.000000",
            "10:00:30.000000",
        ),
        ev(
            "B",
            "alice",
            "get",
            "configmaps",
            "team",
            200,
            "10:00:15.000000",
            "10:00:45.000000",
        ),
        // C: a cluster-scoped LIST (10 seats) from 10:00:50 to 10:01:10.
        ev(
            "C",
            "bob",
            "list",
            "pods",
            "",
            200,
            "10:00:50.000000",
            "10:01:10.000000",
        ),
        // Minute 10:01: C's last 10 s × 10 = 100, plus D: a 0.1 s write + 0.05 s etcd weight.
        ev(
            "D",
            "alice",
            "update",
            "configmaps",
            "team",
            200,
            "10:01:20.000000",
            "10:01:20.100000",
        ),
    ];
    for i in 0..10 {
        // 10:02: workloads fail half their requests; system components all succeed.
        l.push(ev(
            &format!("w{i}"),
            "carol",
            "get",
            "secrets",
            "team",
            if i < 5 { 500 } else { 200 },
            "10:02:01.000000",
            "10:02:01.001000",
        ));
        l.push(ev(
            &format!("s{i}"),
            "system:node:n1",
            "get",
            "secrets",
            "team",
            200,
            "10:02:02.000000",
            "10:02:02.001000",
        ));
    }
    for i in 0..4 {
        // 10:03: one 429 of four for the scheduler: a system-only fault minute.
        l.push(ev(
            &format!("k{i}"),
            "system:kube-scheduler",
            "get",
            "nodes",
            "",
            if i == 0 { 429 } else { 200 },
            "10:03:00.000000",
            "10:03:00.001000",
        ));
    }
    for i in 0..100 {
        // 10:05–10:10: 2 of 100 GETs over 1 s: P99 over the SLO. 10:10–10:15: 1 of 100: not.
        let slow = i < 2;
        l.push(ev(
            &format!("p{i}"),
            "dave",
            "get",
            "pods",
            "team",
            200,
            "10:06:00.000000",
            if slow {
                "10:06:01.500000"
            } else {
                "10:06:00.010000"
            },
        ));
        let slow = i < 1;
        l.push(ev(
            &format!("q{i}"),
            "dave",
            "get",
            "pods",
            "team",
            200,
            "10:11:00.000000",
            if slow {
                "10:11:01.500000"
            } else {
                "10:11:00.010000"
            },
        ));
    }
    for (i, t) in [
        "10:20:00.100000",
        "10:20:00.400000",
        "10:20:00.900000",
        "10:20:01.500000",
    ]
    .iter()
    .enumerate()
    {
        l.push(ev(
            &format!("b{i}"),
            "system:kube-scheduler",
            "create",
            "pods/binding",
            "team",
            201,
            t,
            t,
        ));
    }
    l
}

#[test]
fn seats_success_minutes_slo_windows_and_tier() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("health.jsonl");
    std::fs::write(&p, log().join("\n")).unwrap();
    let r = common::report(&[p.to_str().unwrap()]);
    let z = &r["sizing"];
    // 160 seat-s / 60 s = 2.67 seats in 10:00; (100 + 0.15) / 60 = 1.67 in 10:01.
    assert_eq!(z["peak_seats"], 2.67, "{z:#}");
    assert_eq!(z["peak_minute"], "2024-05-01T10:00:00Z");
    assert_eq!(
        z["top_clients"][0]["name"], "t",
        "bob's LIST and the rest share one userAgent product"
    );
    assert_eq!(z["peak_pod_bindings_per_second"], 3);
    assert_eq!(z["tier"]["recommended"], "Standard");
    assert!(
        z["tier"]["arithmetic"][0]
            .as_str()
            .unwrap()
            .contains("peak 2.7 × 1.2 headroom = 3.2 needed"),
        "{z:#}"
    );

    let h = &r["health"];
    let below: Vec<&str> = h["below_threshold"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(below, ["2024-05-01T10:02:00Z", "2024-05-01T10:03:00Z"]);
    let m = |minute: &str| {
        h["minutes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["minute"] == minute)
            .unwrap()
            .clone()
    };
    assert_eq!(m("2024-05-01T10:02:00Z")["workload"]["success_rate"], 0.5);
    assert_eq!(m("2024-05-01T10:02:00Z")["system"]["success_rate"], 1.0);
    assert_eq!(m("2024-05-01T10:03:00Z")["system"]["success_rate"], 0.75);
    assert!(m("2024-05-01T10:03:00Z")["workload"].is_null());
    // The 30 s GETs A and B miss in 10:00; of the planted windows only 10:05 (2%) misses.
    let all = h["slo_violations"].as_array().unwrap();
    let v: Vec<&serde_json::Value> = all
        .iter()
        .filter(|x| x["window"].as_str().unwrap() >= "2024-05-01T10:05")
        .collect();
    assert_eq!(v.len(), 1, "{all:#?}");
    assert_eq!(
        all.len(),
        3,
        "A (pods) and B (configmaps) in 10:00, and 10:05: {all:#?}"
    );
    assert_eq!(v[0]["window"], "2024-05-01T10:05:00Z");
    assert_eq!(
        (v[0]["calls"].as_u64(), v[0]["over"].as_u64()),
        (Some(100), Some(2))
    );
    assert_eq!(v[0]["class"], "read-only");
}

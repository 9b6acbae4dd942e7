//! Millions of distinct keys must not mean millions of rows: past the caps
//! (`aggregate::MAX_IDENTITIES`, `MAX_CLIENTS`, `MAX_PODS_PER_CLIENT`) new userAgents, users,
//! clients and pods fold into `(other …)` rows, the totals stay exact, and the report says so.

mod common;

use std::io::Write;

use audit_scan::aggregate::{MAX_CLIENTS, MAX_IDENTITIES, MAX_LIST_ROWS};
use serde_json::Value;

#[test]
fn distinct_user_agents_fold_with_exact_totals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("distinct.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    // Enough that, however the chunks split between two workers, one sees over the cap.
    let n = 2 * MAX_IDENTITIES + 20_000;
    for i in 0..n {
        let (m, s) = ((i / 1000) % 60, (i / 17) % 60);
        // Every request: its own userAgent (so its own client) and user, one pod of 1,000 per
        // shared controller identity, LISTs and updates.
        let (verb, uri) = if i % 2 == 0 {
            ("list", "/api/v1/namespaces/a/pods")
        } else {
            ("update", "/api/v1/namespaces/a/configmaps/c")
        };
        writeln!(
            f,
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"d-{i}","stage":"ResponseComplete","requestURI":"{uri}","verb":"{verb}","user":{{"username":"system:serviceaccount:a:sa-{i}","extra":{{"authentication.kubernetes.io/pod-name":["p-{}"]}}}},"userAgent":"tool-{i}/v1.0","objectRef":{{"resource":"{}","namespace":"a","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2024-05-01T10:{m:02}:{s:02}.000000Z","stageTimestamp":"2024-05-01T10:{m:02}:{s:02}.002000Z"}}"#,
            i % 1000,
            if verb == "list" { "pods" } else { "configmaps" }
        )
        .unwrap();
    }
    f.flush().unwrap();
    drop(f);

    for threads in ["1", "2"] {
        let r: Value =
            common::report(&["--threads", threads, "--top", "5", path.to_str().unwrap()]);
        assert_eq!(r["summary"]["requests"], n as u64);
        let clients = r["clients"].as_array().unwrap();
        let t: usize = threads.parse().unwrap();
        assert!(
            clients.len() <= MAX_CLIENTS * t + t,
            "{} clients",
            clients.len()
        );
        let total: u64 = clients
            .iter()
            .map(|c| c["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(total, n as u64, "requests lost in folding");
        assert!(clients.iter().any(|c| c["client"] == "(other clients)"));
        let lists = r["lists"].as_array().unwrap();
        let listed: u64 = lists.iter().map(|l| l["count"].as_u64().unwrap()).sum();
        assert_eq!(listed, n.div_ceil(2) as u64);
        assert!(
            lists.len() <= MAX_LIST_ROWS * t + 1,
            "{} list rows",
            lists.len()
        );
        assert!(
            lists
                .iter()
                .any(|l| l["user_agent"] == "(other userAgents)")
        );
        let folded = r["summary"]["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c.as_str().unwrap().contains("folded"))
            .expect("the report says it folded");
        let count: u64 = folded
            .as_str()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Each worker keeps its first MAX_IDENTITIES pairs; the rest were folded.
        assert!(
            count >= (n - MAX_IDENTITIES * t) as u64 && count <= (n - MAX_IDENTITIES) as u64,
            "{count}"
        );
    }
}

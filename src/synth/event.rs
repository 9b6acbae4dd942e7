//! One audit event as the apiserver writes it: a JSON line.

use std::fmt::Write as _;

use crate::timefmt::{Micros, format_rfc3339};

use super::bodies;
use super::req::Req;
use super::rng::{Rng, uuid};

/// Writes one event line.
pub(super) fn write_event(
    out: &mut String,
    r: &mut Rng,
    q: &Req,
    stage: &str,
    received: Micros,
    stage_time: Micros,
    id: &str,
) {
    let _ = write!(
        out,
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"{}","auditID":"{id}","stage":"{stage}","requestURI":"{}","verb":"{}","user":{{"username":"{}","uid":"{}","groups":{}}},"sourceIPs":["10.0.{}.{}"],"userAgent":"{}","objectRef":{{"resource":"{}""#,
        q.level,
        q.uri.replace('&', "\\u0026"),
        q.verb,
        q.user,
        uuid(r),
        q.groups,
        r.below(8),
        r.below(250),
        q.ua,
        q.resource,
    );
    for (k, v) in [
        ("namespace", q.ns.as_str()),
        ("name", q.name.as_str()),
        ("apiGroup", q.group),
    ] {
        if !v.is_empty() {
            let _ = write!(out, r#","{k}":"{v}""#);
        }
    }
    let _ = write!(out, r#","apiVersion":"{}""#, q.version);
    if !q.sub.is_empty() {
        let _ = write!(out, r#","subresource":"{}""#, q.sub);
    }
    out.push_str(r#"},"responseStatus":{"metadata":{}"#);
    if stage == "ResponseComplete" {
        // An APF rejection has no reason: the filter answers before any handler writes a
        // Status, so the audit event keeps only the code.
        if q.code >= 400 && !q.reason.is_empty() {
            let _ = write!(
                out,
                r#","status":"Failure","message":"{}","reason":"{}""#,
                if q.message.is_empty() {
                    format!("{} {}", q.resource, q.reason)
                } else {
                    q.message.to_owned()
                },
                q.reason
            );
        }
        let _ = write!(out, r#","code":{}"#, q.code);
    } else {
        out.push_str(r#","code":200"#);
    }
    out.push('}');
    if let (Some((req_rv, resp_rv)), "ResponseComplete") = (q.bodies, stage) {
        let _ = write!(
            out,
            r#","requestObject":{{"kind":"ConfigMap","apiVersion":"v1","metadata":{{"name":"{}","resourceVersion":"{req_rv}"}},"data":{{"k":"v"}}}},"responseObject":{{"kind":"ConfigMap","apiVersion":"v1","metadata":{{"name":"{}","resourceVersion":"{resp_rv}"}},"data":{{"k":"v"}}}}"#,
            q.name, q.name
        );
    } else if q.full_bodies && stage == "ResponseComplete" && q.code < 400 {
        let rv = 10_000_000 + r.below(90_000_000);
        out.push_str(&bodies::members(r, q, rv));
    }
    let extra = if q.annotations.is_empty() {
        String::new()
    } else {
        format!(",{}", q.annotations)
    };
    let _ = writeln!(
        out,
        r#","requestReceivedTimestamp":"{}","stageTimestamp":"{}","annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"system:{}\""{extra}}}}}"#,
        micros6(received),
        micros6(stage_time),
        q.resource,
    );
}

/// RFC 3339 with exactly six fractional digits, as the apiserver writes.
pub(super) fn micros6(t: Micros) -> String {
    let s = format_rfc3339(t - t.rem_euclid(1_000_000));
    format!(
        "{}.{:06}Z",
        s.trim_end_matches('Z'),
        t.rem_euclid(1_000_000)
    )
}

//! One synthetic request and the names and paths its fields are made of.

use std::fmt::Write as _;

use crate::timefmt::Micros;

/// One synthetic request.
pub(super) struct Req<'a> {
    pub(super) verb: &'a str,
    pub(super) uri: String,
    pub(super) user: String,
    pub(super) groups: &'a str,
    pub(super) ua: &'a str,
    pub(super) group: &'a str,
    pub(super) version: &'a str,
    pub(super) resource: &'a str,
    pub(super) sub: &'a str,
    pub(super) ns: String,
    pub(super) name: String,
    pub(super) code: u16,
    pub(super) reason: &'a str,
    pub(super) latency: Micros,
    pub(super) level: &'a str,
    /// resourceVersions of the request and response bodies (RequestResponse level).
    pub(super) bodies: Option<(u64, u64)>,
    /// Extra annotation members, JSON (`"k8s.io/deprecated":"true"`).
    pub(super) annotations: &'a str,
    /// Status message (JSON-escaped), if not the default.
    pub(super) message: &'a str,
    /// Whole objects as bodies (`--bodies`), on success.
    pub(super) full_bodies: bool,
}

impl Default for Req<'_> {
    fn default() -> Self {
        Self {
            verb: "get",
            uri: String::new(),
            user: String::new(),
            groups: r#"["system:serviceaccounts","system:authenticated"]"#,
            ua: "",
            group: "",
            version: "v1",
            resource: "",
            sub: "",
            ns: String::new(),
            name: String::new(),
            code: 200,
            reason: "",
            latency: 0,
            level: "Metadata",
            bodies: None,
            annotations: "",
            message: "",
            full_bodies: false,
        }
    }
}

pub(super) const NAMESPACES: &[&str] = &[
    "default", "payments", "checkout", "search", "web", "batch", "data", "ml",
];
pub(super) const KUBELET_UA: &str = "kubelet/v1.29.3 (linux/amd64) kubernetes/6813625";

pub(super) fn node(i: u64) -> String {
    format!("ip-10-0-{}-{}.ec2.internal", i / 250, i % 250 + 1)
}

pub(super) fn sa(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

pub(super) fn path(
    group: &str,
    version: &str,
    ns: &str,
    resource: &str,
    name: &str,
    sub: &str,
) -> String {
    let mut p = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    if !ns.is_empty() {
        let _ = write!(p, "/namespaces/{ns}");
    }
    let _ = write!(p, "/{resource}");
    if !name.is_empty() {
        let _ = write!(p, "/{name}");
    }
    if !sub.is_empty() {
        let _ = write!(p, "/{sub}");
    }
    p
}

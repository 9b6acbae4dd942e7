//! The background: a cluster's everyday traffic, one weighted random request at a time.

use std::fmt::Write as _;

use crate::timefmt::Micros;

use super::req::{KUBELET_UA, NAMESPACES, Req, node, path, sa};
use super::rng::Rng;

#[allow(clippy::too_many_lines)]
pub(super) fn request<'a>(r: &mut Rng, nodes: u64) -> Req<'a> {
    let mut q = Req::default();
    let ns = (*r.pick(NAMESPACES)).to_owned();
    let roll = r.below(1000);
    match roll {
        0..=249 => {
            let n = node(r.below(nodes));
            q = Req {
                verb: "update",
                group: "coordination.k8s.io",
                resource: "leases",
                ns: "kube-node-lease".into(),
                name: n.clone(),
                user: format!("system:node:{n}"),
                groups: r#"["system:nodes","system:authenticated"]"#,
                ua: KUBELET_UA,
                latency: r.latency_us(6.0),
                ..q
            };
        }
        250..=399 => {
            let n = node(r.below(nodes));
            let res = *r.pick(&["pods", "secrets", "configmaps", "serviceaccounts"]);
            let name = if res == "serviceaccounts" {
                "default".to_owned()
            } else {
                format!("{}-{}", &res[..res.len() - 1], r.below(400))
            };
            q = Req {
                verb: "get",
                resource: res,
                ns,
                name,
                user: format!("system:node:{n}"),
                groups: r#"["system:nodes","system:authenticated"]"#,
                ua: KUBELET_UA,
                latency: r.latency_us(2.0),
                ..q
            };
        }
        400..=449 => {
            let n = node(r.below(nodes));
            q = Req {
                verb: "patch",
                resource: "nodes",
                sub: "status",
                name: n.clone(),
                user: format!("system:node:{n}"),
                groups: r#"["system:nodes","system:authenticated"]"#,
                ua: KUBELET_UA,
                latency: r.latency_us(9.0),
                ..q
            };
        }
        450..=479 => {
            let n = node(r.below(nodes));
            q = Req {
                verb: "watch",
                resource: "configmaps",
                ns,
                user: format!("system:node:{n}"),
                groups: r#"["system:nodes","system:authenticated"]"#,
                ua: KUBELET_UA,
                latency: 300_000_000 + r.below(240_000_000) as Micros,
                ..q
            };
        }
        480..=519 => {
            q = Req {
                verb: "create",
                resource: "pods",
                sub: "binding",
                ns,
                name: format!("web-{:x}", r.next_u64() & 0xffff_ffff),
                user: "system:kube-scheduler".into(),
                groups: r#"["system:authenticated"]"#,
                ua: "kube-scheduler/v1.29.3 (linux/amd64) kubernetes/6813625/scheduler",
                latency: r.latency_us(7.0),
                ..q
            };
        }
        520..=529 => {
            q = Req {
                verb: "update",
                group: "coordination.k8s.io",
                resource: "leases",
                ns: "kube-system".into(),
                name: "kube-scheduler".into(),
                user: "system:kube-scheduler".into(),
                groups: r#"["system:authenticated"]"#,
                ua: "kube-scheduler/v1.29.3 (linux/amd64) kubernetes/6813625/leader-election",
                latency: r.latency_us(5.0),
                ..q
            };
        }
        530..=639 => {
            let (ctrl, verb, group, res, sub) = *r.pick(&[
                (
                    "replicaset-controller",
                    "update",
                    "apps",
                    "replicasets",
                    "status",
                ),
                (
                    "endpointslice-controller",
                    "update",
                    "discovery.k8s.io",
                    "endpointslices",
                    "",
                ),
                (
                    "endpointslice-controller",
                    "create",
                    "discovery.k8s.io",
                    "endpointslices",
                    "",
                ),
                (
                    "deployment-controller",
                    "update",
                    "apps",
                    "deployments",
                    "status",
                ),
                (
                    "generic-garbage-collector",
                    "list",
                    "apps",
                    "replicasets",
                    "",
                ),
                ("job-controller", "update", "batch", "jobs", "status"),
                ("node-lifecycle-controller", "list", "", "pods", ""),
            ]);
            let name = if verb == "list" {
                String::new()
            } else {
                format!("{}-{}", res.trim_end_matches('s'), r.below(60))
            };
            let ns = if ctrl == "node-lifecycle-controller" {
                String::new()
            } else {
                ns
            };
            q = Req {
                verb,
                group,
                version: "v1",
                resource: res,
                sub,
                ns,
                name,
                user: sa("kube-system", ctrl),
                ua: match ctrl {
                    "replicaset-controller" => {
                        "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:replicaset-controller"
                    }
                    "endpointslice-controller" => {
                        "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:endpointslice-controller"
                    }
                    "deployment-controller" => {
                        "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:deployment-controller"
                    }
                    "generic-garbage-collector" => {
                        "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:generic-garbage-collector"
                    }
                    "job-controller" => {
                        "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:job-controller"
                    }
                    _ => {
                        "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:node-lifecycle-controller"
                    }
                },
                latency: r.latency_us(if verb == "list" { 25.0 } else { 8.0 }),
                ..q
            };
        }
        640..=839 => {
            let (ua, ns_sa, group, res, verbs) = *r.pick(&[
                (
                    "cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f05d3e0",
                    ("cert-manager", "cert-manager"),
                    "cert-manager.io",
                    "certificates",
                    &["get", "update", "list", "watch"][..],
                ),
                (
                    "cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f05d3e0",
                    ("cert-manager", "cert-manager"),
                    "cert-manager.io",
                    "certificaterequests",
                    &["get", "create", "delete"][..],
                ),
                (
                    "argocd-application-controller/v2.11.3 (linux/amd64) kubernetes/1e5e9e8",
                    ("argocd", "argocd-application-controller"),
                    "argoproj.io",
                    "applications",
                    &["get", "patch", "list", "watch"][..],
                ),
                (
                    "karpenter/v0.37.0",
                    ("kube-system", "karpenter"),
                    "karpenter.sh",
                    "nodeclaims",
                    &["get", "list", "patch", "create"][..],
                ),
                (
                    "kyverno/v1.12.0 (linux/amd64) kubernetes/abc123",
                    ("kyverno", "kyverno-admission-controller"),
                    "kyverno.io",
                    "clusterpolicies",
                    &["get", "list", "watch"][..],
                ),
                (
                    "aws-load-balancer-controller/v2.8.1 (linux/amd64) kubernetes/$Format",
                    ("kube-system", "aws-load-balancer-controller"),
                    "elbv2.k8s.aws",
                    "targetgroupbindings",
                    &["get", "update", "list"][..],
                ),
            ]);
            let verb = *r.pick(verbs);
            let cluster = res == "clusterpolicies" || res == "nodeclaims";
            let name = if matches!(verb, "list" | "watch") {
                String::new()
            } else {
                format!("{}-{}", res.trim_end_matches('s'), r.below(40))
            };
            let sub = if verb == "update" && r.below(2) == 0 {
                "status"
            } else {
                ""
            };
            let version = match group {
                "cert-manager.io" | "karpenter.sh" | "kyverno.io" => "v1",
                "argoproj.io" => "v1alpha1",
                _ => "v1beta1",
            };
            q = Req {
                verb,
                group,
                version,
                resource: res,
                sub,
                ns: if cluster { String::new() } else { ns },
                name,
                user: sa(ns_sa.0, ns_sa.1),
                ua,
                latency: if verb == "watch" {
                    300_000_000 + r.below(300_000_000) as Micros
                } else {
                    r.latency_us(if verb == "list" { 30.0 } else { 6.0 })
                },
                ..q
            };
        }
        840..=934 => {
            // Applications reading their own config.
            let res = *r.pick(&["configmaps", "secrets"]);
            let name = format!("{}-{}", &res[..res.len() - 1], r.below(50));
            let app = *r.pick(&["web", "checkout", "search"]);
            q = Req {
                verb: "get",
                resource: res,
                ns,
                name,
                user: sa(app, app),
                ua: "web-app/v1.4.2",
                latency: r.latency_us(2.0),
                ..q
            };
        }
        935..=939 => {
            // Monitoring relists from the watch cache now and then.
            let (ua, who, res) = *r.pick(&[
                (
                    "kube-state-metrics/v2.10.1 (linux/amd64) kubernetes/abc",
                    ("monitoring", "kube-state-metrics"),
                    "pods",
                ),
                (
                    "Prometheus/2.51.0",
                    ("monitoring", "prometheus"),
                    "endpoints",
                ),
            ]);
            q = Req {
                verb: "list",
                resource: res,
                ns: if res == "pods" { String::new() } else { ns },
                user: sa(who.0, who.1),
                ua,
                latency: r.latency_us(if res == "pods" { 120.0 } else { 10.0 }),
                ..q
            };
        }
        _ => {
            let verb = *r.pick(&["get", "list", "get", "delete"]);
            let name = if verb == "list" {
                String::new()
            } else {
                format!("web-{}", r.below(300))
            };
            q = Req {
                verb,
                resource: "pods",
                ns,
                name,
                user: "admin@example.com".into(),
                groups: r#"["system:authenticated"]"#,
                ua: "kubectl/v1.30.1 (darwin/arm64) kubernetes/6911225",
                latency: r.latency_us(if verb == "list" { 40.0 } else { 4.0 }),
                ..q
            };
        }
    }
    finish(r, &mut q);
    q
}

/// `--bodies`: a write to a built-in group is logged at RequestResponse level, as EKS' policy
/// does (planted no-op bodies keep their own).
pub(super) fn log_bodies(q: &mut Req) {
    if crate::aggregate::is_write_verb(q.verb)
        && crate::aggregate::is_builtin_group(q.group)
        && q.bodies.is_none()
    {
        q.level = "RequestResponse";
        q.full_bodies = true;
    }
}

/// Query string, errors and reasons.
pub(super) fn finish(r: &mut Rng, q: &mut Req) {
    let mut uri = path(q.group, q.version, &q.ns, q.resource, &q.name, q.sub);
    match q.verb {
        "list" => {
            // Informers relist from the watch cache.
            uri.push_str(if r.below(2) == 0 {
                "?resourceVersion=0"
            } else {
                "?limit=500&resourceVersion=0"
            });
        }
        "watch" => {
            let t = 300 + r.below(300);
            let _ = write!(
                uri,
                "?allowWatchBookmarks=true&resourceVersion={}&timeout={}m{}s&timeoutSeconds={t}&watch=true",
                1_000_000 + r.below(1_000_000),
                t / 60,
                t % 60
            );
        }
        "patch" | "update" if q.resource == "applications" => {
            uri.push_str("?fieldManager=argocd-controller")
        }
        _ => {}
    }
    q.uri = uri;
    // Realistic background error rates: conflicts and 404s are rare, 429 and 5xx rarer.
    let e = r.below(100_000);
    match q.verb {
        "update" | "patch" if e < 100 => (q.code, q.reason) = (409, "Conflict"),
        "create" if e < 500 => (q.code, q.reason) = (409, "AlreadyExists"),
        "get" if e < 500 => (q.code, q.reason) = (404, "NotFound"),
        _ if e < 2 => (q.code, q.reason) = (429, "TooManyRequests"),
        _ if e < 4 => (q.code, q.reason) = (500, "InternalError"),
        _ => {}
    }
}

//! The background: a cluster's everyday traffic besides its heartbeats, one weighted random
//! request at a time. Each source's weight is its requests per second at the default rate
//! (300/s, of which the heartbeats of 50 nodes take about 8): kubelets, the scheduler,
//! kube-controller-manager's controllers, operators, applications reading their config,
//! node agents, monitoring, and a few humans with kubectl. The weights keep every client off
//! the client-library rate limits (5, 20 and 50 requests/s), every writer under a quarter of
//! the cluster's writes and every object far from a reconcile loop, as in a healthy cluster.

use std::fmt::Write as _;

use crate::timefmt::Micros;

use super::req::{KUBELET_UA, NAMESPACES, Req, node, path, sa};
use super::rng::Rng;

mod operators;

/// A source of background traffic.
#[derive(Debug, Clone, Copy)]
enum Source {
    KubeletRead,
    KubeletWatch,
    KubeletEvent,
    Binding,
    Controller,
    Operator,
    Eviction,
    AppConfig,
    NodeAgent,
    Monitoring,
    Kubectl,
}

/// Requests per second (× 10) of each source at the default rate: the mix's weights.
const MIX: &[(u64, Source)] = &[
    (750, Source::KubeletRead),
    (20, Source::KubeletWatch),
    (15, Source::KubeletEvent),
    (30, Source::Binding),
    (193, Source::Controller),
    (440, Source::Operator),
    (6, Source::Eviction),
    (1200, Source::AppConfig),
    (230, Source::NodeAgent),
    (15, Source::Monitoring),
    (15, Source::Kubectl),
];

/// One background request, complete with its URI and any error.
pub(super) fn request<'a>(r: &mut Rng, nodes: u64) -> Req<'a> {
    let ns = (*r.pick(NAMESPACES)).to_owned();
    let mut q = match *r.weighted(MIX) {
        Source::KubeletRead => kubelet_read(r, nodes, ns),
        Source::KubeletWatch => kubelet_watch(r, nodes, ns),
        Source::KubeletEvent => kubelet_event(r, nodes, ns),
        Source::Binding => binding(r, ns),
        Source::Controller => operators::controller(r, ns),
        Source::Operator => operators::operator(r, ns),
        Source::Eviction => eviction(r, ns),
        Source::AppConfig => app_config(r),
        Source::NodeAgent => node_agent(r, nodes, ns),
        Source::Monitoring => monitoring(r, ns),
        Source::Kubectl => kubectl(r, ns),
    };
    finish(r, &mut q);
    q
}

/// A kubelet's request: its node's user, groups and userAgent.
fn kubelet<'a>(r: &mut Rng, nodes: u64) -> Req<'a> {
    let n = node(r.below(nodes));
    Req {
        user: format!("system:node:{n}"),
        groups: r#"["system:nodes","system:authenticated"]"#,
        ua: KUBELET_UA,
        ..Req::default()
    }
}

/// A kubelet reads what its pods mount.
fn kubelet_read<'a>(r: &mut Rng, nodes: u64, ns: String) -> Req<'a> {
    let q = kubelet(r, nodes);
    let res = *r.pick(&["pods", "secrets", "configmaps", "serviceaccounts"]);
    let name = if res == "serviceaccounts" {
        "default".to_owned()
    } else {
        format!("{}-{}", &res[..res.len() - 1], r.below(400))
    };
    Req {
        verb: "get",
        resource: res,
        ns,
        name,
        latency: r.latency_us(2.0),
        ..q
    }
}

fn kubelet_watch<'a>(r: &mut Rng, nodes: u64, ns: String) -> Req<'a> {
    let q = kubelet(r, nodes);
    Req {
        verb: "watch",
        resource: "configmaps",
        ns,
        latency: 300_000_000 + r.below(240_000_000) as Micros,
        ..q
    }
}

/// A kubelet records an Event (image pulled, container started).
fn kubelet_event<'a>(r: &mut Rng, nodes: u64, ns: String) -> Req<'a> {
    let q = kubelet(r, nodes);
    Req {
        verb: "create",
        resource: "events",
        ns,
        name: format!(
            "web-{:x}.{:x}",
            r.next_u64() & 0xffff,
            r.next_u64() & 0xffff_ffff
        ),
        latency: r.latency_us(5.0),
        ..q
    }
}

fn binding<'a>(r: &mut Rng, ns: String) -> Req<'a> {
    Req {
        verb: "create",
        resource: "pods",
        sub: "binding",
        ns,
        name: format!("web-{:x}", r.next_u64() & 0xffff_ffff),
        user: "system:kube-scheduler".into(),
        groups: r#"["system:authenticated"]"#,
        ua: "kube-scheduler/v1.29.3 (linux/amd64) kubernetes/6813625/scheduler",
        latency: r.latency_us(7.0),
        ..Req::default()
    }
}

/// Karpenter drains a node it consolidates; a PodDisruptionBudget refuses about a third of the
/// evictions with 429 TooManyRequests (not throttling: the client retries later).
fn eviction<'a>(r: &mut Rng, ns: String) -> Req<'a> {
    let refused = r.below(3) == 0;
    Req {
        verb: "create",
        resource: "pods",
        sub: "eviction",
        ns,
        name: format!("web-{}", r.below(300)),
        user: sa("kube-system", "karpenter"),
        ua: "karpenter/v0.37.0",
        code: if refused { 429 } else { 201 },
        reason: if refused { "TooManyRequests" } else { "" },
        message: if refused {
            "Cannot evict pod as it would violate the pod's disruption budget."
        } else {
            ""
        },
        latency: r.latency_us(6.0),
        ..Req::default()
    }
}

/// Applications reading their own config, one service account per namespace.
fn app_config<'a>(r: &mut Rng) -> Req<'a> {
    let app = *r.pick(NAMESPACES);
    let res = *r.pick(&["configmaps", "secrets"]);
    Req {
        verb: "get",
        resource: res,
        ns: app.into(),
        name: format!("{}-{}", &res[..res.len() - 1], r.below(50)),
        user: sa(app, app),
        ua: "web-app/v1.4.2",
        latency: r.latency_us(2.0),
        ..Req::default()
    }
}

/// Node agents (a DaemonSet on every node, one service account): the VPC CNI reads its
/// node and pods, Fluent Bit reads pod metadata for its log records.
fn node_agent<'a>(r: &mut Rng, nodes: u64, ns: String) -> Req<'a> {
    if r.below(23) < 15 {
        let get_node = r.below(3) == 0;
        Req {
            verb: "get",
            resource: if get_node { "nodes" } else { "pods" },
            ns: if get_node { String::new() } else { ns },
            name: if get_node {
                node(r.below(nodes))
            } else {
                format!("web-{}", r.below(300))
            },
            user: sa("kube-system", "aws-node"),
            ua: "amazon-vpc-cni-k8s/v1.18.1 (linux/amd64) kubernetes/$Format",
            latency: r.latency_us(2.0),
            ..Req::default()
        }
    } else {
        Req {
            verb: "get",
            resource: "pods",
            ns,
            name: format!("web-{}", r.below(300)),
            user: sa("amazon-cloudwatch", "fluent-bit"),
            ua: "fluent-bit/3.0.4",
            latency: r.latency_us(2.0),
            ..Req::default()
        }
    }
}

/// Monitoring relists from the watch cache now and then.
fn monitoring<'a>(r: &mut Rng, ns: String) -> Req<'a> {
    let pods = r.below(5) == 0;
    let (ua, who, res) = if pods {
        (
            "kube-state-metrics/v2.10.1 (linux/amd64) kubernetes/abc",
            "kube-state-metrics",
            "pods",
        )
    } else {
        ("Prometheus/2.51.0", "prometheus", "endpoints")
    };
    Req {
        verb: "list",
        resource: res,
        ns: if pods { String::new() } else { ns },
        user: sa("monitoring", who),
        ua,
        latency: r.latency_us(if pods { 120.0 } else { 10.0 }),
        ..Req::default()
    }
}

/// A few people with kubectl, each a request every few seconds.
fn kubectl<'a>(r: &mut Rng, ns: String) -> Req<'a> {
    let verb = *r.pick(&["get", "list", "get", "delete"]);
    let user = *r.pick(&["admin@example.com", "dev@example.com", "sre@example.com"]);
    Req {
        verb,
        resource: "pods",
        ns,
        name: if verb == "list" {
            String::new()
        } else {
            format!("web-{}", r.below(300))
        },
        user: user.into(),
        groups: r#"["system:authenticated"]"#,
        ua: "kubectl/v1.30.1 (darwin/arm64) kubernetes/6911225",
        latency: r.latency_us(if verb == "list" { 40.0 } else { 4.0 }),
        ..Req::default()
    }
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
fn finish(r: &mut Rng, q: &mut Req) {
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
    if q.code >= 400 {
        return;
    }
    // Realistic background error rates: conflicts and 404s are rare; APF rejections (429
    // without a reason, as the priority-and-fairness filter answers) and 5xx rarer.
    let e = r.below(100_000);
    match q.verb {
        "update" | "patch" if e < 100 => (q.code, q.reason) = (409, "Conflict"),
        "create" if e < 500 => (q.code, q.reason) = (409, "AlreadyExists"),
        "get" if e < 500 => (q.code, q.reason) = (404, "NotFound"),
        _ if e < 2 => (q.code, q.reason) = (429, ""),
        _ if e < 4 => (q.code, q.reason) = (500, "InternalError"),
        _ => {}
    }
}

//! kube-controller-manager's controllers and the operators of the background, each with its
//! own weight (requests per second × 10 at the default rate).

use crate::timefmt::Micros;

use super::super::req::{Req, sa};
use super::super::rng::Rng;

/// A kube-controller-manager controller's call: ((controller, userAgent), verb, group,
/// resource, sub).
type Call = (
    (&'static str, &'static str),
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// A controller's name and the userAgent its client sends.
macro_rules! kcm {
    ($ctrl:literal) => {
        (
            $ctrl,
            concat!(
                "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:",
                $ctrl
            ),
        )
    };
}

const CONTROLLERS: &[(u64, Call)] = &[
    (
        60,
        (
            kcm!("replicaset-controller"),
            "update",
            "apps",
            "replicasets",
            "status",
        ),
    ),
    (
        60,
        (
            kcm!("endpointslice-controller"),
            "update",
            "discovery.k8s.io",
            "endpointslices",
            "",
        ),
    ),
    (
        10,
        (
            kcm!("endpointslice-controller"),
            "create",
            "discovery.k8s.io",
            "endpointslices",
            "",
        ),
    ),
    (
        30,
        (
            kcm!("deployment-controller"),
            "update",
            "apps",
            "deployments",
            "status",
        ),
    ),
    (
        10,
        (
            kcm!("generic-garbage-collector"),
            "list",
            "apps",
            "replicasets",
            "",
        ),
    ),
    (
        20,
        (kcm!("job-controller"), "update", "batch", "jobs", "status"),
    ),
    (
        3,
        (kcm!("node-lifecycle-controller"), "list", "", "pods", ""),
    ),
];

/// One controller request (the userAgent names the controller, as kube-controller-manager's
/// per-controller clients do).
pub(super) fn controller<'a>(r: &mut Rng, ns: String) -> Req<'a> {
    let ((ctrl, ua), verb, group, res, sub) = *r.weighted(CONTROLLERS);
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
    Req {
        verb,
        group,
        version: "v1",
        resource: res,
        sub,
        ns,
        name,
        user: sa("kube-system", ctrl),
        ua,
        latency: r.latency_us(if verb == "list" { 25.0 } else { 8.0 }),
        ..Req::default()
    }
}

/// An operator's calls on its custom resources: (userAgent, service account, group,
/// resource, verbs).
type OperatorCalls = (
    &'static str,
    (&'static str, &'static str),
    &'static str,
    &'static str,
    &'static [&'static str],
);

const OPERATORS: &[(u64, OperatorCalls)] = &[
    (
        50,
        (
            "cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f05d3e0",
            ("cert-manager", "cert-manager"),
            "cert-manager.io",
            "certificates",
            &["get", "get", "update", "list"],
        ),
    ),
    (
        50,
        (
            "cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f05d3e0",
            ("cert-manager", "cert-manager"),
            "cert-manager.io",
            "certificaterequests",
            &["get", "create", "delete"],
        ),
    ),
    (
        160,
        (
            "argocd-application-controller/v2.11.3 (linux/amd64) kubernetes/1e5e9e8",
            ("argocd", "argocd-application-controller"),
            "argoproj.io",
            "applications",
            &["get", "get", "get", "patch", "list"],
        ),
    ),
    (
        30,
        (
            "karpenter/v0.37.0",
            ("kube-system", "karpenter"),
            "karpenter.sh",
            "nodeclaims",
            &["get", "get", "get", "patch"],
        ),
    ),
    (
        120,
        (
            "kyverno/v1.12.0 (linux/amd64) kubernetes/abc123",
            ("kyverno", "kyverno-admission-controller"),
            "kyverno.io",
            "clusterpolicies",
            &["get"],
        ),
    ),
    (
        30,
        (
            "aws-load-balancer-controller/v2.8.1 (linux/amd64) kubernetes/$Format",
            ("kube-system", "aws-load-balancer-controller"),
            "elbv2.k8s.aws",
            "targetgroupbindings",
            &["get", "get", "update"],
        ),
    ),
];

/// One operator request on its custom resources.
pub(super) fn operator<'a>(r: &mut Rng, ns: String) -> Req<'a> {
    let (ua, (sa_ns, sa_name), group, res, verbs) = *r.weighted(OPERATORS);
    // Informers relist and rewatch now and then; the rest is the reconcilers' own calls.
    let verb = match r.below(400) {
        0 => "watch",
        1..=4 => "list",
        _ => *r.pick(verbs),
    };
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
    Req {
        verb,
        group,
        version,
        resource: res,
        sub,
        ns: if cluster { String::new() } else { ns },
        name,
        user: sa(sa_ns, sa_name),
        ua,
        latency: if verb == "watch" {
            300_000_000 + r.below(300_000_000) as Micros
        } else {
            r.latency_us(if verb == "list" { 30.0 } else { 6.0 })
        },
        ..Req::default()
    }
}

//! Synthetic audit logs: a seeded generator of realistic EKS-style Metadata-level events for
//! tests, benchmarks and demos. The cluster has kubelets (node leases, status patches, pod and
//! secret reads, watches), the scheduler (bindings), kube-controller-manager controllers,
//! operators with CRDs (cert-manager, Argo CD, Karpenter, Kyverno, the AWS load balancer
//! controller), LIST-heavy monitoring, humans with kubectl, and a trickle of errors (409
//! conflicts and AlreadyExists, 404, 429, 5xx). The same seed and size give the same bytes.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::timefmt::{Micros, format_rfc3339, parse_rfc3339};

mod bodies;

/// Generator settings.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Stop after about this many bytes.
    pub bytes: u64,
    /// Seed.
    pub seed: u64,
    /// Kubelets.
    pub nodes: u32,
    /// Time of the first event.
    pub start: Micros,
    /// Mean requests per second of the cluster.
    pub rate: f64,
    /// Problems to plant in the background traffic.
    pub plants: Vec<Plant>,
    /// Log writes to built-in groups at RequestResponse level with whole bodies (EKS' policy).
    pub bodies: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            bytes: 10_000_000,
            seed: 1,
            nodes: 50,
            start: parse_rfc3339("2024-05-01T10:00:00Z").unwrap_or(0),
            rate: 300.0,
            plants: Vec::new(),
            bodies: false,
        }
    }
}

/// xorshift64*: small, fast, and enough for synthetic traffic.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// A log-normal-ish latency around `median_ms`, in µs.
    pub fn latency_us(&mut self, median_ms: f64) -> Micros {
        let z: f64 = (0..4).map(|_| self.f64()).sum::<f64>() - 2.0; // ~N(0, 0.58)
        (median_ms * 1000.0 * (z * 1.2).exp()) as Micros
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// A problem planted in the traffic, one per detection rule, each by its own client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Plant {
    /// `loop-operator` updates `configmaps team-a/app-state` once a second (AS201).
    ReconcileLoop,
    /// `config-syncer` sends updates that change nothing, RequestResponse level (AS202).
    NoopUpdates,
    /// `bulk-writer` patches 3 configmaps a second across 500 objects (AS203).
    WriteHeavy,
    /// `report-exporter` LISTs every pod from etcd every 5 s (AS101).
    ExpensiveList,
    /// `flaky-informer` watches secrets for 20 s of its 540 s and relists (AS102).
    RelistStorm,
    /// `sync-operator` updates `configmaps team-b/shared-config`; half are 409 Conflict (AS204).
    ConflictStorm,
    /// Argo CD and Flux both patch `deployments.apps team-c/web` (AS205).
    FightingWriters,
    /// `ci-deployer` GETs pods and a third are answered 429 (AS301).
    Throttled,
    /// `batch-sync` runs flat at client-go's 5 requests/s (AS302).
    ClientThrottling,
    /// `cfg-watcher` GETs the missing `configmaps team-x/feature-flags` every second (AS303).
    MissingObject,
    /// `slow-writer` creates configmaps that take 2–3 s (AS501).
    SlowRequests,
    /// `legacy-tool` calls `policy/v1beta1 poddisruptionbudgets` (AS401).
    DeprecatedApi,
    /// Pod creates wait ~2 s on the `validate.policy-agent.io` webhook; a fifth fail closed (AS502).
    SlowWebhook,
}

impl Plant {
    /// Seconds between two of its requests.
    fn period_s(self) -> f64 {
        match self {
            Self::ReconcileLoop | Self::Throttled | Self::MissingObject => 1.0,
            Self::NoopUpdates => 2.0,
            Self::WriteHeavy => 1.0 / 3.0,
            Self::ExpensiveList => 5.0,
            Self::RelistStorm => 10.0,
            Self::ConflictStorm => 3.0,
            Self::FightingWriters => 7.5,
            Self::ClientThrottling => 1.0 / 4.95,
            Self::SlowRequests => 5.0,
            Self::DeprecatedApi => 30.0,
            Self::SlowWebhook => 4.0,
        }
    }

    /// Its `n`-th request.
    fn request(self, r: &mut Rng, n: u64) -> Req<'static> {
        let base = Req::default();
        let sa_of = |ns: &str, name: &str| sa(ns, name);
        let mut q = match self {
            Self::ReconcileLoop => Req {
                verb: "update",
                resource: "configmaps",
                ns: "team-a".into(),
                name: "app-state".into(),
                user: sa_of("team-a", "loop-operator"),
                ua: "loop-operator/v0.3.1 (linux/amd64) kubernetes/$Format",
                latency: r.latency_us(8.0),
                ..base
            },
            Self::NoopUpdates => {
                let rv = 5000 + n;
                Req {
                    verb: "update",
                    resource: "configmaps",
                    ns: "team-n".into(),
                    name: format!("cfg-{}", n % 40),
                    user: sa_of("team-n", "config-syncer"),
                    ua: "config-syncer/v1.2.0",
                    level: "RequestResponse",
                    bodies: Some((rv, rv)),
                    latency: r.latency_us(6.0),
                    ..base
                }
            }
            Self::WriteHeavy => Req {
                verb: "patch",
                resource: "configmaps",
                ns: "data".into(),
                name: format!("batch-{}", n % 500),
                user: sa_of("data", "bulk-writer"),
                ua: "bulk-writer/v2.0.0",
                latency: r.latency_us(9.0),
                ..base
            },
            Self::ExpensiveList => Req {
                verb: "list",
                resource: "pods",
                user: sa_of("reporting", "exporter"),
                ua: "report-exporter/v1.0.0",
                latency: r.latency_us(900.0),
                ..base
            },
            Self::RelistStorm => {
                if n.is_multiple_of(2) {
                    Req {
                        verb: "watch",
                        resource: "secrets",
                        ns: "edge".into(),
                        user: sa_of("edge", "flaky"),
                        ua: "flaky-informer/v2.1.0",
                        latency: 20_000_000,
                        ..base
                    }
                } else {
                    Req {
                        verb: "list",
                        resource: "secrets",
                        ns: "edge".into(),
                        user: sa_of("edge", "flaky"),
                        ua: "flaky-informer/v2.1.0",
                        latency: r.latency_us(15.0),
                        ..base
                    }
                }
            }
            Self::ConflictStorm => {
                let conflict = n.is_multiple_of(2);
                Req {
                    verb: "update",
                    resource: "configmaps",
                    ns: "team-b".into(),
                    name: "shared-config".into(),
                    user: sa_of("team-b", "sync-operator"),
                    ua: "sync-operator/v1.0.0",
                    code: if conflict { 409 } else { 200 },
                    reason: if conflict { "Conflict" } else { "" },
                    latency: r.latency_us(7.0),
                    ..base
                }
            }
            Self::FightingWriters => {
                let (ua, ns, name) = if n.is_multiple_of(2) {
                    (
                        "argocd-application-controller/v2.11.3 (linux/amd64) kubernetes/1e5e9e8",
                        "argocd",
                        "argocd-application-controller",
                    )
                } else {
                    (
                        "kustomize-controller/v1.3.0",
                        "flux-system",
                        "kustomize-controller",
                    )
                };
                Req {
                    verb: "patch",
                    group: "apps",
                    resource: "deployments",
                    ns: "team-c".into(),
                    name: "web".into(),
                    user: sa_of(ns, name),
                    ua,
                    latency: r.latency_us(10.0),
                    ..base
                }
            }
            Self::Throttled => {
                let throttled = n.is_multiple_of(3);
                Req {
                    verb: "get",
                    resource: "pods",
                    ns: "ci".into(),
                    name: format!("job-{}", n % 20),
                    user: sa_of("ci", "deployer"),
                    ua: "ci-deployer/v1.0.0",
                    code: if throttled { 429 } else { 200 },
                    reason: if throttled { "TooManyRequests" } else { "" },
                    latency: r.latency_us(3.0),
                    ..base
                }
            }
            Self::ClientThrottling => Req {
                verb: "get",
                resource: "configmaps",
                ns: "jobs".into(),
                name: format!("job-{}", n % 100),
                user: sa_of("jobs", "batch-sync"),
                ua: "batch-sync/v0.9.0",
                latency: r.latency_us(2.0),
                ..base
            },
            Self::MissingObject => Req {
                verb: "get",
                resource: "configmaps",
                ns: "team-x".into(),
                name: "feature-flags".into(),
                user: sa_of("team-x", "cfg-watcher"),
                ua: "cfg-watcher/v1.0.0",
                code: 404,
                reason: "NotFound",
                latency: r.latency_us(2.0),
                ..base
            },
            Self::SlowRequests => Req {
                verb: "create",
                resource: "configmaps",
                ns: "team-s".into(),
                name: format!("report-{n}"),
                user: sa_of("team-s", "slow-writer"),
                ua: "slow-writer/v1.0.0",
                latency: 2_000_000 + r.below(1_000_000) as Micros,
                ..base
            },
            Self::SlowWebhook => {
                let refused = n.is_multiple_of(5);
                Req {
                    verb: "create",
                    resource: "pods",
                    ns: "web".into(),
                    name: format!("web-{n}"),
                    user: sa_of("kube-system", "replicaset-controller"),
                    ua: "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/system:serviceaccount:kube-system:replicaset-controller",
                    code: if refused { 500 } else { 201 },
                    reason: if refused { "InternalError" } else { "" },
                    message: if refused {
                        r#"Internal error occurred: failed calling webhook \"validate.policy-agent.io\": context deadline exceeded"#
                    } else {
                        ""
                    },
                    annotations: r#""mutation.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"policy-agent\",\"webhook\":\"validate.policy-agent.io\",\"mutated\":false}","apiserver.latency.k8s.io/mutating-webhook":"1.9s""#,
                    latency: 2_000_000 + r.below(200_000) as Micros,
                    ..base
                }
            }
            Self::DeprecatedApi => Req {
                verb: "get",
                group: "policy",
                version: "v1beta1",
                resource: "poddisruptionbudgets",
                ns: "ops".into(),
                name: "web".into(),
                user: sa_of("ops", "legacy"),
                ua: "legacy-tool/v0.9.0",
                annotations: r#""k8s.io/deprecated":"true","k8s.io/removed-release":"1.25""#,
                latency: r.latency_us(3.0),
                ..base
            },
        };
        q.uri = path(q.group, q.version, &q.ns, q.resource, &q.name, q.sub);
        match q.verb {
            "watch" => q.uri.push_str("?allowWatchBookmarks=true&resourceVersion=12345&timeout=9m0s&timeoutSeconds=540&watch=true"),
            "list" if self == Self::RelistStorm => q.uri.push_str("?resourceVersion=0"),
            _ => {}
        }
        q
    }
}

/// One synthetic request.
struct Req<'a> {
    verb: &'a str,
    uri: String,
    user: String,
    groups: &'a str,
    ua: &'a str,
    group: &'a str,
    version: &'a str,
    resource: &'a str,
    sub: &'a str,
    ns: String,
    name: String,
    code: u16,
    reason: &'a str,
    latency: Micros,
    level: &'a str,
    /// resourceVersions of the request and response bodies (RequestResponse level).
    bodies: Option<(u64, u64)>,
    /// Extra annotation members, JSON (`"k8s.io/deprecated":"true"`).
    annotations: &'a str,
    /// Status message (JSON-escaped), if not the default.
    message: &'a str,
    /// Whole objects as bodies (`--bodies`), on success.
    full_bodies: bool,
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

const NAMESPACES: &[&str] = &[
    "default", "payments", "checkout", "search", "web", "batch", "data", "ml",
];
const KUBELET_UA: &str = "kubelet/v1.29.3 (linux/amd64) kubernetes/6813625";

fn node(i: u64) -> String {
    format!("ip-10-0-{}-{}.ec2.internal", i / 250, i % 250 + 1)
}

fn sa(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

fn path(group: &str, version: &str, ns: &str, resource: &str, name: &str, sub: &str) -> String {
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

#[allow(clippy::too_many_lines)]
fn request<'a>(r: &mut Rng, nodes: u64) -> Req<'a> {
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
fn log_bodies(q: &mut Req) {
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

fn uuid(r: &mut Rng) -> String {
    let (a, b) = (r.next_u64(), r.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// Writes one event line.
fn write_event(
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
        if q.code >= 400 {
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
fn micros6(t: Micros) -> String {
    let s = format_rfc3339(t - t.rem_euclid(1_000_000));
    format!(
        "{}.{:06}Z",
        s.trim_end_matches('Z'),
        t.rem_euclid(1_000_000)
    )
}

/// Writes events until about `cfg.bytes` bytes; returns (events, requests).
///
/// # Errors
/// Writing fails.
pub fn generate(cfg: &SynthConfig, out: &mut impl Write) -> io::Result<(u64, u64)> {
    let mut r = Rng::new(cfg.seed);
    let mut now = cfg.start;
    let (mut bytes, mut events, mut requests) = (0u64, 0u64, 0u64);
    let mut line = String::with_capacity(2048);
    let step = (1e6 / cfg.rate) as u64;
    let mut planted: Vec<(Plant, Micros, u64)> =
        cfg.plants.iter().map(|p| (*p, cfg.start, 0)).collect();
    while bytes < cfg.bytes {
        now += (r.below(2 * step.max(1)) + 1) as Micros;
        for (plant, next, n) in &mut planted {
            while *next <= now {
                let mut q = plant.request(&mut r, *n);
                if cfg.bodies {
                    log_bodies(&mut q);
                }
                let id = uuid(&mut r);
                line.clear();
                if q.verb == "watch" {
                    write_event(
                        &mut line,
                        &mut r,
                        &q,
                        "ResponseStarted",
                        *next - q.latency,
                        *next - q.latency + 2_000,
                        &id,
                    );
                    events += 1;
                }
                write_event(
                    &mut line,
                    &mut r,
                    &q,
                    "ResponseComplete",
                    *next - q.latency,
                    *next,
                    &id,
                );
                events += 1;
                requests += 1;
                out.write_all(line.as_bytes())?;
                bytes += line.len() as u64;
                *next += (plant.period_s() * 1e6) as Micros;
                *n += 1;
            }
        }
        let mut q = request(&mut r, u64::from(cfg.nodes.max(1)));
        if cfg.bodies {
            log_bodies(&mut q);
        }
        let id = uuid(&mut r);
        line.clear();
        if q.verb == "watch" {
            // Long-running: a ResponseStarted event when headers go out, then ResponseComplete.
            write_event(
                &mut line,
                &mut r,
                &q,
                "ResponseStarted",
                now - q.latency,
                now - q.latency + 2_000,
                &id,
            );
            events += 1;
        }
        write_event(
            &mut line,
            &mut r,
            &q,
            "ResponseComplete",
            now - q.latency,
            now,
            &id,
        );
        events += 1;
        requests += 1;
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    Ok((events, requests))
}

/// Parses `10MB`, `1GB`, `512KiB` or a plain byte count.
///
/// # Errors
/// A message quoting the value.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n
        .parse()
        .map_err(|_| format!("invalid size '{s}': e.g. 100MB or 1GB"))?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" | "K" => 1e3,
        "MB" | "M" => 1e6,
        "GB" | "G" => 1e9,
        "KIB" => 1024.0,
        "MIB" => 1_048_576.0,
        "GIB" => 1_073_741_824.0,
        _ => {
            return Err(format!(
                "invalid size unit in '{s}': use KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    Ok((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid_json() {
        let cfg = SynthConfig {
            bytes: 200_000,
            ..SynthConfig::default()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (events, _) = generate(&cfg, &mut a).unwrap();
        generate(&cfg, &mut b).unwrap();
        assert_eq!(a, b);
        let mut n = 0;
        for line in a.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert_eq!(v["kind"], "Event");
            n += 1;
        }
        assert_eq!(n, events);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert!(parse_size("ten").is_err());
    }
}

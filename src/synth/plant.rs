//! Planted problems: one client per detection rule, sending its pattern on a fixed period.

use crate::timefmt::{Micros, parse_duration};

use super::req::{Req, path, sa};
use super::rng::Rng;

/// A problem planted in the traffic, one per detection rule, each by its own client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Plant {
    /// `loop-operator` updates `configmaps team-a/app-state` once a second (AS201).
    ReconcileLoop,
    /// `config-syncer` sends updates that change nothing, RequestResponse level (AS202).
    NoopUpdates,
    /// `bulk-writer` patches 16 configmaps a second across 500 objects, about a third of the
    /// cluster's writes at the default rate (AS203).
    WriteHeavy,
    /// `report-exporter` LISTs every pod from etcd every 5 s (AS101).
    ExpensiveList,
    /// `flaky-informer` watches secrets for 20 s of its 540 s and relists (AS102).
    RelistStorm,
    /// `sync-operator` updates `configmaps team-b/shared-config`; half are 409 Conflict (AS204).
    ConflictStorm,
    /// Argo CD and Flux both patch `deployments.apps team-c/web` (AS205).
    FightingWriters,
    /// `ci-deployer` GETs pods and API Priority and Fairness rejects a third: 429 without a
    /// reason, as the filter answers (AS301).
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
    pub(super) fn period_s(self) -> f64 {
        match self {
            Self::ReconcileLoop | Self::Throttled | Self::MissingObject => 1.0,
            Self::NoopUpdates => 2.0,
            Self::WriteHeavy => 1.0 / 16.0,
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
    pub(super) fn request(self, r: &mut Rng, n: u64) -> Req<'static> {
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

/// A plant active in a window of the log: from `from` after the log's start, for `length`
/// (to the end of the log when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedPlant {
    /// What is planted.
    pub plant: Plant,
    /// Start, after the log's first event.
    pub from: Micros,
    /// How long it lasts.
    pub length: Option<Micros>,
}

/// Parses a `--plant` value: `NAME`, `NAME@START` or `NAME@START+LENGTH`, with START and
/// LENGTH durations (`reconcile-loop@2h+20m`: from 2 h into the log, for 20 minutes).
///
/// # Errors
/// A message quoting the bad part.
pub fn parse_plant(s: &str) -> Result<TimedPlant, String> {
    let (name, window) = s.split_once('@').unwrap_or((s, ""));
    let plant = <Plant as clap::ValueEnum>::from_str(name, true).map_err(|_| {
        let names: Vec<String> = <Plant as clap::ValueEnum>::value_variants()
            .iter()
            .filter_map(clap::ValueEnum::to_possible_value)
            .map(|v| v.get_name().to_owned())
            .collect();
        format!("unknown plant '{name}': use one of {}", names.join(", "))
    })?;
    if window.is_empty() {
        return Ok(TimedPlant {
            plant,
            from: 0,
            length: None,
        });
    }
    let (from, length) = window.split_once('+').unwrap_or((window, ""));
    let bad = |e: crate::timefmt::DurationError| {
        format!("invalid window in '{s}': {e}; e.g. {name}@2h+20m")
    };
    let from = parse_duration(from).map_err(bad)?;
    let length = if length.is_empty() {
        None
    } else {
        Some(parse_duration(length).map_err(bad)?)
    };
    Ok(TimedPlant {
        plant,
        from,
        length,
    })
}

/// The plants of a log, each with its next request time, count and window end.
pub(super) struct Schedule {
    plants: Vec<(Plant, Micros, u64, Micros)>,
}

impl Schedule {
    /// The whole-log and timed plants of `cfg`.
    pub(super) fn new(cfg: &super::SynthConfig) -> Self {
        let whole = cfg.plants.iter().map(|p| TimedPlant {
            plant: *p,
            from: 0,
            length: None,
        });
        let plants = whole
            .chain(cfg.timed_plants.iter().copied())
            .map(|t| {
                let start = cfg.start + t.from;
                let end = t.length.map_or(Micros::MAX, |l| start + l);
                (t.plant, start, 0, end)
            })
            .collect();
        Self { plants }
    }

    /// A planted request due at or before `now` (completion time, request), if any.
    pub(super) fn next_due(&mut self, r: &mut Rng, now: Micros) -> Option<(Micros, Req<'static>)> {
        let (plant, next, n, _) = self
            .plants
            .iter_mut()
            .find(|(_, next, _, end)| *next <= now && *next < *end)?;
        let due = (*plant, *next, *n);
        *next += (plant.period_s() * 1e6) as Micros;
        *n += 1;
        Some((due.1, due.0.request(r, due.2)))
    }
}

//! Heartbeats: the writes a cluster makes on a clock, whatever else it does. Each is sent at
//! its upstream default period, so `--rate` never squeezes them (the background fills the
//! rest of the rate):
//! - kubelet renews its node Lease every 10 s: `nodeLeaseDurationSeconds` defaults to 40 and
//!   the renew interval is a quarter of it (`pkg/kubelet/nodelease`, `renewIntervalFraction`
//!   0.25);
//! - kubelet patches `nodes/status` every 5 min when nothing changed and node leases are on
//!   (`nodeStatusReportFrequency` default 5m; it checks every `nodeStatusUpdateFrequency`,
//!   10 s, but writes only on change or after that report period);
//! - a leader renews its election Lease every 2 s (client-go `leaderelection` `RetryPeriod`:
//!   2 s in kube-scheduler's and kube-controller-manager's `--leader-elect-retry-period`
//!   default and in controller-runtime's manager defaults).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::timefmt::Micros;

use super::req::{KUBELET_UA, Req, node, path};
use super::rng::Rng;

/// kubelet node Lease renew interval.
const NODE_LEASE_PERIOD_US: Micros = 10_000_000;
/// kubelet `nodeStatusReportFrequency`.
const NODE_STATUS_PERIOD_US: Micros = 300_000_000;
/// Leader-election `RetryPeriod`.
const LEADER_PERIOD_US: Micros = 2_000_000;

/// A leader-elected component: its Lease (namespace, name), user and userAgent.
struct Leader {
    ns: &'static str,
    lease: &'static str,
    user: &'static str,
    ua: &'static str,
}

/// The components that hold a leader Lease: the control plane and the operators of the
/// background (all with controller-runtime's or client-go's defaults).
const LEADERS: &[Leader] = &[
    Leader {
        ns: "kube-system",
        lease: "kube-scheduler",
        user: "system:kube-scheduler",
        ua: "kube-scheduler/v1.29.3 (linux/amd64) kubernetes/6813625/leader-election",
    },
    Leader {
        ns: "kube-system",
        lease: "kube-controller-manager",
        user: "system:kube-controller-manager",
        ua: "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/leader-election",
    },
    Leader {
        ns: "kube-system",
        lease: "cert-manager-controller",
        user: "system:serviceaccount:cert-manager:cert-manager",
        ua: "cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f05d3e0",
    },
    Leader {
        ns: "kube-system",
        lease: "karpenter-leader-election",
        user: "system:serviceaccount:kube-system:karpenter",
        ua: "karpenter/v0.37.0",
    },
    Leader {
        ns: "kube-system",
        lease: "aws-load-balancer-controller-leader",
        user: "system:serviceaccount:kube-system:aws-load-balancer-controller",
        ua: "aws-load-balancer-controller/v2.8.1 (linux/amd64) kubernetes/$Format",
    },
    Leader {
        ns: "kyverno",
        lease: "kyverno",
        user: "system:serviceaccount:kyverno:kyverno-admission-controller",
        ua: "kyverno/v1.12.0 (linux/amd64) kubernetes/abc123",
    },
];

/// One heartbeat stream.
#[derive(Debug, Clone, Copy)]
enum Beat {
    NodeLease(u64),
    NodeStatus(u64),
    LeaderLease(usize),
}

impl Beat {
    fn period(self) -> Micros {
        match self {
            Self::NodeLease(_) => NODE_LEASE_PERIOD_US,
            Self::NodeStatus(_) => NODE_STATUS_PERIOD_US,
            Self::LeaderLease(_) => LEADER_PERIOD_US,
        }
    }

    fn request(self, r: &mut Rng) -> Req<'static> {
        let q = match self {
            Self::NodeLease(i) => Req {
                verb: "update",
                group: "coordination.k8s.io",
                resource: "leases",
                ns: "kube-node-lease".into(),
                latency: r.latency_us(6.0),
                ..kubelet(i)
            },
            Self::NodeStatus(i) => Req {
                verb: "patch",
                resource: "nodes",
                sub: "status",
                latency: r.latency_us(9.0),
                ..kubelet(i)
            },
            Self::LeaderLease(i) => {
                let l = &LEADERS[i];
                let groups = if l.user.starts_with("system:serviceaccount:") {
                    r#"["system:serviceaccounts","system:authenticated"]"#
                } else {
                    r#"["system:authenticated"]"#
                };
                Req {
                    verb: "update",
                    group: "coordination.k8s.io",
                    resource: "leases",
                    ns: l.ns.into(),
                    name: l.lease.into(),
                    user: l.user.into(),
                    groups,
                    ua: l.ua,
                    latency: r.latency_us(5.0),
                    ..Req::default()
                }
            }
        };
        Req {
            uri: path(q.group, q.version, &q.ns, q.resource, &q.name, q.sub),
            ..q
        }
    }
}

/// Heartbeat requests per second of a cluster of `nodes` kubelets.
#[must_use]
pub(super) fn rate(nodes: u64) -> f64 {
    let per_s = |period: Micros| 1e6 / period as f64;
    nodes as f64 * (per_s(NODE_LEASE_PERIOD_US) + per_s(NODE_STATUS_PERIOD_US))
        + LEADERS.len() as f64 * per_s(LEADER_PERIOD_US)
}

/// Every heartbeat stream of the cluster, soonest first.
pub(super) struct Heartbeats {
    due: BinaryHeap<Reverse<(Micros, usize)>>,
    beats: Vec<Beat>,
}

impl Heartbeats {
    /// The streams of `nodes` kubelets and (with `leaders`) the leaders, each at a random
    /// phase of its period from `start` (kubelets do not start in step).
    pub(super) fn new(r: &mut Rng, nodes: u64, start: Micros, leaders: bool) -> Self {
        let leaders = if leaders { LEADERS.len() } else { 0 };
        let beats: Vec<Beat> = (0..nodes)
            .flat_map(|i| [Beat::NodeLease(i), Beat::NodeStatus(i)])
            .chain((0..leaders).map(Beat::LeaderLease))
            .collect();
        let due = beats
            .iter()
            .enumerate()
            .map(|(i, b)| Reverse((start + r.below(b.period() as u64) as Micros, i)))
            .collect();
        Self { due, beats }
    }

    /// The next heartbeat due at or before `now`, as (completion time, request), and its
    /// stream rescheduled one period (plus a few ms of work) later.
    pub(super) fn next_due(&mut self, r: &mut Rng, now: Micros) -> Option<(Micros, Req<'static>)> {
        let Reverse((at, i)) = *self.due.peek()?;
        if at > now {
            return None;
        }
        self.due.pop();
        let beat = self.beats[i];
        let jitter = r.below(5_000) as Micros;
        self.due.push(Reverse((at + beat.period() + jitter, i)));
        Some((at, beat.request(r)))
    }
}

/// Node `i`'s kubelet writing its own object: the object's name, user, groups and userAgent.
fn kubelet(i: u64) -> Req<'static> {
    let n = node(i);
    Req {
        user: format!("system:node:{n}"),
        name: n,
        groups: r#"["system:nodes","system:authenticated"]"#,
        ua: KUBELET_UA,
        ..Req::default()
    }
}

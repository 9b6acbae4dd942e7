//! Aggregate: the cluster scope — what every request in the window adds, whatever the filters
//! (`--client`, `--verb` …) keep. A filtered scan audits its selection against these: the span,
//! the server version, coverage counts, per-minute totals (health and sizing), SLO windows, pod
//! bindings, each client's requests and seat time, and successful writes per resource (the
//! totals shares are taken of). Keys are minutes, resources and clients, never objects or
//! userAgents, so the cluster scope costs a filtered scan little memory.

use rustc_hash::FxHashMap;

use super::health::{HealthAcc, SLO_WINDOW_US};
use super::ids::{ClientId, ResourceId};
use super::sketch::Span;
use super::tables::{MinuteTotals, merge_map};
use crate::timefmt::{MINUTE_US, Micros};

/// One client's share of the cluster.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterClient {
    /// Requests in the window.
    pub requests: u64,
    /// APF seat-µs held (see `model::cost`).
    pub seat_us: u64,
}

impl super::tables::Merge for ClusterClient {
    fn merge_with(&mut self, o: &Self, _remap: &[u32]) {
        self.requests += o.requests;
        self.seat_us += o.seat_us;
    }
}

/// What the tables need of one request, computed once: the cluster scope, the selection and
/// each table of [`super::Aggregates`] observe these.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts {
    /// Event time, if any.
    pub time: Option<Micros>,
    /// Its stage time (completion), else `time`: what the events cover.
    pub covered: Option<Micros>,
    /// `requestReceivedTimestamp`, when present (where seat time starts).
    pub received: Option<Micros>,
    /// A watch (`watch`, or `list?watch=true`).
    pub is_watch: bool,
    /// A LIST that is not a watch.
    pub is_list: bool,
    /// Watch, exec, attach, port-forward, proxy or log follow.
    pub long_running: bool,
    /// A successful, non-dry-run mutation.
    pub is_write: bool,
    /// Status code (a Panic with none is 500).
    pub code: u16,
    /// Audit latency of a short request, if believable.
    pub latency: Option<Micros>,
    /// APF seat-µs it held.
    pub seat_us: u64,
    /// Its SLO class, if it has one (and a latency).
    pub slo_class: Option<u8>,
    /// Over its SLO class threshold.
    pub over_slo: bool,
    /// A successful `pods/binding` create.
    pub binding: bool,
    /// Rejected by API Priority and Fairness: a 429 with no reason. APF runs in the handler
    /// chain before authorization and the API handlers, and rejects with `http.Error` (plain
    /// text), so the audit event carries only the code: kubernetes
    /// `staging/src/k8s.io/apiserver/pkg/server/filters/priority-and-fairness.go`
    /// (`tooManyRequests`), `pkg/endpoints/filters/audit.go` (the audit response writer records
    /// the status code alone when no Status object is written) and `pkg/server/config.go`
    /// (`DefaultBuildHandlerChain` wraps authorization inside APF). A 429 a handler answers (a
    /// PodDisruptionBudget refusing an eviction) is a Status with reason `TooManyRequests`.
    pub apf_rejected: bool,
    /// Sent by a system component.
    pub system: bool,
    /// Its epoch minute, if it has a time.
    pub minute: Option<i64>,
    /// A get, list or watch.
    pub is_read: bool,
    /// Answered with a code ≥ 400.
    pub failed: bool,
    /// Interned client.
    pub client: ClientId,
    /// Interned username.
    pub user: u32,
    /// Interned userAgent (`""` without one).
    pub user_agent: u32,
    /// Interned qualified resource.
    pub resource: ResourceId,
    /// Interned subresource.
    pub subresource: u32,
    /// Interned verb.
    pub verb: u32,
    /// Lacks a userAgent.
    pub no_user_agent: bool,
    /// A successful create of an object (1) or delete (-1), else 0: what the etcd growth
    /// estimate counts.
    pub growth: i8,
    /// The bytes of its `responseObject`, when logged.
    pub response_bytes: Option<u32>,
}

/// Creates and deletes of objects, and the bytes of the objects they returned where the log has
/// them: the etcd growth estimate of `sizing`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrowthAcc {
    /// Successful creates of objects (not subresources).
    pub creates: u64,
    /// Of which with the created object logged.
    pub creates_measured: u64,
    /// Their bytes.
    pub created_bytes: u64,
    /// Successful deletes (and deletecollections).
    pub deletes: u64,
    /// Of which with the deleted object logged.
    pub deletes_measured: u64,
    /// Their bytes.
    pub deleted_bytes: u64,
}

impl GrowthAcc {
    fn observe(&mut self, f: &RequestFacts) {
        let bytes = f.response_bytes.map(u64::from);
        match f.growth {
            1 => {
                self.creates += 1;
                self.creates_measured += u64::from(bytes.is_some());
                self.created_bytes += bytes.unwrap_or(0);
            }
            -1 => {
                self.deletes += 1;
                self.deletes_measured += u64::from(bytes.is_some());
                self.deleted_bytes += bytes.unwrap_or(0);
            }
            _ => {}
        }
    }

    fn merge(&mut self, o: &Self) {
        self.creates += o.creates;
        self.creates_measured += o.creates_measured;
        self.created_bytes += o.created_bytes;
        self.deletes += o.deletes;
        self.deletes_measured += o.deletes_measured;
        self.deleted_bytes += o.deleted_bytes;
    }
}

/// The cluster scope's tables.
#[derive(Debug, Clone, Default)]
pub struct ClusterAcc {
    /// Requests in the window.
    pub requests: u64,
    /// Requests with no time at all.
    pub untimed: u64,
    /// Requests logged without a userAgent.
    pub no_user_agent: u64,
    /// Short requests without both timestamps, so without a latency.
    pub no_latency: u64,
    /// Time span of the requests.
    pub span: Span,
    /// What the requests cover, from their stage times: the report's span.
    pub covered: Span,
    /// Highest kube-apiserver / kube-controller-manager version seen: (major, minor).
    pub server_version: Option<(u32, u32)>,
    /// All requests per epoch minute.
    pub minutes: FxHashMap<i64, MinuteTotals>,
    /// SLO windows and pod bindings.
    pub health: HealthAcc,
    /// Requests and seat time per client.
    pub clients: FxHashMap<ClientId, ClusterClient>,
    /// Successful writes per resource × subresource.
    pub writes: FxHashMap<(ResourceId, u32), u64>,
    /// Creates and deletes, with their objects' bytes.
    pub growth: GrowthAcc,
}

impl ClusterAcc {
    /// Folds one request in.
    pub fn observe(&mut self, f: &RequestFacts, version: Option<(u32, u32)>) {
        self.requests += 1;
        self.untimed += u64::from(f.time.is_none());
        self.no_user_agent += u64::from(f.no_user_agent);
        self.no_latency += u64::from(!f.long_running && f.latency.is_none());
        self.span.observe(f.time);
        self.covered.observe(f.covered);
        if version.is_some() {
            self.server_version = self.server_version.max(version);
        }
        let c = self.clients.entry(f.client).or_default();
        c.requests += 1;
        c.seat_us += f.seat_us;
        if f.is_write {
            *self.writes.entry((f.resource, f.subresource)).or_default() += 1;
            self.growth.observe(f);
        }
        let Some(t) = f.time else { return };
        let minute = t.div_euclid(MINUTE_US);
        // The minutes after the first get their seat-time shares before the first is looked up,
        // so the request's own minute is hashed once.
        let own = if f.seat_us == 0 {
            0
        } else {
            let start = f.received.unwrap_or(t);
            let end = start + f.latency.unwrap_or(0);
            if end.div_euclid(MINUTE_US) == minute {
                f.seat_us
            } else {
                self.spill_seats(start, end, f.seat_us)
            }
        };
        let m = self.minutes.entry(minute).or_default();
        m.count(f);
        m.seat_us += own;
        if let Some(class) = f.slo_class {
            let w = self
                .health
                .slo_windows
                .entry((t.div_euclid(SLO_WINDOW_US), f.resource, class))
                .or_default();
            w.0 += 1;
            w.1 += u64::from(f.over_slo);
        }
        if f.binding {
            *self
                .health
                .bindings
                .entry(t.div_euclid(1_000_000))
                .or_default() += 1;
        }
    }

    /// Spreads a request's seat time over the minutes `[start, end]` spans after the first (the
    /// first minute's share was added with the request's other per-minute counts).
    fn spill_seats(&mut self, start: Micros, end: Micros, seat_us: u64) -> u64 {
        let (m0, m1) = (start.div_euclid(MINUTE_US), end.div_euclid(MINUTE_US));
        if m1 <= m0 || end <= start {
            return seat_us;
        }
        let span = (end - start) as f64;
        let first = ((m0 + 1) * MINUTE_US - start) as f64;
        let mut given = (seat_us as f64 * first / span).round() as u64;
        let own = given.min(seat_us);
        for m in m0 + 1..=m1 {
            let (a, b) = ((m * MINUTE_US).max(start), end.min((m + 1) * MINUTE_US));
            let part = if m == m1 {
                seat_us.saturating_sub(given)
            } else {
                ((seat_us as f64 * (b - a) as f64 / span).round() as u64)
                    .min(seat_us.saturating_sub(given))
            };
            given += part;
            self.minutes.entry(m).or_default().seat_us += part;
        }
        own
    }

    /// Merges another worker's cluster scope in (`r` maps its interned ids to ours).
    pub fn merge(&mut self, o: &Self, r: &[u32]) {
        let m = |id: &u32| r[*id as usize];
        self.requests += o.requests;
        self.untimed += o.untimed;
        self.no_user_agent += o.no_user_agent;
        self.no_latency += o.no_latency;
        self.span.merge(o.span);
        self.covered.merge(o.covered);
        self.server_version = self.server_version.max(o.server_version);
        merge_map(&mut self.minutes, &o.minutes, r, |t| *t);
        self.health.merge(&o.health, r);
        merge_map(&mut self.clients, &o.clients, r, |c| c.remap(r));
        merge_map(&mut self.writes, &o.writes, r, |(a, b)| (a.remap(r), m(b)));
        self.growth.merge(&o.growth);
    }

    /// Successful writes in the window.
    #[must_use]
    pub fn write_total(&self) -> u64 {
        self.writes.values().sum()
    }

    /// Seat-µs held in the window.
    #[must_use]
    pub fn seat_total(&self) -> u64 {
        self.clients.values().map(|c| c.seat_us).sum()
    }
}

impl MinuteTotals {
    /// Counts a request in its minute (seat time is spread apart, by the cluster scope).
    pub fn count(&mut self, f: &RequestFacts) {
        self.requests += 1;
        self.writes += u64::from(f.is_write);
        if !f.long_running {
            let hard = f.code >= 500 || f.code == 429;
            self.short += 1;
            self.server_errors += u64::from(f.code >= 500);
            self.throttled += u64::from(f.code == 429);
            self.workload += u64::from(!f.system);
            self.workload_failed += u64::from(!f.system && hard);
        }
        self.apf_rejected += u64::from(f.apf_rejected);
    }
}

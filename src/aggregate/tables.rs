//! Aggregate: the per-key statistics of each table. Every type merges exactly (integer counts,
//! DDSketch bins, min/max spans), so folding chunks on any number of threads gives one answer.

use rustc_hash::FxHashMap;

use super::cluster::RequestFacts;
use super::sketch::{LatencySketch, Samples, Span};
use super::webhooks::Call;
use crate::decode::AuditEvent;
use crate::decode::uri::{Query, RvSemantics};
use crate::timefmt::Micros;

/// Adds `b`'s counters into `a`.
pub(crate) fn add_counts(a: &mut FxHashMap<u32, u64>, b: &FxHashMap<u32, u64>, remap: &[u32]) {
    for (k, v) in b {
        *a.entry(remap[*k as usize]).or_default() += v;
    }
}

/// One row of the LIST table: userAgent × client × resource.
#[derive(Debug, Clone, Default)]
pub struct ListStats {
    /// LIST requests.
    pub count: u64,
    /// Latency of those with both timestamps.
    pub latency: LatencySketch,
    /// Without a namespace.
    pub cluster_scope: u64,
    /// Within one namespace.
    pub namespaced: u64,
    /// Per [`RvSemantics`], indexed by [`rv_index`].
    pub rv: [u64; 6],
    /// Of those, with `limit` > 0 (which sends all but `rv=0` to etcd).
    pub rv_limited: [u64; 6],
    /// With `limit` > 0.
    pub with_limit: u64,
    /// Cluster-scoped ones with `limit` > 0.
    pub cluster_limited: u64,
    /// `continue` pages (also counted in `rv`).
    pub continued: u64,
    /// With a label selector.
    pub label_selector: u64,
    /// With a field selector.
    pub field_selector: u64,
    /// Answered with a code ≥ 400.
    pub errors: u64,
    /// With an `apiserver.latency.k8s.io/etcd` annotation (logged for slow requests).
    pub etcd_annotated: u64,
    /// Of those, spending at least half of their latency in etcd, per [`RvSemantics`] slot and
    /// with/without `limit` (`[slot][limited]`): the evidence that overrides the inference.
    pub etcd_majority: [[u64; 2]; 6],
    /// Sum of the etcd annotations, µs.
    pub etcd_us: u64,
    /// First and last time.
    pub span: Span,
    /// Sample auditIDs.
    pub samples: Samples,
}

/// The slot of an [`RvSemantics`] in [`ListStats::rv`].
#[must_use]
pub fn rv_index(s: RvSemantics) -> usize {
    match s {
        RvSemantics::Consistent => 0,
        RvSemantics::Any => 1,
        RvSemantics::NotOlderThan => 2,
        RvSemantics::Exact => 3,
        RvSemantics::LegacyExact => 4,
        RvSemantics::Continue => 5,
    }
}

/// The [`RvSemantics`] of each slot of [`ListStats::rv`].
pub const RV_SLOTS: [RvSemantics; 6] = [
    RvSemantics::Consistent,
    RvSemantics::Any,
    RvSemantics::NotOlderThan,
    RvSemantics::Exact,
    RvSemantics::LegacyExact,
    RvSemantics::Continue,
];

impl ListStats {
    /// Counts one LIST.
    pub fn observe(&mut self, f: &RequestFacts, ev: &AuditEvent, q: &Query) {
        self.count += 1;
        if let Some(lat) = f.latency {
            self.latency.add(lat);
        }
        if ev.namespace.is_empty() {
            self.cluster_scope += 1;
        } else {
            self.namespaced += 1;
        }
        let slot = rv_index(q.rv_semantics());
        let limited = q.limit_value().is_some();
        self.rv[slot] += 1;
        self.rv_limited[slot] += u64::from(limited);
        // Evidence beats inference: the etcd annotation says how much of the LIST went to etcd.
        if let Some(etcd) = ev.latency_parts[crate::decode::latency::ETCD] {
            self.etcd_annotated += 1;
            self.etcd_us += u64::try_from(etcd).unwrap_or(0);
            if f.latency.is_some_and(|lat| 2 * etcd >= lat) {
                self.etcd_majority[slot][usize::from(limited)] += 1;
            }
        }
        self.with_limit += u64::from(q.limit_value().is_some());
        self.cluster_limited += u64::from(q.limit_value().is_some() && ev.namespace.is_empty());
        self.continued += u64::from(q.continue_token);
        self.label_selector += u64::from(q.label_selector);
        self.field_selector += u64::from(q.field_selector);
        self.errors += u64::from(f.failed);
        self.span.observe(f.time);
        self.samples.offer(f.time, ev.audit_id);
    }

    /// Merges another row in.
    pub fn merge(&mut self, o: &Self) {
        self.count += o.count;
        self.latency.merge(&o.latency);
        self.cluster_scope += o.cluster_scope;
        self.namespaced += o.namespaced;
        for (a, b) in self.rv.iter_mut().zip(o.rv) {
            *a += b;
        }
        for (a, b) in self.rv_limited.iter_mut().zip(o.rv_limited) {
            *a += b;
        }
        self.with_limit += o.with_limit;
        self.cluster_limited += o.cluster_limited;
        self.continued += o.continued;
        self.label_selector += o.label_selector;
        self.field_selector += o.field_selector;
        self.errors += o.errors;
        self.etcd_annotated += o.etcd_annotated;
        for (a, b) in self.etcd_majority.iter_mut().zip(o.etcd_majority) {
            a[0] += b[0];
            a[1] += b[1];
        }
        self.etcd_us += o.etcd_us;
        self.span.merge(o.span);
        self.samples.merge(&o.samples);
    }
}

/// One client's totals.
#[derive(Debug, Clone, Default)]
pub struct ClientStats {
    /// Requests (final-stage events).
    pub requests: u64,
    /// get, list, watch.
    pub reads: u64,
    /// Successful, non-dry-run mutations.
    pub writes: u64,
    /// Watches (also reads).
    pub watches: u64,
    /// LISTs (also reads).
    pub lists: u64,
    /// Answered with a code ≥ 400.
    pub errors: u64,
    /// Long-running requests (watch, exec, attach, port-forward, proxy, log follow).
    pub long_running: u64,
    /// Seat-µs it held (APF seat time, see `model::cost`).
    pub seat_us: u64,
    /// Requests per username (interned): the nodes behind `kubelet`, the humans behind `kubectl`.
    pub users: FxHashMap<u32, u64>,
    /// Requests per pod (interned) from `authentication.kubernetes.io/pod-name`.
    pub pods: FxHashMap<u32, u64>,
    /// First and last time.
    pub span: Span,
    /// Sample auditIDs.
    pub samples: Samples,
}

impl ClientStats {
    /// Counts one of its requests (`pod`: its interned pod name, if logged).
    pub fn observe(&mut self, f: &RequestFacts, pod: Option<u32>, audit_id: &str) {
        self.seat_us += f.seat_us;
        self.requests += 1;
        self.reads += u64::from(f.is_read);
        self.writes += u64::from(f.is_write);
        self.watches += u64::from(f.is_watch);
        self.lists += u64::from(f.is_list);
        self.errors += u64::from(f.failed);
        self.long_running += u64::from(f.long_running);
        *self.users.entry(f.user).or_default() += 1;
        if let Some(p) = pod {
            *self.pods.entry(p).or_default() += 1;
        }
        self.span.observe(f.time);
        self.samples.offer(f.time, audit_id);
    }

    /// Merges another client's totals in, remapping interned ids.
    pub fn merge(&mut self, o: &Self, remap: &[u32]) {
        self.requests += o.requests;
        self.reads += o.reads;
        self.writes += o.writes;
        self.watches += o.watches;
        self.lists += o.lists;
        self.errors += o.errors;
        self.long_running += o.long_running;
        self.seat_us += o.seat_us;
        add_counts(&mut self.users, &o.users, remap);
        add_counts(&mut self.pods, &o.pods, remap);
        self.span.merge(o.span);
        self.samples.merge(&o.samples);
    }
}

/// Count and latency of a key (CRD calls).
#[derive(Debug, Clone, Default)]
pub struct CallStats {
    /// Requests.
    pub count: u64,
    /// Answered with a code ≥ 400.
    pub errors: u64,
    /// Latency of the short ones.
    pub latency: LatencySketch,
    /// First and last time.
    pub span: Span,
}

impl CallStats {
    /// Counts one call.
    pub fn observe(&mut self, f: &RequestFacts) {
        self.count += 1;
        self.errors += u64::from(f.failed);
        if let Some(l) = f.latency {
            self.latency.add(l);
        }
        self.span.observe(f.time);
    }

    /// Merges another row in.
    pub fn merge(&mut self, o: &Self) {
        self.count += o.count;
        self.errors += o.errors;
        self.latency.merge(&o.latency);
        self.span.merge(o.span);
    }
}

/// Bytes of the bodies logged with writes (Request/RequestResponse level), as the log holds
/// them: measured while the decoder skips them, never parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyBytes {
    /// Writes with a body logged.
    pub writes: u64,
    /// Bytes of their `requestObject`s.
    pub request: u64,
    /// Bytes of their `responseObject`s.
    pub response: u64,
}

impl BodyBytes {
    /// What one event logged.
    #[must_use]
    pub fn of(ev: &crate::decode::AuditEvent) -> Self {
        let (rq, rs) = (ev.request_bytes, ev.response_bytes);
        Self {
            writes: u64::from(rq.is_some() || rs.is_some()),
            request: rq.map_or(0, u64::from),
            response: rs.map_or(0, u64::from),
        }
    }

    /// Adds another count in.
    pub fn add(&mut self, o: Self) {
        self.writes += o.writes;
        self.request += o.request;
        self.response += o.response;
    }
}

/// Successful writes of a client × resource × verb × subresource.
#[derive(Debug, Clone, Default)]
pub struct WriteStats {
    /// Writes.
    pub count: u64,
    /// Updates/patches whose bodies show no change (RequestResponse level only).
    pub noop: u64,
    /// Updates/patches whose bodies were logged, so `noop` could be judged.
    pub judged: u64,
    /// First and last time.
    pub span: Span,
    /// Sample auditIDs of the writes.
    pub samples: Samples,
    /// Sample auditIDs of the no-op writes.
    pub noop_samples: Samples,
    /// Bytes of the bodies logged.
    pub bodies: BodyBytes,
}

impl WriteStats {
    /// Counts one successful write and the bodies it logged; returns whether it was a no-op.
    pub fn observe(&mut self, f: &RequestFacts, ev: &AuditEvent, bodies: BodyBytes) -> bool {
        // A no-op update: the apiserver returned the object at the resourceVersion the client
        // sent, so nothing was written to etcd.
        // Judged only when both bodies carry a resourceVersion (RequestResponse level; patches
        // rarely send one).
        let judged = matches!(ev.verb, "update" | "patch")
            && ev.response_rv.is_some()
            && ev.request_rv.is_some();
        let noop = judged && ev.request_rv == ev.response_rv;
        self.bodies.add(bodies);
        self.count += 1;
        self.judged += u64::from(judged);
        self.noop += u64::from(noop);
        self.span.observe(f.time);
        self.samples.offer(f.time, ev.audit_id);
        if noop {
            self.noop_samples.offer(f.time, ev.audit_id);
        }
        noop
    }

    /// Merges another row in.
    pub fn merge(&mut self, o: &Self) {
        self.bodies.add(o.bodies);
        self.count += o.count;
        self.noop += o.noop;
        self.judged += o.judged;
        self.span.merge(o.span);
        self.samples.merge(&o.samples);
        self.noop_samples.merge(&o.noop_samples);
    }
}

/// Errors of a client × code × reason × verb × resource.
#[derive(Debug, Clone, Default)]
pub struct ErrorStats {
    /// Responses.
    pub count: u64,
    /// First and last time.
    pub span: Span,
    /// Sample auditIDs.
    pub samples: Samples,
}

impl ErrorStats {
    /// Counts one request.
    pub fn observe(&mut self, f: &RequestFacts, audit_id: &str) {
        self.count += 1;
        self.span.observe(f.time);
        self.samples.offer(f.time, audit_id);
    }

    /// Merges another row in.
    pub fn merge(&mut self, o: &Self) {
        self.count += o.count;
        self.span.merge(o.span);
        self.samples.merge(&o.samples);
    }
}

/// Watches of a client × resource, with how long they lasted against what they asked for.
#[derive(Debug, Clone, Default)]
pub struct WatchStats {
    /// Completed watches.
    pub count: u64,
    /// Durations (stageTimestamp − requestReceivedTimestamp).
    pub duration: LatencySketch,
    /// Watches whose URI gave `timeoutSeconds`.
    pub with_timeout: u64,
    /// Of those, with a known duration (both timestamps): the base of `ended_early`.
    pub timed_with_timeout: u64,
    /// Sum of those timeouts, seconds.
    pub timeout_sum_s: u64,
    /// Watches that ended before half of their own `timeoutSeconds`.
    pub ended_early: u64,
    /// Watches with `sendInitialEvents=true` (watch-list: a relist without a LIST).
    pub initial_events: u64,
    /// Answered with a code ≥ 400.
    pub errors: u64,
    /// First and last time.
    pub span: Span,
    /// Sample auditIDs of the watches that ended early.
    pub early_samples: Samples,
}

impl WatchStats {
    /// Counts one watch.
    pub fn observe(&mut self, f: &RequestFacts, ev: &AuditEvent, q: &Query) {
        self.count += 1;
        self.errors += u64::from(f.failed);
        self.initial_events += u64::from(q.send_initial_events);
        self.span.observe(f.time);
        let timeout = q.timeout_seconds.filter(|&t| t > 0);
        if let Some(to) = timeout {
            self.with_timeout += 1;
            self.timeout_sum_s += u64::from(to);
        }
        if let Some(d) = ev.latency_us() {
            self.duration.add(d);
            if let Some(to) = timeout {
                self.timed_with_timeout += 1;
                if ended_early(d, to) {
                    self.ended_early += 1;
                    self.early_samples.offer(f.time, ev.audit_id);
                }
            }
        }
    }

    /// Merges another row in.
    pub fn merge(&mut self, o: &Self) {
        self.count += o.count;
        self.duration.merge(&o.duration);
        self.with_timeout += o.with_timeout;
        self.timed_with_timeout += o.timed_with_timeout;
        self.timeout_sum_s += o.timeout_sum_s;
        self.ended_early += o.ended_early;
        self.initial_events += o.initial_events;
        self.errors += o.errors;
        self.span.merge(o.span);
        self.early_samples.merge(&o.early_samples);
    }
}

/// All requests of one minute, for the success-rate timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteTotals {
    /// Every request.
    pub requests: u64,
    /// Requests that are not long-running (the success-rate base).
    pub short: u64,
    /// Short requests answered 5xx (or a Panic).
    pub server_errors: u64,
    /// Short requests answered 429.
    pub throttled: u64,
    /// Successful writes.
    pub writes: u64,
    /// Short requests from workloads (the rest are system components').
    pub workload: u64,
    /// Of which answered 5xx or 429.
    pub workload_failed: u64,
    /// APF seat-µs in flight in this minute.
    pub seat_us: u64,
    /// Requests API Priority and Fairness rejected (see `RequestFacts::apf_rejected`).
    pub apf_rejected: u64,
}

impl MinuteTotals {
    /// Merges another minute in.
    pub fn merge(&mut self, o: &Self) {
        self.requests += o.requests;
        self.short += o.short;
        self.server_errors += o.server_errors;
        self.throttled += o.throttled;
        self.writes += o.writes;
        self.workload += o.workload;
        self.workload_failed += o.workload_failed;
        self.seat_us += o.seat_us;
        self.apf_rejected += o.apf_rejected;
    }
}

/// Admission webhook calls seen through annotations and status messages.
#[derive(Debug, Clone, Default)]
pub struct WebhookStats {
    /// Requests whose annotations name the webhook.
    pub requests: u64,
    /// Webhook time of slow requests (only those over 500 ms carry the annotation).
    pub latency: LatencySketch,
    /// Failed open (failurePolicy Ignore): the request went on without it.
    pub failed_open: u64,
    /// Failed closed: the request was refused.
    pub failed_closed: u64,
    /// First and last time.
    pub span: Span,
    /// Sample auditIDs.
    pub samples: Samples,
    /// Requests that waited on it (its latency annotation was logged), per client id: the
    /// clients whose slow calls it explains.
    pub victims: FxHashMap<u32, u64>,
}

impl WebhookStats {
    /// Counts one request's call to the webhook.
    pub fn observe(&mut self, call: &Call, f: &RequestFacts, audit_id: &str) {
        self.requests += 1;
        if let Some(l) = call.latency_us {
            self.latency.add(l);
            *self.victims.entry(f.client.into()).or_default() += 1;
        }
        self.failed_open += u64::from(call.failed_open);
        self.failed_closed += u64::from(call.failed_closed);
        self.span.observe(f.time);
        self.samples.offer(f.time, audit_id);
    }

    /// Merges another row in.
    pub fn merge(&mut self, o: &Self, remap: &[u32]) {
        add_counts(&mut self.victims, &o.victims, remap);
        self.requests += o.requests;
        self.latency.merge(&o.latency);
        self.failed_open += o.failed_open;
        self.failed_closed += o.failed_closed;
        self.span.merge(o.span);
        self.samples.merge(&o.samples);
    }
}

/// Where the time of one client × resource × SLO class's annotated requests went: the sums of
/// their `apiserver.latency.k8s.io/*` annotations (logged only for requests over 500 ms).
#[derive(Debug, Clone, Default)]
pub struct LatencyPartsStats {
    /// Requests with at least one latency annotation.
    pub requests: u64,
    /// Their latencies summed, µs.
    pub latency_us: u64,
    /// Each annotation summed, µs, indexed like `decode::latency::LATENCY_PARTS`.
    pub parts_us: [u64; crate::decode::latency::LATENCY_PARTS.len()],
}

impl LatencyPartsStats {
    /// Adds one annotated request of latency `latency_us`.
    pub fn observe(&mut self, ev: &AuditEvent, latency_us: Micros) {
        self.requests += 1;
        self.latency_us += u64::try_from(latency_us).unwrap_or(0);
        for (sum, part) in self.parts_us.iter_mut().zip(ev.latency_parts) {
            *sum += part.map_or(0, |v| u64::try_from(v).unwrap_or(0));
        }
    }

    /// Merges another row in.
    pub fn merge(&mut self, o: &Self) {
        self.requests += o.requests;
        self.latency_us += o.latency_us;
        for (a, b) in self.parts_us.iter_mut().zip(o.parts_us) {
            *a += b;
        }
    }
}

/// Helper so tables can share `merge_map`.
pub trait Merge {
    /// Merges `o` into `self`, remapping interned ids.
    fn merge_with(&mut self, o: &Self, remap: &[u32]);
}

macro_rules! plain_merge {
    ($($t:ty),*) => {$(
        impl Merge for $t {
            fn merge_with(&mut self, o: &Self, _remap: &[u32]) { self.merge(o) }
        }
    )*};
}
plain_merge!(
    ListStats,
    LatencyPartsStats,
    CallStats,
    WriteStats,
    ErrorStats,
    WatchStats,
    MinuteTotals
);

impl Merge for WebhookStats {
    fn merge_with(&mut self, o: &Self, remap: &[u32]) {
        self.merge(o, remap);
    }
}

impl Merge for ClientStats {
    fn merge_with(&mut self, o: &Self, remap: &[u32]) {
        self.merge(o, remap);
    }
}

impl Merge for u64 {
    fn merge_with(&mut self, o: &Self, _remap: &[u32]) {
        *self += o;
    }
}

/// Merges `src` into `dst`, mapping each key with `key`.
pub fn merge_map<K, V, S>(
    dst: &mut std::collections::HashMap<K, V, S>,
    src: &std::collections::HashMap<K, V, S>,
    remap: &[u32],
    key: impl Fn(&K) -> K,
) where
    K: Eq + std::hash::Hash,
    V: Merge + Default,
    S: std::hash::BuildHasher,
{
    for (k, v) in src {
        dst.entry(key(k)).or_default().merge_with(v, remap);
    }
}

/// A duration in µs compared with half a timeout in seconds.
#[must_use]
pub fn ended_early(duration_us: Micros, timeout_s: u32) -> bool {
    duration_us < i64::from(timeout_s) * 500_000
}

//! Aggregate: folds decoded events into mergeable tables. One [`Aggregates`] per rayon worker;
//! they merge at the end (`a.merge(b)`), in any order, to the same result. Memory grows with the
//! number of distinct keys (clients, userAgents, resources, minutes), never with the event count.

pub mod client_minutes;
pub mod cluster;
pub mod filter;
pub mod health;
pub mod ids;
pub mod interner;
pub mod objects;
pub mod ring;
pub mod selection;
pub mod shared_objects;
pub mod sketch;
pub mod summary;
pub mod tables;
pub mod webhooks;

use rustc_hash::FxHashMap;

use crate::decode::client::{UserAgent, client_name};
use crate::decode::uri::Query;
use crate::decode::{AuditEvent, Level, Stage};
use crate::timefmt::{MINUTE_US, Micros};
use client_minutes::ClientMinutes;
use cluster::{ClusterAcc, RequestFacts};
use filter::{FilterView, Filters, Window};
use ids::{ClientId, ResourceId};
use interner::Interner;
use objects::{ObjectTable, ObjectWrite, object_key};
use selection::SelectionAcc;
use shared_objects::ObjectBatch;
use sketch::{LatencySketch, Samples};
use summary::SummaryAcc;
use tables::{CallStats, ClientStats, ErrorStats, ListStats, WatchStats, WriteStats, merge_map};

/// Whether an API group is served by kube-apiserver itself; any other group is a CRD or an
/// aggregated API. A `match` compiles to a length switch, cheaper per event than a list scan.
#[must_use]
pub fn is_builtin_group(group: &str) -> bool {
    matches!(
        group,
        "" | "admissionregistration.k8s.io"
            | "apiextensions.k8s.io"
            | "apiregistration.k8s.io"
            | "apps"
            | "authentication.k8s.io"
            | "authorization.k8s.io"
            | "autoscaling"
            | "batch"
            | "certificates.k8s.io"
            | "coordination.k8s.io"
            | "discovery.k8s.io"
            | "events.k8s.io"
            | "extensions"
            | "flowcontrol.apiserver.k8s.io"
            | "internal.apiserver.k8s.io"
            | "networking.k8s.io"
            | "node.k8s.io"
            | "policy"
            | "rbac.authorization.k8s.io"
            | "resource.k8s.io"
            | "scheduling.k8s.io"
            | "storage.k8s.io"
            | "storagemigration.k8s.io"
    )
}

/// Mutating verbs; a successful, non-dry-run one is an etcd write.
#[must_use]
pub fn is_write_verb(verb: &str) -> bool {
    Verb::of(verb).writes()
}

/// Creates the API server answers without storing anything ("virtual" resources): a
/// TokenRequest (`serviceaccounts/token`) mints a token, and the review resources of
/// `authentication.k8s.io` (TokenReview, SelfSubjectReview) and `authorization.k8s.io`
/// (SubjectAccessReview, SelfSubjectAccessReview, LocalSubjectAccessReview,
/// SelfSubjectRulesReview) compute an answer. Upstream these are `rest.Creater`s with no etcd
/// storage behind them (kubernetes `pkg/registry/core/serviceaccount/storage/token.go`,
/// `pkg/registry/authentication/{tokenreview,selfsubjectreview}`,
/// `pkg/registry/authorization/*review`); any `*reviews` resource of those two groups is taken
/// to be one, as every review there is. They are requests, never etcd writes.
#[must_use]
pub fn is_virtual_create(group: &str, resource: &str, subresource: &str) -> bool {
    (resource == "serviceaccounts" && subresource == "token")
        || (matches!(group, "authentication.k8s.io" | "authorization.k8s.io")
            && resource.ends_with("reviews"))
}

/// Subresources whose requests hold a connection open (besides `log?follow=true`).
#[must_use]
pub fn is_streaming_subresource(sub: &str) -> bool {
    matches!(sub, "exec" | "attach" | "portforward" | "proxy")
}

/// What the aggregation is told about the run.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `--since/--until`.
    pub window: Window,
    /// Request filters.
    pub filters: Filters,
}

/// Key of the LIST table: (userAgent, client, resource), interned.
pub type ListKey = (u32, ClientId, ResourceId);
/// Key of the CRD table: (group, resource, verb, client); the resource is not group-qualified.
pub type CrdKey = (u32, u32, u32, ClientId);
/// Key of the writes table: (client, resource, verb, subresource).
pub type WriteKey = (ClientId, ResourceId, u32, u32);
/// Key of the errors table: (client, code, reason, verb, resource or resource/subresource).
pub type ErrorKey = (ClientId, u16, u32, u32, u32);

/// All tables of one run (or one worker's share of it).
#[derive(Debug, Default)]
pub struct Aggregates {
    /// Interned strings of every table key.
    pub strings: Interner,
    /// Counters.
    pub summary: SummaryAcc,
    /// LISTs per userAgent × client × resource.
    pub lists: FxHashMap<ListKey, ListStats>,
    /// Per-client totals.
    pub clients: FxHashMap<ClientId, ClientStats>,
    /// Requests per (client, epoch minute).
    pub client_minutes: ClientMinutes,
    /// The cluster scope: every request in the window, filters or not.
    pub cluster: ClusterAcc,
    /// What only a filtered scan keeps: its own timeline and which patterns matched.
    pub selection: SelectionAcc,
    /// Calls to non-built-in groups per group × resource × verb × client.
    pub crds: FxHashMap<CrdKey, CallStats>,
    /// Successful writes per client × resource × verb × subresource.
    pub writes: FxHashMap<WriteKey, WriteStats>,
    /// Most-written objects.
    pub objects: ObjectTable,
    /// Where a batch scan's worker queues its object writes for the run's one table
    /// ([`shared_objects`]); `None`: they go to `objects`.
    pub object_batch: Option<ObjectBatch>,
    /// Errors per client × code × reason × verb × resource.
    pub errors: FxHashMap<ErrorKey, ErrorStats>,
    /// Watches per client × resource.
    pub watches: FxHashMap<(ClientId, ResourceId), WatchStats>,
    /// Requests per client × verb × resource × subresource.
    pub calls: FxHashMap<(ClientId, u32, ResourceId, u32), u64>,
    /// Latency per client × SLO class ([`SLO_CLASSES`]).
    pub slo: FxHashMap<(ClientId, u8), LatencySketch>,
    /// Sample auditIDs of the calls over their class's SLO, per client × SLO class.
    pub slo_slow: FxHashMap<(ClientId, u8), Samples>,
    /// Where annotated requests' time went, per client × resource × SLO class.
    pub latency_parts: FxHashMap<(ClientId, ResourceId, u8), tables::LatencyPartsStats>,
    /// Admission webhooks by name.
    pub webhooks: FxHashMap<u32, tables::WebhookStats>,
    /// Calls to deprecated APIs per client × group/version/resource × removal release.
    pub deprecated: FxHashMap<(ClientId, u32, u32), ErrorStats>,
    client_cache: FxHashMap<interner::KeyBuf, Who>,
    /// Client names interned so far (for [`MAX_CLIENTS`]).
    client_names: usize,
    empty_id: Option<u32>,
    verb_ids: [Option<u32>; 8],
    key_buf: String,
}

/// Distinct userAgent × user pairs a worker keeps apart. Past it, a new pair's userAgent and
/// user become `(other userAgents)` / `(other users)` (its client keeps its name while fewer
/// than [`MAX_CLIENTS`] are known), so a log with millions of distinct userAgents (a random
/// suffix per process, a hostile client) holds memory flat. Counts stay exact; only the split
/// among the folded keys is lost, and the report says how many requests were folded.
pub const MAX_IDENTITIES: usize = 50_000;
/// Distinct clients a worker keeps apart; past it, new ones are `(other clients)`. Each client
/// carries latency sketches in several tables, so this bounds most of the memory.
pub const MAX_CLIENTS: usize = 5_000;
/// LIST rows (userAgent × client × resource) a worker keeps apart; past it, new rows fold into
/// `(other userAgents)` × `(other clients)` of their resource.
pub const MAX_LIST_ROWS: usize = 10_000;
/// Distinct pod names per client (`authentication.kubernetes.io/pod-name`); past it, new pods
/// count as `(other pods)`.
pub const MAX_PODS_PER_CLIENT: usize = 256;

/// The upstream Kubernetes API call latency SLI classes (sig-scalability
/// `api_call_latency.md`): single-object mutating and read-only calls (P99 ≤ 1 s), LISTs within a
/// namespace (≤ 5 s) and across the cluster (≤ 30 s).
pub const SLO_CLASSES: [(&str, f64); 4] = [
    ("mutating", 1.0),
    ("read-only", 1.0),
    ("list-namespace", 5.0),
    ("list-cluster", 30.0),
];

/// The standard verbs, told apart once per request: every fact that depends on the verb
/// compares these, not the string.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
    /// Any other verb (`proxy`, `impersonate`, a custom one).
    Other,
}

impl Verb {
    fn of(verb: &str) -> Self {
        match verb {
            "get" => Self::Get,
            "list" => Self::List,
            "watch" => Self::Watch,
            "create" => Self::Create,
            "update" => Self::Update,
            "patch" => Self::Patch,
            "delete" => Self::Delete,
            "deletecollection" => Self::DeleteCollection,
            _ => Self::Other,
        }
    }

    /// Whether it mutates ([`is_write_verb`]).
    fn writes(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Patch | Self::Delete | Self::DeleteCollection
        )
    }
}

/// The SLO class of a short request, if it has one.
fn slo_class(verb: Verb, ev: &AuditEvent, is_list: bool) -> Option<u8> {
    if ev.resource.is_empty() {
        return None; // non-resource URLs (/healthz, /metrics) are outside the SLI
    }
    match verb {
        Verb::Create | Verb::Update | Verb::Patch | Verb::Delete => Some(0),
        Verb::Get => Some(1),
        _ if is_list && !ev.namespace.is_empty() => Some(2),
        _ if is_list => Some(3),
        _ => None,
    }
}

/// The longest latency believed for a short request (a day).
pub const MAX_LATENCY_US: Micros = 24 * 3_600_000_000;

/// Interned identity of a request's sender.
#[derive(Debug, Clone, Copy)]
struct Who {
    client: ClientId,
    user: u32,
    user_agent: u32,
    /// The userAgent's product (`karpenter` of `karpenter/v0.37.0`), `""` without one.
    product: u32,
    /// A system component (`system:*` user or kube-system service account), not a workload.
    system: bool,
}

/// `kube-apiserver/v1.25.8+27e744f …` → (1, 25), for control-plane products only (kubelets skew).
fn control_plane_version(ua: &str) -> Option<(u32, u32)> {
    let rest = ua
        .strip_prefix("kube-apiserver/v")
        .or_else(|| ua.strip_prefix("kube-controller-manager/v"))?;
    let mut it = rest.split(['.', ' ', '+', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn is_success(code: u16) -> bool {
    (200..400).contains(&code)
}

impl Aggregates {
    /// The interned client, user and userAgent of a request: one cached lookup per event
    /// instead of three (client naming runs once per distinct userAgent × user).
    fn who(&mut self, ua: Option<&str>, username: &str) -> Who {
        self.key_buf.clear();
        self.key_buf.push_str(ua.unwrap_or("\u{0}"));
        self.key_buf.push('\u{1}');
        self.key_buf.push_str(username);
        if let Some(&who) = self.client_cache.get(interner::Key::new(&self.key_buf)) {
            return who;
        }
        if self.client_cache.len() >= MAX_IDENTITIES {
            return self.folded_who(ua, username);
        }
        let name = client_name(ua, username);
        let who = Who {
            client: self.client_id(&name),
            user: self.strings.id(username),
            user_agent: self.strings.id(ua.unwrap_or("")),
            product: self
                .strings
                .id(ua.and_then(UserAgent::parse).map_or("", |u| u.product)),
            system: health::is_system(username),
        };
        self.client_cache.insert(self.key_buf.as_str().into(), who);
        who
    }

    /// The id of a client name, or `(other clients)` once [`MAX_CLIENTS`] are known.
    fn client_id(&mut self, name: &str) -> ClientId {
        if let Some(id) = self.strings.get(name) {
            return ClientId(id);
        }
        if self.client_names < MAX_CLIENTS {
            self.client_names += 1;
            return ClientId(self.strings.id(name));
        }
        self.summary.folded_clients += 1;
        ClientId(self.strings.id("(other clients)"))
    }

    /// A pair past [`MAX_IDENTITIES`]: known strings keep their ids, new ones are folded; the
    /// pair is not cached (the cache is what must not grow).
    #[cold]
    fn folded_who(&mut self, ua: Option<&str>, username: &str) -> Who {
        self.summary.folded_identities += 1;
        let client = self.client_id(&client_name(ua, username));
        let user = match self.strings.get(username) {
            Some(id) => id,
            None => self.strings.id("(other users)"),
        };
        let user_agent = match self.strings.get(ua.unwrap_or("")) {
            Some(id) => id,
            None => self.strings.id("(other userAgents)"),
        };
        let product = ua
            .and_then(UserAgent::parse)
            .and_then(|u| self.strings.get(u.product))
            .unwrap_or_else(|| self.sub_id(""));
        Who {
            client,
            user,
            user_agent,
            product,
            system: health::is_system(username),
        }
    }

    /// Interned id of a resource qualified by its API group as kubectl names it (`pods`,
    /// `deployments.apps`, `events.events.k8s.io`), so same-named resources of two groups stay
    /// apart.
    fn resource_id(&mut self, resource: &str, group: &str) -> ResourceId {
        if group.is_empty() {
            return ResourceId(self.strings.id(resource));
        }
        self.key_buf.clear();
        self.key_buf.push_str(resource);
        self.key_buf.push('.');
        self.key_buf.push_str(group);
        ResourceId(self.strings.id(&self.key_buf))
    }

    /// Interned id of a pod name, or `(other pods)` once the client has
    /// [`MAX_PODS_PER_CLIENT`] others.
    fn pod_id(&mut self, client: ClientId, pod: &str) -> u32 {
        // Under the cap (the usual case) this is the one interner lookup it always was.
        match self.clients.get(&client) {
            Some(c) if c.pods.len() >= MAX_PODS_PER_CLIENT => match self.strings.get(pod) {
                Some(id) if c.pods.contains_key(&id) => id,
                _ => self.strings.id("(other pods)"),
            },
            _ => self.strings.id(pod),
        }
    }

    /// Interned id of a subresource; the common empty one skips the hash lookup.
    fn sub_id(&mut self, sub: &str) -> u32 {
        if sub.is_empty() {
            let strings = &mut self.strings;
            return *self.empty_id.get_or_insert_with(|| strings.id(""));
        }
        self.strings.id(sub)
    }

    /// Interned id of a verb (`kind` is [`Verb::of`] it); the standard verbs skip the hash
    /// lookup.
    fn verb_id(&mut self, verb: &str, kind: Verb) -> u32 {
        if kind == Verb::Other {
            return self.strings.id(verb);
        }
        let strings = &mut self.strings;
        *self.verb_ids[kind as usize].get_or_insert_with(|| strings.id(verb))
    }

    /// Folds one decoded event in: into the cluster scope when it falls in the window, and into
    /// the selection's tables when it also passes the filters.
    pub fn observe(&mut self, ev: &AuditEvent, scope: &Scope) {
        let stage = ev.stage.unwrap_or(Stage::Unknown);
        self.summary
            .event(stage, ev.level.unwrap_or(Level::Unknown));
        self.summary.saw_events_resource |= ev.resource == "events";
        if !stage.is_final() {
            return;
        }
        let time = ev.time();
        if scope.window.is_set() && !time.is_some_and(|t| scope.window.contains(t)) {
            self.summary.outside_window += 1;
            return;
        }
        let who = self.who(ev.user_agent, ev.username);
        let q = Query::parse(ev.request_uri);
        let facts = self.facts(ev, &q, who, time, stage);
        self.cluster
            .observe(&facts, ev.user_agent.and_then(control_plane_version));
        if !scope.filters.is_empty() {
            let view = FilterView {
                username: ev.username,
                user_agent: ev.user_agent.unwrap_or(""),
                client: self.strings.name(who.client),
                product: self.strings.name(who.product),
                namespace: ev.namespace,
                resource: ev.resource,
                subresource: ev.subresource,
                api_group: ev.api_group,
                verb: ev.verb,
                code: ev
                    .code
                    .unwrap_or(if stage == Stage::Panic { 500 } else { 0 }),
            };
            self.selection.note_patterns(&scope.filters, &view);
            if !scope.filters.accepts(&view) {
                self.summary.filtered_out += 1;
                return;
            }
            // Unfiltered, the timeline is the cluster's minutes.
            if let Some(t) = time {
                self.selection
                    .minutes
                    .entry(t.div_euclid(MINUTE_US))
                    .or_default()
                    .count(&facts);
            }
        }
        self.request(ev, &q, &facts);
    }

    /// The facts of a request both scopes count, computed once.
    fn facts(
        &mut self,
        ev: &AuditEvent,
        q: &Query,
        who: Who,
        time: Option<Micros>,
        stage: Stage,
    ) -> RequestFacts {
        let verb = Verb::of(ev.verb);
        let is_watch = verb == Verb::Watch || (verb == Verb::List && q.watch);
        let is_list = verb == Verb::List && !is_watch;
        let long_running = is_watch
            || is_streaming_subresource(ev.subresource)
            || (ev.subresource == "log" && q.follow);
        // A Panic with no status is a server error.
        let code = ev
            .code
            .unwrap_or(if stage == Stage::Panic { 500 } else { 0 });
        // Dry runs and virtual creates (TokenRequest, the reviews) store nothing.
        let is_write = verb.writes()
            && is_success(code)
            && !q.dry_run
            && !is_virtual_create(ev.api_group, ev.resource, ev.subresource);
        // A short request longer than a day is a broken clock, not a latency: it would skew the
        // sketches and spread seat time over every minute in between.
        let latency = if long_running {
            None
        } else {
            ev.latency_us().filter(|l| *l <= MAX_LATENCY_US)
        };
        // APF seat time (Little's law): width × latency, a cluster-scoped LIST charged the
        // estimator's maximum width (the log does not say how many objects it touched), a
        // successful write its etcd weight (model::cost).
        let seat_us = latency.map_or(0, |l| {
            let width = if is_list && ev.namespace.is_empty() {
                crate::model::cost::CLUSTER_LIST_SEATS
            } else {
                1.0
            };
            let extra = if is_write {
                crate::model::cost::WRITE_ETCD_SECONDS * 1e6
            } else {
                0.0
            };
            (l as f64 * width + extra) as u64
        });
        let slo_class = latency.and_then(|_| slo_class(verb, ev, is_list));
        RequestFacts {
            time,
            // What the events cover: a watch already open when the log begins was received
            // before it, and must not stretch every rate's divisor.
            covered: ev.stage_time.or(time),
            received: ev.received,
            is_watch,
            is_list,
            long_running,
            is_write,
            code,
            latency,
            seat_us,
            slo_class,
            over_slo: slo_class
                .zip(latency)
                .is_some_and(|(c, l)| l > (SLO_CLASSES[usize::from(c)].1 * 1e6) as Micros),
            apf_rejected: code == 429 && ev.reason.is_empty(),
            binding: is_write
                && ev.resource == "pods"
                && ev.subresource == "binding"
                && verb == Verb::Create,
            system: who.system,
            minute: time.map(|t| t.div_euclid(MINUTE_US)),
            is_read: matches!(verb, Verb::Get | Verb::List | Verb::Watch),
            failed: code >= 400,
            client: who.client,
            user: who.user,
            user_agent: who.user_agent,
            resource: self.resource_id(ev.resource, ev.api_group),
            subresource: self.sub_id(ev.subresource),
            verb: self.verb_id(ev.verb, verb),
            no_user_agent: ev.user_agent.is_none_or(str::is_empty),
            growth: match verb {
                _ if !is_write || !ev.subresource.is_empty() => 0,
                Verb::Create => 1,
                Verb::Delete | Verb::DeleteCollection => -1,
                _ => 0,
            },
            response_bytes: ev.response_bytes,
        }
    }

    /// Folds a selected request into the per-client, per-object tables: each table observes
    /// the request's facts; only the keys (and their caps) are chosen here.
    fn request(&mut self, ev: &AuditEvent, q: &Query, f: &RequestFacts) {
        self.summary.request(f);
        let pod = (!ev.pod_name.is_empty()).then(|| self.pod_id(f.client, ev.pod_name));
        self.clients
            .entry(f.client)
            .or_default()
            .observe(f, pod, ev.audit_id);
        if let Some(minute) = f.minute {
            self.client_minutes
                .add(f.client.into(), minute, f.failed, f.seat_us);
            // The same failures the success rate counts (short requests, 429 and 5xx).
            if !f.long_running && (f.code >= 500 || f.code == 429) {
                let how = if f.code == 429 {
                    client_minutes::Failure::Throttled
                } else {
                    client_minutes::Failure::ServerError
                };
                self.client_minutes.add_failed(f.client.into(), minute, how);
            }
        }
        if f.is_list {
            self.list(ev, q, f);
        }
        if f.is_watch {
            self.watches
                .entry((f.client, f.resource))
                .or_default()
                .observe(f, ev, q);
        }
        if !ev.resource.is_empty() && !is_builtin_group(ev.api_group) {
            let group = self.strings.id(ev.api_group);
            let resource = self.strings.id(ev.resource);
            self.crds
                .entry((group, resource, f.verb, f.client))
                .or_default()
                .observe(f);
        }
        if f.is_write {
            self.write(ev, f);
        }
        // `pods/eviction` apart from `pods`: a 429 there is a PodDisruptionBudget's answer.
        *self
            .calls
            .entry((f.client, f.verb, f.resource, f.subresource))
            .or_default() += 1;
        if f.failed {
            self.error(ev, f);
        }
        if let (Some(l), Some(class)) = (f.latency, f.slo_class) {
            if ev.latency_parts.iter().any(Option::is_some) {
                self.latency_parts
                    .entry((f.client, f.resource, class))
                    .or_default()
                    .observe(ev, l);
            }
            self.slo.entry((f.client, class)).or_default().add(l);
            if f.over_slo {
                self.slo_slow
                    .entry((f.client, class))
                    .or_default()
                    .offer(f.time, ev.audit_id);
            }
        }
        for call in webhooks::calls(ev, f.failed) {
            self.webhooks
                .entry(self.strings.id(&call.webhook))
                .or_default()
                .observe(&call, f, ev.audit_id);
        }
        if ev.deprecated || ev.removed_release.is_some() {
            self.deprecated(ev, f);
        }
    }

    /// A LIST, in its userAgent × client × resource row (past [`MAX_LIST_ROWS`], the
    /// `(other userAgents)` row of its resource).
    fn list(&mut self, ev: &AuditEvent, q: &Query, f: &RequestFacts) {
        let mut key = (f.user_agent, f.client, f.resource);
        if self.lists.len() >= MAX_LIST_ROWS && !self.lists.contains_key(&key) {
            // Past the cap a new row joins the one `(other userAgents)` row of its resource.
            self.summary.folded_lists += 1;
            key = (
                self.strings.id("(other userAgents)"),
                ClientId(self.strings.id("(other clients)")),
                f.resource,
            );
        }
        self.lists.entry(key).or_default().observe(f, ev, q);
    }

    /// A successful write, in the writes table and its object's row.
    fn write(&mut self, ev: &AuditEvent, f: &RequestFacts) {
        let bodies = tables::BodyBytes::of(ev);
        let noop = self
            .writes
            .entry((f.client, f.resource, f.verb, f.subresource))
            .or_default()
            .observe(f, ev, bodies);
        if !ev.name.is_empty() {
            let mut key = std::mem::take(&mut self.key_buf);
            object_key(&mut key, ev.api_group, ev.resource, ev.namespace, ev.name);
            let w = ObjectWrite {
                key: &key,
                client: f.client.into(),
                time: f.time,
                status: ev.subresource == "status",
                noop,
                audit_id: ev.audit_id,
                bodies,
            };
            match &mut self.object_batch {
                Some(batch) => batch.write(&w),
                None => self.objects.observe(&w),
            }
            self.key_buf = key;
        }
    }

    /// A failed request, in the errors table (a conflict also in its object's row).
    fn error(&mut self, ev: &AuditEvent, f: &RequestFacts) {
        let target = if ev.subresource.is_empty() {
            f.resource.into()
        } else {
            self.key_buf.clear();
            self.key_buf.push_str(self.strings.name(f.resource));
            self.key_buf.push('/');
            self.key_buf.push_str(ev.subresource);
            self.strings.id(&self.key_buf)
        };
        let reason = self.strings.id(ev.reason);
        self.errors
            .entry((f.client, f.code, reason, f.verb, target))
            .or_default()
            .observe(f, ev.audit_id);
        if f.code == 409
            && ev.reason != "AlreadyExists"
            && ev.verb != "create"
            && !ev.name.is_empty()
        {
            let mut key = std::mem::take(&mut self.key_buf);
            object_key(&mut key, ev.api_group, ev.resource, ev.namespace, ev.name);
            match &mut self.object_batch {
                Some(batch) => batch.conflict(&key, f.time),
                None => self.objects.conflict(&key, f.time),
            }
            self.key_buf = key;
        }
    }

    /// A call to a deprecated API, per client × group/version/resource × removal release.
    fn deprecated(&mut self, ev: &AuditEvent, f: &RequestFacts) {
        self.key_buf.clear();
        for (i, part) in [ev.api_group, ev.api_version, ev.resource]
            .iter()
            .enumerate()
        {
            if i > 0 {
                self.key_buf.push('/');
            }
            self.key_buf.push_str(part);
        }
        let gvr = self.strings.id(&self.key_buf);
        let removed = self.strings.id(ev.removed_release.unwrap_or(""));
        self.deprecated
            .entry((f.client, gvr, removed))
            .or_default()
            .observe(f, ev.audit_id);
    }

    /// Merges another worker's tables in.
    pub fn merge(&mut self, other: &Aggregates) {
        let r = self.strings.remap(&other.strings);
        let m = |id: &u32| r[*id as usize];
        self.summary.merge(&other.summary);
        merge_map(&mut self.lists, &other.lists, &r, |(a, b, c)| {
            (m(a), b.remap(&r), c.remap(&r))
        });
        merge_map(&mut self.clients, &other.clients, &r, |c| c.remap(&r));
        self.client_minutes
            .merge(&other.client_minutes, |c| r[c as usize]);
        self.cluster.merge(&other.cluster, &r);
        self.selection.merge(&other.selection);
        merge_map(&mut self.crds, &other.crds, &r, |(a, b, c, d)| {
            (m(a), m(b), m(c), d.remap(&r))
        });
        merge_map(&mut self.writes, &other.writes, &r, |(a, b, c, d)| {
            (a.remap(&r), b.remap(&r), m(c), m(d))
        });
        self.objects.merge(&other.objects, &r);
        merge_map(&mut self.errors, &other.errors, &r, |(a, code, b, c, d)| {
            (a.remap(&r), *code, m(b), m(c), m(d))
        });
        merge_map(&mut self.watches, &other.watches, &r, |(a, b)| {
            (a.remap(&r), b.remap(&r))
        });
        merge_map(&mut self.calls, &other.calls, &r, |(a, b, c, d)| {
            (a.remap(&r), m(b), c.remap(&r), m(d))
        });
        merge_map(&mut self.webhooks, &other.webhooks, &r, m);
        merge_map(
            &mut self.latency_parts,
            &other.latency_parts,
            &r,
            |(a, b, c)| (a.remap(&r), b.remap(&r), *c),
        );
        for (k, v) in &other.slo_slow {
            self.slo_slow
                .entry((k.0.remap(&r), k.1))
                .or_default()
                .merge(v);
        }
        for (k, v) in &other.slo {
            self.slo.entry((k.0.remap(&r), k.1)).or_default().merge(v);
        }
        merge_map(&mut self.deprecated, &other.deprecated, &r, |(a, b, c)| {
            (a.remap(&r), m(b), m(c))
        });
    }

    /// Whether kube-apiserver serves consistent LISTs from the watch cache (1.31+), if known.
    #[must_use]
    pub fn consistent_list_from_cache(&self) -> Option<bool> {
        self.cluster.server_version.map(|v| v >= (1, 31))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_told_apart_as_their_strings_are() {
        let standard = [
            "get",
            "list",
            "watch",
            "create",
            "update",
            "patch",
            "delete",
            "deletecollection",
        ];
        let mutating = ["create", "update", "patch", "delete", "deletecollection"];
        for (slot, v) in standard.iter().enumerate() {
            // The slot is the verb's place in `verb_ids`.
            assert_eq!(Verb::of(v) as usize, slot, "{v}");
            assert_eq!(is_write_verb(v), mutating.contains(v), "{v}");
        }
        for v in [
            "proxy",
            "impersonate",
            "Get",
            "LIST",
            "",
            "create ",
            "escalate",
        ] {
            assert_eq!(Verb::of(v), Verb::Other, "{v}");
            assert!(!is_write_verb(v), "{v}");
        }
    }

    #[test]
    fn version_from_control_plane_agents_only() {
        assert_eq!(
            control_plane_version(
                "kube-apiserver/v1.25.8+27e744f (linux/amd64) kubernetes/df8a1b9"
            ),
            Some((1, 25))
        );
        assert_eq!(
            control_plane_version("kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/x/y"),
            Some((1, 31))
        );
        assert_eq!(control_plane_version("kubelet/v1.32.0 (linux/amd64)"), None);
    }

    #[test]
    fn pods_per_client_are_capped() {
        let mut a = Aggregates::default();
        let client = ClientId(a.strings.id("ctrl"));
        a.clients.entry(client).or_default();
        for i in 0..MAX_PODS_PER_CLIENT + 50 {
            let id = a.pod_id(client, &format!("p-{i}"));
            *a.clients
                .get_mut(&client)
                .unwrap()
                .pods
                .entry(id)
                .or_default() += 1;
        }
        let c = &a.clients[&client];
        assert_eq!(c.pods.len(), MAX_PODS_PER_CLIENT + 1);
        assert_eq!(c.pods[&a.strings.get("(other pods)").unwrap()], 50);
        // A pod seen before the cap keeps its own row.
        assert_eq!(a.pod_id(client, "p-3"), a.strings.get("p-3").unwrap());
        assert!(
            a.strings
                .get(&format!("p-{}", MAX_PODS_PER_CLIENT + 10))
                .is_none()
        );
    }
}

//! Decode: one audit event (audit.k8s.io/v1 or v1beta1) from one JSON line into a borrowed view.
//!
//! The line is parsed in place by simd-json into typed structs whose strings borrow from the
//! line buffer (simd-json unescapes into that buffer, so Go's `\u0026` arrives as `&`). Unknown
//! fields — request and response bodies included — are skipped, never copied.

use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::latency::{self, LatencyParts, Names};
use crate::timefmt::{Micros, parse_go_duration, parse_rfc3339};

mod blocks;
mod skim;

/// The audit stage of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// The apiserver received the request (omitted by EKS' policy).
    RequestReceived,
    /// Headers sent for a long-running request (watch, exec …).
    ResponseStarted,
    /// The response is complete: this event is the request.
    ResponseComplete,
    /// The handler panicked: also counted as the request.
    Panic,
    /// A stage this version does not know, or none.
    Unknown,
}

impl Stage {
    /// All stages, in report order.
    pub const ALL: [Stage; 5] = [
        Stage::RequestReceived,
        Stage::ResponseStarted,
        Stage::ResponseComplete,
        Stage::Panic,
        Stage::Unknown,
    ];

    fn parse(s: Option<&str>) -> Self {
        match s {
            Some("RequestReceived") => Self::RequestReceived,
            Some("ResponseStarted") => Self::ResponseStarted,
            Some("ResponseComplete") => Self::ResponseComplete,
            Some("Panic") => Self::Panic,
            _ => Self::Unknown,
        }
    }

    /// The stage's name as the audit API spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::RequestReceived => "RequestReceived",
            Self::ResponseStarted => "ResponseStarted",
            Self::ResponseComplete => "ResponseComplete",
            Self::Panic => "Panic",
            Self::Unknown => "unknown",
        }
    }

    /// A request is counted once, on its final event.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self, Self::ResponseComplete | Self::Panic)
    }
}

/// The audit level an event was logged at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Metadata only: no bodies.
    Metadata,
    /// Request body logged.
    Request,
    /// Request and response bodies logged.
    RequestResponse,
    /// Not given (e.g. flattened exports).
    Unknown,
}

impl Level {
    /// All levels, in report order.
    pub const ALL: [Level; 4] = [
        Level::Metadata,
        Level::Request,
        Level::RequestResponse,
        Level::Unknown,
    ];

    fn parse(s: Option<&str>) -> Self {
        match s {
            Some("Metadata") => Self::Metadata,
            Some("Request") => Self::Request,
            Some("RequestResponse") => Self::RequestResponse,
            _ => Self::Unknown,
        }
    }

    /// The level's name as the audit API spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Metadata => "Metadata",
            Self::Request => "Request",
            Self::RequestResponse => "RequestResponse",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct RawUser<'a> {
    #[serde(borrow, default)]
    username: Option<&'a str>,
    #[serde(borrow, default)]
    extra: Option<RawExtra<'a>>,
}

#[derive(Deserialize, Default)]
struct RawExtra<'a> {
    #[serde(borrow, rename = "authentication.kubernetes.io/pod-name", default)]
    pod_name: FirstStr<'a>,
}

/// The first string of a JSON array of strings, without allocating a Vec.
#[derive(Default)]
struct FirstStr<'a>(Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first: Option<&'de str> = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstStr(first))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(FirstStr(Some(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(FirstStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
struct RawObjectRef<'a> {
    #[serde(borrow, default)]
    resource: Option<&'a str>,
    #[serde(borrow, default)]
    subresource: Option<&'a str>,
    #[serde(borrow, default)]
    namespace: Option<&'a str>,
    #[serde(borrow, default)]
    name: Option<&'a str>,
    #[serde(borrow, rename = "apiGroup", default)]
    api_group: Option<&'a str>,
    #[serde(borrow, rename = "apiVersion", default)]
    api_version: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct RawStatus<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    reason: Option<&'a str>,
    #[serde(borrow, default)]
    message: Option<&'a str>,
}

/// A request or response body: only `metadata.resourceVersion` is read. A body may be an
/// object, or an array (a JSON Patch is logged as its list of operations), or anything else.
#[derive(Default)]
struct RawObjectHead<'a> {
    metadata: Option<RawMeta<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawObjectHead<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObjectHead<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a request or response body")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut head = RawObjectHead::default();
                while let Some(key) = map.next_key::<&'de str>()? {
                    if key == "metadata" {
                        head.metadata = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(head)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawObjectHead::default())
            }
            fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Self::Value, E> {
                Ok(RawObjectHead::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawObjectHead::default())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RawObjectHead::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawObjectHead::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawObjectHead::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawObjectHead::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawObjectHead::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
struct RawMeta<'a> {
    #[serde(borrow, rename = "resourceVersion", default)]
    resource_version: Option<&'a str>,
}

/// The annotations audit-scan reads. Latency and webhook annotations have open-ended keys
/// (`apiserver.latency.k8s.io/etcd`, `mutation.webhook.admission.k8s.io/round_0_index_1`), so the
/// map is walked by hand.
#[derive(Default)]
struct RawAnnotations<'a> {
    latency: LatencyParts,
    deprecated: Option<&'a str>,
    removed_release: Option<&'a str>,
    /// Mutating webhooks named by `mutation.webhook…`/`patch.webhook…` (their JSON text names
    /// them) and `failed-open.mutating.webhook…` annotations.
    mutating: Names<'a>,
    /// Validating webhooks named by `failed-open.validating.webhook…` annotations.
    validating: Names<'a>,
    /// Webhooks that failed open (their `failed-open.*` annotation's value).
    failed_open: Names<'a>,
}

impl<'a> RawAnnotations<'a> {
    /// Whether `key` is an annotation audit-scan reads (its value is then a string or null).
    fn reads(key: &str) -> bool {
        matches!(key, "k8s.io/deprecated" | "k8s.io/removed-release")
            || key
                .strip_prefix("apiserver.latency.k8s.io/")
                .and_then(latency::part_index)
                .is_some()
            || Self::is_webhook_key(key)
            || Self::is_failed_open(key)
    }

    fn is_webhook_key(key: &str) -> bool {
        key.starts_with("mutation.webhook.admission.k8s.io/")
            || key.starts_with("patch.webhook.admission.k8s.io/")
    }

    fn is_failed_open(key: &str) -> bool {
        key.starts_with("failed-open.") && key.contains("webhook")
    }

    /// Reads the value of an annotation it [`reads`](Self::reads), in the map's order (a
    /// repeated key: the last one wins, as with any map member).
    fn take(&mut self, key: &str, value: &'a str) {
        match key {
            "k8s.io/deprecated" => self.deprecated = Some(value),
            "k8s.io/removed-release" => self.removed_release = Some(value),
            _ if Self::is_webhook_key(key) => {
                if let Some(name) = latency::webhook_in(value) {
                    self.mutating.push(name);
                }
            }
            _ if Self::is_failed_open(key) => {
                self.failed_open.push(value);
                if key.contains("validating") {
                    self.validating.push(value);
                } else {
                    self.mutating.push(value);
                }
            }
            _ => {
                if let Some(i) = key
                    .strip_prefix("apiserver.latency.k8s.io/")
                    .and_then(latency::part_index)
                {
                    self.latency[i] = parse_go_duration(value);
                }
            }
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawAnnotations<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawAnnotations<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of annotations")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RawAnnotations::default())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut a = RawAnnotations::default();
                while let Some(key) = map.next_key::<&'de str>()? {
                    if !RawAnnotations::reads(key) {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    if let Some(value) = map.next_value::<Option<&'de str>>()? {
                        a.take(key, value);
                    }
                }
                Ok(a)
            }
        }
        d.deserialize_any(V)
    }
}

/// One JSON line as the audit API writes it: an `Event`, or an `EventList` with `items`.
#[derive(Deserialize, Default)]
pub(crate) struct RawEvent<'a> {
    #[serde(borrow, default)]
    kind: Option<&'a str>,
    #[serde(borrow, default)]
    level: Option<&'a str>,
    #[serde(borrow, rename = "auditID", default)]
    audit_id: Option<&'a str>,
    #[serde(borrow, default)]
    stage: Option<&'a str>,
    #[serde(borrow, rename = "requestURI", default)]
    request_uri: Option<&'a str>,
    #[serde(borrow, default)]
    verb: Option<&'a str>,
    #[serde(borrow, default)]
    user: Option<RawUser<'a>>,
    #[serde(borrow, rename = "userAgent", default)]
    user_agent: Option<&'a str>,
    #[serde(borrow, rename = "objectRef", default)]
    object_ref: Option<RawObjectRef<'a>>,
    #[serde(borrow, rename = "responseStatus", default)]
    response_status: Option<RawStatus<'a>>,
    #[serde(borrow, rename = "requestObject", default)]
    request_object: Option<RawObjectHead<'a>>,
    #[serde(borrow, rename = "responseObject", default)]
    response_object: Option<RawObjectHead<'a>>,
    #[serde(borrow, rename = "requestReceivedTimestamp", default)]
    request_received_timestamp: Option<&'a str>,
    #[serde(borrow, rename = "stageTimestamp", default)]
    stage_timestamp: Option<&'a str>,
    /// v1beta1 only.
    #[serde(borrow, default)]
    timestamp: Option<&'a str>,
    #[serde(borrow, default)]
    annotations: Option<RawAnnotations<'a>>,
    /// Kept as JSON values and decoded one by one, so one malformed item costs only itself.
    #[serde(borrow, default)]
    items: Option<Vec<RawItem<'a>>>,
    /// The bytes of `requestObject` as logged (measured on the line, not parsed).
    #[serde(skip)]
    request_bytes: Option<u32>,
    /// The bytes of `responseObject` as logged.
    #[serde(skip)]
    response_bytes: Option<u32>,
}

/// One item of an `EventList`, held as a JSON value until it is decoded on its own.
pub(crate) struct RawItem<'a>(simd_json::BorrowedValue<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for RawItem<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        simd_json::BorrowedValue::deserialize(d).map(RawItem)
    }
}

/// A decoded audit event, borrowing its strings from the line buffer. Absent strings are `""`.
#[derive(Debug, Clone, Default)]
pub struct AuditEvent<'a> {
    /// The stage.
    pub stage: Option<Stage>,
    /// The level.
    pub level: Option<Level>,
    /// `auditID`.
    pub audit_id: &'a str,
    /// Lower-case verb (`list`, `watch`, `update` …).
    pub verb: &'a str,
    /// `requestURI`, JSON-unescaped.
    pub request_uri: &'a str,
    /// `user.username`.
    pub username: &'a str,
    /// `user.extra["authentication.kubernetes.io/pod-name"][0]`.
    pub pod_name: &'a str,
    /// `userAgent`, if logged.
    pub user_agent: Option<&'a str>,
    /// `objectRef.resource`.
    pub resource: &'a str,
    /// `objectRef.subresource`.
    pub subresource: &'a str,
    /// `objectRef.namespace`.
    pub namespace: &'a str,
    /// `objectRef.name`.
    pub name: &'a str,
    /// `objectRef.apiGroup` (`""` is the core group).
    pub api_group: &'a str,
    /// `objectRef.apiVersion`.
    pub api_version: &'a str,
    /// `responseStatus.code`.
    pub code: Option<u16>,
    /// `responseStatus.reason`.
    pub reason: &'a str,
    /// `requestReceivedTimestamp`.
    pub received: Option<Micros>,
    /// `stageTimestamp`.
    pub stage_time: Option<Micros>,
    /// v1beta1 `timestamp`.
    pub legacy_time: Option<Micros>,
    /// The time of the log record that carried the event (CloudWatch), set by the caller.
    pub record_time: Option<Micros>,
    /// `requestObject.metadata.resourceVersion` (Request/RequestResponse level).
    pub request_rv: Option<&'a str>,
    /// `responseObject.metadata.resourceVersion` (RequestResponse level).
    pub response_rv: Option<&'a str>,
    /// The bytes of `requestObject` as logged, when it is logged and not null (none for the
    /// items of an `EventList`, which are decoded from a parsed value).
    pub request_bytes: Option<u32>,
    /// The bytes of `responseObject` as logged, likewise.
    pub response_bytes: Option<u32>,
    /// The `apiserver.latency.k8s.io/*` annotations (logged for requests slower than 500 ms),
    /// µs, indexed like [`latency::LATENCY_PARTS`].
    pub latency_parts: LatencyParts,
    /// `k8s.io/deprecated` annotation.
    pub deprecated: bool,
    /// `k8s.io/removed-release` annotation.
    pub removed_release: Option<&'a str>,
    /// Mutating admission webhooks the annotations name (called on this request).
    pub mutating_webhooks: Names<'a>,
    /// Validating admission webhooks the annotations name (only those that failed open are).
    pub validating_webhooks: Names<'a>,
    /// Webhooks that failed open (failurePolicy Ignore) on this request.
    pub webhook_failed_open: Names<'a>,
    /// A webhook that refused the request, from the status message
    /// (`failed calling webhook "NAME"`).
    pub webhook_failed_closed: Option<&'a str>,
}

impl<'a> AuditEvent<'a> {
    /// The event's own time: `requestReceivedTimestamp`, else `stageTimestamp`, else v1beta1
    /// `timestamp`, else the time of the log record that carried it (DESIGN.md).
    #[must_use]
    pub fn time(&self) -> Option<Micros> {
        self.received
            .or(self.stage_time)
            .or(self.legacy_time)
            .or(self.record_time)
    }

    /// `stageTimestamp − requestReceivedTimestamp`, when both are logged and ordered.
    #[must_use]
    pub fn latency_us(&self) -> Option<Micros> {
        match (self.received, self.stage_time) {
            (Some(r), Some(s)) if s >= r => Some(s - r),
            _ => None,
        }
    }

    fn from_raw(raw: RawEvent<'a>) -> Self {
        let user = raw.user.unwrap_or_default();
        let obj = raw.object_ref.unwrap_or_default();
        let status = raw.response_status.unwrap_or_default();
        let ann = raw.annotations.unwrap_or_default();
        let rv = |o: Option<RawObjectHead<'a>>| o.and_then(|o| o.metadata?.resource_version);
        Self {
            stage: Some(Stage::parse(raw.stage)),
            level: Some(Level::parse(raw.level)),
            audit_id: raw.audit_id.unwrap_or(""),
            verb: raw.verb.unwrap_or(""),
            request_uri: raw.request_uri.unwrap_or(""),
            username: user.username.unwrap_or(""),
            pod_name: user.extra.and_then(|e| e.pod_name.0).unwrap_or(""),
            user_agent: raw.user_agent,
            resource: obj.resource.unwrap_or(""),
            subresource: obj.subresource.unwrap_or(""),
            namespace: obj.namespace.unwrap_or(""),
            name: obj.name.unwrap_or(""),
            api_group: obj.api_group.unwrap_or(""),
            api_version: obj.api_version.unwrap_or(""),
            code: status.code.and_then(|c| u16::try_from(c).ok()),
            reason: status.reason.unwrap_or(""),
            received: raw.request_received_timestamp.and_then(parse_rfc3339),
            stage_time: raw.stage_timestamp.and_then(parse_rfc3339),
            legacy_time: raw.timestamp.and_then(parse_rfc3339),
            record_time: None,
            request_rv: rv(raw.request_object),
            response_rv: rv(raw.response_object),
            request_bytes: raw.request_bytes,
            response_bytes: raw.response_bytes,
            latency_parts: ann.latency,
            deprecated: ann.deprecated == Some("true"),
            removed_release: ann.removed_release,
            mutating_webhooks: ann.mutating,
            validating_webhooks: ann.validating,
            webhook_failed_open: ann.failed_open,
            webhook_failed_closed: status.message.and_then(latency::webhook_failed_in),
        }
    }
}

/// Why a line could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeFailure {
    /// Not valid JSON, or a field of the wrong type; the message says which.
    InvalidJson(String),
    /// Valid JSON, but not an audit `Event` or `EventList` (e.g. no `kind`/`stage`/`verb`).
    NotAnEvent,
}

/// The first and last non-blank bytes of a line, taken before parsing rewrites it in place:
/// what it claims to be, and whether it was cut short.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    first: Option<u8>,
    last: Option<u8>,
}

impl Shape {
    pub(crate) fn of(bytes: &[u8]) -> Self {
        let blank = |b: &&u8| !b.is_ascii_whitespace();
        Self {
            first: bytes.iter().find(blank).copied(),
            last: bytes.iter().rev().find(blank).copied(),
        }
    }

    /// A line known to start as an object (an item, a salvaged prefix).
    pub(crate) const OBJECT: Self = Self {
        first: Some(b'{'),
        last: Some(b'}'),
    };
}

/// The message for a line that stops before its JSON does.
const CUT: &str = "invalid JSON: the line ends before the JSON does (cut short?)";

impl DecodeFailure {
    /// Says in words why a line is not an audit event. simd-json's own text names its internals
    /// (`InternalError at character 0`).
    pub(crate) fn invalid_json(shape: Shape, e: &simd_json::Error) -> Self {
        use simd_json::ErrorType as T;
        let at = || match e.character() {
            Some(c) => format!("at column {} ('{}')", e.index() + 1, c.escape_debug()),
            None => format!("at column {}", e.index() + 1),
        };
        let closed = matches!(
            (shape.first, shape.last),
            (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']'))
        );
        let text = match (shape.first, e.error()) {
            (None, _) => "not JSON: the line is empty".to_owned(),
            (Some(b), _) if b != b'{' && b != b'[' => {
                format!("not JSON: starts with {}", crate::source::sniff::quote(b))
            }
            (_, T::Serde(m)) => format!("a field has the wrong type: {m}"),
            (_, T::Unexpected(want, got)) => match (want, got) {
                (Some(w), Some(g)) => {
                    format!("a field has the wrong type: expected {w:?}, found {g:?}")
                        .to_lowercase()
                }
                _ => "a field has the wrong type".to_owned(),
            },
            (_, T::ExpectedString) => "a field has the wrong type: expected a string".to_owned(),
            (
                _,
                T::ExpectedUnsigned
                | T::ExpectedSigned
                | T::ExpectedInteger
                | T::ExpectedNumber
                | T::ExpectedFloat,
            ) => "a field has the wrong type: expected a number".to_owned(),
            (_, T::ExpectedMap) => "a field has the wrong type: expected an object".to_owned(),
            (_, T::ExpectedArray) => "a field has the wrong type: expected an array".to_owned(),
            (_, T::ExpectedBoolean) => {
                "a field has the wrong type: expected true or false".to_owned()
            }
            (_, T::Eof | T::UnterminatedString) => CUT.to_owned(),
            _ if !closed => CUT.to_owned(),
            (_, T::InvalidUtf8) => format!("invalid JSON: not UTF-8 text {}", at()),
            (_, T::InvalidEscape | T::InvalidUnicodeEscape | T::InvalidUnicodeCodepoint) => {
                format!("invalid JSON: a bad escape sequence {}", at())
            }
            (_, T::InvalidNumber | T::InvalidExponent) => {
                format!("invalid JSON: a malformed number {}", at())
            }
            (_, T::TrailingData) => {
                format!("invalid JSON: more text after the JSON value {}", at())
            }
            (_, T::DepthLimitExceeded) => "invalid JSON: nested too deeply".to_owned(),
            (_, T::ExpectedObjectKey | T::KeyMustBeAString | T::BadKeyType) => {
                format!("invalid JSON: expected a quoted key {}", at())
            }
            _ => format!("invalid JSON: malformed {}", at()),
        };
        Self::InvalidJson(text)
    }

    /// A stable, kebab-case reason for the summary's counts.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid-json",
            Self::NotAnEvent => "not-an-audit-event",
        }
    }

    /// A human message for examples.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::InvalidJson(m) => m.clone(),
            Self::NotAnEvent => "valid JSON but not an audit Event (no kind/stage/verb)".into(),
        }
    }
}

/// What a line or document held: its events, and the items of an `EventList` (or JSON array)
/// that were not events. Each bad item is skipped alone; the items around it still count.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Events passed to the sink.
    pub events: usize,
    /// Items that could not be decoded, in order.
    pub bad_items: Vec<BadItem>,
}

impl Decoded {
    fn one() -> Self {
        Self {
            events: 1,
            bad_items: Vec::new(),
        }
    }
}

/// One item of an `EventList` or array that was not an audit event.
#[derive(Debug)]
pub struct BadItem {
    /// 0-based position in `items` (or in the array).
    pub index: usize,
    /// Why it was skipped.
    pub failure: DecodeFailure,
}

impl BadItem {
    /// A human message naming the item (1-based, as people count).
    #[must_use]
    pub fn message(&self) -> String {
        format!("item {}: {}", self.index + 1, self.failure.message())
    }
}

/// Decodes one line (or document) in place with simd-json, calling `sink` once per event (an
/// `EventList` yields each item). `buffers` are simd-json's scratch buffers, reused across lines.
///
/// # Errors
/// A [`DecodeFailure`] when the bytes are not an audit event.
pub fn decode_in_place<'a>(
    line: &'a mut [u8],
    buffers: &mut simd_json::Buffers,
    sink: impl FnMut(&mut AuditEvent<'a>),
) -> Result<Decoded, DecodeFailure> {
    let lengths = skim::body_lengths(line);
    simd_json_path(line, buffers, lengths, sink)
}

/// The typed simd-json parse alone, without measuring the bodies: the bare parse that
/// `benches/decode.rs` compares the fast path with.
///
/// # Errors
/// A [`DecodeFailure`] when the bytes are not an audit event.
#[doc(hidden)]
pub fn decode_simd_json_only<'a>(
    line: &'a mut [u8],
    buffers: &mut simd_json::Buffers,
    sink: impl FnMut(&mut AuditEvent<'a>),
) -> Result<Decoded, DecodeFailure> {
    simd_json_path(line, buffers, (None, None), sink)
}

fn simd_json_path<'a>(
    line: &'a mut [u8],
    buffers: &mut simd_json::Buffers,
    (request_bytes, response_bytes): (Option<u32>, Option<u32>),
    mut sink: impl FnMut(&mut AuditEvent<'a>),
) -> Result<Decoded, DecodeFailure> {
    let shape = Shape::of(line);
    let mut raw: RawEvent<'a> = simd_json::serde::from_slice_with_buffers(line, buffers)
        .map_err(|e| DecodeFailure::invalid_json(shape, &e))?;
    (raw.request_bytes, raw.response_bytes) = (request_bytes, response_bytes);
    emit(raw, &mut sink)
}

/// Reads one line with the fast path ([`skim`]), or returns `None` (nothing changed) when the
/// simd-json path must read it. No padding needed.
#[doc(hidden)]
pub fn decode_skim<'a>(
    line: &'a mut [u8],
    mut sink: impl FnMut(&mut AuditEvent<'a>),
) -> Option<Result<Decoded, DecodeFailure>> {
    let mut found = skim::Found::default();
    if !skim::scan(line, &mut found) {
        return None;
    }
    Some(emit(skim::build(&found, line), &mut sink))
}

/// Padding a [`LineDecoder`] needs after the last line of a buffer (simd-json reads ahead in
/// 64-byte blocks; the bytes are left as they are).
pub const LINE_PADDING: usize = simd_json::INPUT_PADDING;

/// Which path a [`LineDecoder`] reads lines with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DecodePath {
    /// Every line tries the skim first, which reads the members the tables use and steps over
    /// the rest (bodies included); simd-json reads a line the skim leaves alone. Faster than
    /// simd-json on lines with and without bodies (docs/performance.md has the measurements).
    #[default]
    Skim,
    /// Every line through simd-json, the bodies measured by a walk of the line's top level: the
    /// reference the fast paths are held equal to.
    SimdJson,
    /// Every line through simd-json, no body measured: the decoder before the skim (benches).
    SimdJsonBare,
}

/// The hot-path decoder: reads each line by the skim ([`skim`]: the members the tables use, the
/// rest stepped over); a line the skim leaves alone is parsed by simd-json where it lies in the
/// chunk buffer — the lines after it serve as simd-json's
/// read-ahead padding, so nothing is copied — reusing simd-json's buffers and tape across lines,
/// so steady-state decoding allocates nothing.
pub struct LineDecoder {
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
    path: DecodePath,
    /// The skim's spans of the line at hand, reused line after line.
    found: skim::Found,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new(DecodePath::default())
    }
}

impl LineDecoder {
    /// A decoder that reads lines by `path`.
    #[must_use]
    pub fn new(path: DecodePath) -> Self {
        Self {
            buffers: simd_json::Buffers::new(64 * 1024),
            tape: Some(simd_json::Tape(Vec::new())),
            path,
            found: skim::Found::default(),
        }
    }

    /// A decoder that parses every line with simd-json and measures no body (the decoder before
    /// the fast path): the baseline of `benches/decode.rs`.
    #[doc(hidden)]
    #[must_use]
    pub fn simd_json_only() -> Self {
        Self::new(DecodePath::SimdJsonBare)
    }

    /// Decodes `buf[..len]`, calling `sink` per event; `buf` must extend at least
    /// [`LINE_PADDING`] bytes past `len` (with any content).
    ///
    /// # Errors
    /// A [`DecodeFailure`] when the line is not an audit event.
    pub fn decode<'a>(
        &mut self,
        buf: &'a mut [u8],
        len: usize,
        mut sink: impl FnMut(&mut AuditEvent<'a>),
    ) -> Result<Decoded, DecodeFailure> {
        let line = &buf[..len];
        let lengths = match self.path {
            DecodePath::SimdJsonBare => (None, None),
            DecodePath::SimdJson => skim::body_lengths(line),
            DecodePath::Skim => {
                if skim::scan(line, &mut self.found) {
                    return emit(skim::build(&self.found, &mut buf[..len]), &mut sink);
                }
                skim::body_lengths(line)
            }
        };
        let mut tape: simd_json::Tape<'a> = self
            .tape
            .take()
            .unwrap_or(simd_json::Tape(Vec::new()))
            .reset();
        let shape = Shape::of(&buf[..len]);
        if let Err(e) = simd_json::fill_tape_padded(buf, len, &mut self.buffers, &mut tape) {
            self.tape = Some(tape.reset());
            return Err(DecodeFailure::invalid_json(shape, &e));
        }
        let mut de = simd_json::Deserializer::from_tape(tape);
        let raw = RawEvent::deserialize(&mut de);
        let result = match raw {
            Ok(mut raw) => {
                (raw.request_bytes, raw.response_bytes) = lengths;
                emit(raw, &mut sink)
            }
            Err(e) => Err(DecodeFailure::invalid_json(shape, &e)),
        };
        self.tape = Some(de.into_tape().reset());
        result
    }
}

/// Decodes a whole JSON document: an `Event`, an `EventList`, or a JSON array of events.
///
/// # Errors
/// A [`DecodeFailure`] when the document is not audit events.
pub fn decode_document<'a>(
    doc: &'a mut [u8],
    buffers: &mut simd_json::Buffers,
    mut sink: impl FnMut(&mut AuditEvent<'a>),
) -> Result<Decoded, DecodeFailure> {
    let is_array = doc.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if !is_array {
        return decode_in_place(doc, buffers, sink);
    }
    let shape = Shape::of(doc);
    let items: Vec<RawItem<'a>> = simd_json::serde::from_slice_with_buffers(doc, buffers)
        .map_err(|e| DecodeFailure::invalid_json(shape, &e))?;
    Ok(emit_items(items, &mut sink))
}

/// Hands the event (or each item of an `EventList`) to `sink`. The sink borrows it — mutably,
/// so framing can stamp the record's time — because moving the ~500-byte event into every
/// call was a copy per event (1% of the workers' instructions on the Metadata log).
pub(crate) fn emit<'a>(
    raw: RawEvent<'a>,
    sink: &mut impl FnMut(&mut AuditEvent<'a>),
) -> Result<Decoded, DecodeFailure> {
    if let Some(items) = raw.items {
        if raw.kind.is_some_and(|k| k != "EventList") {
            return Err(DecodeFailure::NotAnEvent);
        }
        return Ok(emit_items(items, sink));
    }
    let is_event = raw
        .kind
        .map_or(raw.stage.is_some() && raw.verb.is_some(), |k| k == "Event");
    if !is_event || raw.stage.is_none() {
        return Err(DecodeFailure::NotAnEvent);
    }
    sink(&mut AuditEvent::from_raw(raw));
    Ok(Decoded::one())
}

/// The items of an `EventList` or array, each decoded on its own.
fn emit_items<'a>(items: Vec<RawItem<'a>>, sink: &mut impl FnMut(&mut AuditEvent<'a>)) -> Decoded {
    let mut out = Decoded::default();
    for (index, RawItem(item)) in items.into_iter().enumerate() {
        // An item is an event: a list nested in a list (never written by the API server) is
        // not, which also keeps a deeply nested document from being rebuilt at every level.
        let one = RawEvent::deserialize(item)
            .map_err(|e| DecodeFailure::invalid_json(Shape::OBJECT, &e))
            .and_then(|raw| {
                if raw.items.is_some() {
                    Err(DecodeFailure::NotAnEvent)
                } else {
                    emit(raw, sink)
                }
            });
        match one {
            Ok(d) => out.events += d.events,
            Err(failure) => out.bad_items.push(BadItem { index, failure }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<(String, String, String, Option<i64>), DecodeFailure> {
        let mut bytes = line.as_bytes().to_vec();
        let mut buffers = simd_json::Buffers::default();
        let mut out = None;
        decode_in_place(&mut bytes, &mut buffers, |e| {
            out = Some((
                e.request_uri.to_owned(),
                e.username.to_owned(),
                e.pod_name.to_owned(),
                e.latency_us(),
            ));
        })?;
        Ok(out.unwrap())
    }

    #[test]
    fn go_escapes_are_unescaped() {
        let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500\u0026resourceVersion=0","verb":"list","user":{"username":"system:serviceaccount:ns:sa","extra":{"authentication.kubernetes.io/pod-name":["p-1"],"x":["y"]}},"requestReceivedTimestamp":"2023-06-12T13:20:01.000000Z","stageTimestamp":"2023-06-12T13:20:01.250000Z"}"#;
        let (uri, user, pod, lat) = one(line).unwrap();
        assert_eq!(uri, "/api/v1/pods?limit=500&resourceVersion=0");
        assert_eq!(user, "system:serviceaccount:ns:sa");
        assert_eq!(pod, "p-1");
        assert_eq!(lat, Some(250_000));
    }

    #[test]
    fn one_bad_item_is_skipped_alone() {
        let ev = |verb: &str| {
            format!(
                r#"{{"kind":"Event","stage":"ResponseComplete","verb":{verb},"user":{{"username":"u"}}}}"#
            )
        };
        let nested = format!(r#"{{"kind":"EventList","items":[{}]}}"#, ev(r#""get""#));
        let items = [
            ev(r#""get""#),
            ev("7"),
            ev(r#""list""#),
            r#"{"kind":"Pod"}"#.into(),
            nested,
        ]
        .join(",");
        for doc in [
            format!(r#"{{"kind":"EventList","items":[{items}]}}"#),
            format!("[{items}]"),
        ] {
            let mut bytes = doc.into_bytes();
            let mut verbs = Vec::new();
            let d = decode_document(&mut bytes, &mut simd_json::Buffers::default(), |e| {
                verbs.push(e.verb.to_owned());
            })
            .unwrap();
            assert_eq!(verbs, ["get", "list"]);
            assert_eq!(d.events, 2);
            let bad: Vec<_> = d
                .bad_items
                .iter()
                .map(|b| (b.index, b.failure.reason()))
                .collect();
            assert_eq!(
                bad,
                [
                    (1, "invalid-json"),
                    (3, "not-an-audit-event"),
                    (4, "not-an-audit-event")
                ]
            );
            assert!(
                d.bad_items[0]
                    .message()
                    .starts_with("item 2: a field has the wrong type"),
                "{}",
                d.bad_items[0].message()
            );
        }
    }

    #[test]
    fn json_patch_bodies_are_events_too() {
        let line = r#"{"kind":"Event","level":"RequestResponse","stage":"ResponseComplete","verb":"patch","user":{"username":"u"},"requestObject":[{"op":"add","path":"/a","value":1},{"op":"remove","path":"/b"}],"responseObject":{"metadata":{"resourceVersion":"7"}}}"#;
        let mut bytes = line.as_bytes().to_vec();
        let mut rv = None;
        decode_in_place(&mut bytes, &mut simd_json::Buffers::default(), |e| {
            rv = e.response_rv.map(str::to_owned);
        })
        .unwrap();
        assert_eq!(rv.as_deref(), Some("7"));
    }

    #[test]
    fn event_list_yields_items() {
        let line = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Event","stage":"ResponseComplete","verb":"get"},{"kind":"Event","stage":"RequestReceived","verb":"get"}]}"#;
        let mut bytes = line.as_bytes().to_vec();
        let mut n = 0;
        let got = decode_in_place(&mut bytes, &mut simd_json::Buffers::default(), |_| n += 1);
        assert_eq!(got.map(|d| d.events), Ok(2));
        assert_eq!(n, 2);
    }

    /// The message both decoders give for `line`.
    fn messages(line: &str) -> [String; 2] {
        let in_place = one(line).unwrap_err().message();
        let mut buf = line.as_bytes().to_vec();
        buf.resize(line.len() + LINE_PADDING, b' ');
        let hot = LineDecoder::default()
            .decode(&mut buf, line.len(), |_| {})
            .unwrap_err()
            .message();
        [in_place, hot]
    }

    #[test]
    fn failures_are_said_in_words() {
        for (line, want) in [
            ("# a comment", "not JSON: starts with '#'"),
            ("sha256  audit.log", "not JSON: starts with 's'"),
            ("\u{1}binary", "not JSON: starts with byte 0x01"),
            (
                r#"{"kind":"Event","verb":"get""#,
                "invalid JSON: the line ends",
            ),
            (r#"{"kind" "Event"}"#, "invalid JSON: "),
            (
                r#"{"kind":"Event","stage":"ResponseComplete","verb":"get","responseStatus":{"code":"200"}}"#,
                "a field has the wrong type",
            ),
        ] {
            for got in messages(line) {
                assert!(got.starts_with(want), "{line:?}: {got}");
                assert!(
                    !got.contains("InternalError") && !got.contains("character"),
                    "{line:?}: {got}"
                );
            }
        }
    }

    #[test]
    fn failures_have_reasons() {
        assert_eq!(one(r#"{"a":1}"#).unwrap_err(), DecodeFailure::NotAnEvent);
        assert!(matches!(
            one("{nope").unwrap_err(),
            DecodeFailure::InvalidJson(_)
        ));
        let wrong_type = r#"{"kind":"Event","stage":"ResponseComplete","verb":"get","responseStatus":{"code":"200"}}"#;
        assert!(matches!(
            one(wrong_type).unwrap_err(),
            DecodeFailure::InvalidJson(_)
        ));
    }
}

//! Decode: the query string of a `requestURI` — resourceVersion semantics, pagination,
//! selectors, watch timeouts. The URI arrives JSON-unescaped (Go's `\u0026` is already `&`);
//! values are percent-decoded only when a caller needs their text.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The query parameters audit-scan reads from a `requestURI`. Values are raw (still
/// percent-encoded); use [`decoded`] for their text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Query<'a> {
    /// The path before `?`.
    pub path: &'a str,
    /// `resourceVersion`.
    pub resource_version: Option<&'a str>,
    /// `resourceVersionMatch`.
    pub resource_version_match: Option<&'a str>,
    /// `limit`.
    pub limit: Option<&'a str>,
    /// `continue`.
    pub continue_token: bool,
    /// `watch=true` (or `1`).
    pub watch: bool,
    /// `labelSelector` present and non-empty.
    pub label_selector: bool,
    /// `fieldSelector` present and non-empty.
    pub field_selector: bool,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u32>,
    /// `sendInitialEvents=true` (watch-list).
    pub send_initial_events: bool,
    /// `dryRun` present (`All`).
    pub dry_run: bool,
    /// `follow=true` (pods/log).
    pub follow: bool,
}

fn truthy(v: &str) -> bool {
    v.eq_ignore_ascii_case("true") || v == "1"
}

impl<'a> Query<'a> {
    /// Splits a request URI into its path and the parameters of interest.
    #[must_use]
    pub fn parse(uri: &'a str) -> Self {
        let Some(at) = memchr::memchr(b'?', uri.as_bytes()) else {
            // Most requests (GETs, writes) carry no query: nothing to split.
            return Query {
                path: uri,
                ..Query::default()
            };
        };
        let mut q = Query {
            path: &uri[..at],
            ..Query::default()
        };
        for pair in uri[at + 1..].split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "resourceVersion" => q.resource_version = Some(v),
                "resourceVersionMatch" => q.resource_version_match = Some(v),
                "limit" => q.limit = Some(v),
                "continue" => q.continue_token = !v.is_empty(),
                "watch" => q.watch = truthy(v),
                "labelSelector" => q.label_selector = !v.is_empty(),
                "fieldSelector" => q.field_selector = !v.is_empty(),
                "timeoutSeconds" => q.timeout_seconds = v.parse().ok(),
                "sendInitialEvents" => q.send_initial_events = truthy(v),
                "dryRun" => q.dry_run = !v.is_empty(),
                "follow" => q.follow = truthy(v),
                _ => {}
            }
        }
        q
    }

    /// `limit` as a positive number (`limit=0` means no limit).
    #[must_use]
    pub fn limit_value(&self) -> Option<u64> {
        self.limit.and_then(|l| l.parse().ok()).filter(|&l| l > 0)
    }

    /// How the apiserver is asked to serve this LIST (DESIGN.md "LIST semantics").
    #[must_use]
    pub fn rv_semantics(&self) -> RvSemantics {
        if self.continue_token {
            return RvSemantics::Continue;
        }
        match (self.resource_version, self.resource_version_match) {
            (None | Some(""), _) => RvSemantics::Consistent,
            (Some("0"), _) => RvSemantics::Any,
            (Some(_), Some("Exact")) => RvSemantics::Exact,
            (Some(_), None) if self.limit_value().is_some() => RvSemantics::LegacyExact,
            (Some(_), _) => RvSemantics::NotOlderThan,
        }
    }
}

/// The resourceVersion semantics of a LIST, from which the serving layer is inferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RvSemantics {
    /// No resourceVersion: a consistent (quorum) read — etcd before 1.31, the watch cache since
    /// (unless paginated: see [`RvSemantics::from_cache`]).
    Consistent,
    /// `resourceVersion=0`: any version, from the watch cache; `limit` is ignored.
    Any,
    /// `resourceVersion=N` with `NotOlderThan` (or without limit): the watch cache, unless
    /// paginated.
    NotOlderThan,
    /// `resourceVersionMatch=Exact`: etcd.
    Exact,
    /// `resourceVersion=N` with `limit` and no match (legacy exact): etcd.
    LegacyExact,
    /// A `continue` page: etcd.
    Continue,
}

impl RvSemantics {
    /// Whether this read is served from the watch cache, following kube-apiserver's
    /// `shouldDelegateList` (staging/src/k8s.io/apiserver/pkg/storage/cacher): continuations,
    /// `Exact` matches and any `limit` with a resourceVersion other than `0` go to etcd; a
    /// consistent read goes to etcd unless the server serves consistent reads from the cache
    /// (`ConsistentListFromCache`, on by default from 1.31). `limited`: `limit` > 0 was given.
    /// Releases with cache snapshots (`ListFromCacheSnapshot`) may serve paginated LISTs from the
    /// cache too; this inference does not assume it.
    #[must_use]
    pub fn from_cache(self, limited: bool, consistent_from_cache: bool) -> bool {
        match self {
            Self::Any => true,
            Self::Exact | Self::LegacyExact | Self::Continue => false,
            _ if limited => false,
            Self::NotOlderThan => true,
            Self::Consistent => consistent_from_cache,
        }
    }
}

/// Percent-decodes a query value (`cluster-network-operator%2Foperconfig` →
/// `cluster-network-operator/operconfig`); `+` is a space, as in form encoding.
#[must_use]
pub fn decoded(v: &str) -> Cow<'_, str> {
    if !v.contains(['%', '+']) {
        return Cow::Borrowed(v);
    }
    let spaced = v.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_watch_uri_from_ocp_sample() {
        // requestURI of a watch in ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl after JSON
        // unescaping of its \u0026 separators.
        let q = Query::parse(
            "/api/v1/namespaces/openshift-x/secrets?allowWatchBookmarks=true&resourceVersion=8930952&timeout=5m36s&timeoutSeconds=336&watch=true",
        );
        assert!(q.watch);
        assert_eq!(q.timeout_seconds, Some(336));
        assert_eq!(q.resource_version, Some("8930952"));
        assert_eq!(q.path, "/api/v1/namespaces/openshift-x/secrets");
    }

    #[test]
    fn a_uri_without_a_query_is_all_path() {
        for uri in [
            "/api/v1/namespaces/n/pods/p",
            "",
            "/healthz",
            "/api/v1/pods?",
        ] {
            let q = Query::parse(uri);
            let want = Query {
                path: uri.trim_end_matches('?'),
                ..Query::default()
            };
            assert_eq!(q, want, "{uri}");
        }
        // A `?` ends the path even when a parameter-like text comes before it.
        let q = Query::parse("/api/v1/pods/watch=true?limit=5");
        assert_eq!(q.path, "/api/v1/pods/watch=true");
        assert_eq!((q.watch, q.limit), (false, Some("5")));
    }

    #[test]
    fn rv_semantics_table() {
        let s = |u: &str| Query::parse(u).rv_semantics();
        assert_eq!(s("/api/v1/pods"), RvSemantics::Consistent);
        assert_eq!(s("/api/v1/pods?limit=500"), RvSemantics::Consistent);
        assert_eq!(
            s("/api/v1/pods?resourceVersion=0&limit=500"),
            RvSemantics::Any
        );
        assert_eq!(
            s("/api/v1/pods?resourceVersion=12"),
            RvSemantics::NotOlderThan
        );
        assert_eq!(
            s("/api/v1/pods?resourceVersion=12&limit=5"),
            RvSemantics::LegacyExact
        );
        assert_eq!(
            s("/api/v1/pods?resourceVersion=12&resourceVersionMatch=Exact&limit=5"),
            RvSemantics::Exact
        );
        assert_eq!(
            s("/api/v1/pods?resourceVersion=12&resourceVersionMatch=NotOlderThan&limit=5"),
            RvSemantics::NotOlderThan
        );
        assert_eq!(
            s("/api/v1/pods?limit=5&continue=abc"),
            RvSemantics::Continue
        );
        assert!(!RvSemantics::Consistent.from_cache(false, false));
        assert!(RvSemantics::Consistent.from_cache(false, true));
        assert!(
            !RvSemantics::Consistent.from_cache(true, true),
            "paginated: etcd"
        );
        assert!(
            RvSemantics::Any.from_cache(true, false),
            "rv=0 ignores limit"
        );
        assert!(!RvSemantics::NotOlderThan.from_cache(true, true));
        assert!(RvSemantics::NotOlderThan.from_cache(false, false));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            decoded("cluster-network-operator%2Foperconfig"),
            "cluster-network-operator/operconfig"
        );
        assert_eq!(decoded("a+b"), "a b");
        assert!(matches!(decoded("plain"), Cow::Borrowed(_)));
        assert_eq!(decoded("%ZZ"), "%ZZ");
    }

    #[test]
    fn selectors_and_flags() {
        let q = Query::parse(
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&labelSelector=&dryRun=All&limit=0",
        );
        assert!(q.field_selector && !q.label_selector && q.dry_run);
        assert_eq!(q.limit_value(), None);
    }
}

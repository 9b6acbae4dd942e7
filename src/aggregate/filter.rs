//! Aggregate: which requests count — the time window (`--since/--until`) and the filters
//! (`--user`, `--user-agent`, `--client`, `--namespace`, `--resource`, `--verb`, `--code`).
//! Patterns are globs; a pattern without `*`, `?` or `[` matches exactly. A repeated flag means
//! "any of". A resource matches in every form the report prints it: `deployments`,
//! `deployments.apps`, `deployments/status`, `deployments.apps/status`.
//! A `--client` pattern matches the client name or the userAgent's product, so `karpenter`
//! finds `karpenter@kube-system/karpenter`.

use globset::{GlobSet, GlobSetBuilder};

use crate::timefmt::Micros;

/// A half-open time window `[since, until)` on the audit event's own time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub since: Option<Micros>,
    /// Exclusive end.
    pub until: Option<Micros>,
}

impl Window {
    /// Whether a window was asked for.
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// Whether `t` falls inside.
    #[must_use]
    pub fn contains(&self, t: Micros) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// A filter flag's value that cannot be used, quoting it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A pattern that is not a glob.
    #[error("invalid {flag} pattern '{pattern}': {source}")]
    Pattern {
        /// The flag, e.g. `--user`.
        flag: String,
        /// The pattern as given.
        pattern: String,
        /// Why it is not a glob.
        #[source]
        source: globset::Error,
    },
    /// The patterns do not build one matcher.
    #[error("invalid {flag} patterns: {source}")]
    Patterns {
        /// The flag.
        flag: String,
        /// Why.
        #[source]
        source: globset::Error,
    },
    /// A `--code` that is neither a status code nor a class.
    #[error("invalid --code '{0}': expected a status code (429) or a class (1xx to 5xx)")]
    Code(String),
}

/// One filter: any of its globs matches.
#[derive(Debug, Clone)]
pub struct Patterns {
    raw: Vec<String>,
    set: GlobSet,
}

impl Patterns {
    /// Compiles the patterns of one flag.
    ///
    /// # Errors
    /// The bad pattern, quoted.
    pub fn new(flag: &str, patterns: &[String]) -> Result<Option<Self>, FilterError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            let g = globset::GlobBuilder::new(p)
                .literal_separator(false)
                .build()
                .map_err(|source| FilterError::Pattern {
                    flag: flag.to_owned(),
                    pattern: p.clone(),
                    source,
                })?;
            b.add(g);
        }
        let set = b.build().map_err(|source| FilterError::Patterns {
            flag: flag.to_owned(),
            source,
        })?;
        Ok(Some(Self {
            raw: patterns.to_vec(),
            set,
        }))
    }

    /// Whether `s` matches any pattern.
    #[must_use]
    pub fn matches(&self, s: &str) -> bool {
        self.set.is_match(s)
    }

    /// Whether a `--client` pattern matches a client: its name or its userAgent product.
    #[must_use]
    pub fn matches_client(&self, name: &str, product: &str) -> bool {
        self.set.is_match(name) || (!product.is_empty() && self.set.is_match(product))
    }

    /// Marks in `seen` (one slot per pattern) the patterns that match `s`.
    fn mark(&self, s: &str, seen: &mut [bool], buf: &mut Vec<usize>) {
        self.set.matches_into(s, buf);
        for &i in buf.iter() {
            seen[i] = true;
        }
    }

    /// The patterns as given.
    #[must_use]
    pub fn raw(&self) -> &[String] {
        &self.raw
    }
}

/// `--code`: status codes (`429`) or classes (`4xx`), any of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codes {
    raw: Vec<String>,
    /// Inclusive ranges.
    ranges: Vec<(u16, u16)>,
}

impl Codes {
    /// Parses the values of `--code`.
    ///
    /// # Errors
    /// The bad value, quoted.
    pub fn new(values: &[String]) -> Result<Option<Self>, FilterError> {
        if values.is_empty() {
            return Ok(None);
        }
        let ranges = values
            .iter()
            .map(|v| parse_code(v))
            .collect::<Result<_, _>>()?;
        Ok(Some(Self {
            raw: values.to_vec(),
            ranges,
        }))
    }

    /// Whether `code` is one of them.
    #[must_use]
    pub fn matches(&self, code: u16) -> bool {
        self.ranges
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&code))
    }

    /// The values as given.
    #[must_use]
    pub fn raw(&self) -> &[String] {
        &self.raw
    }
}

fn parse_code(v: &str) -> Result<(u16, u16), FilterError> {
    let bad = || FilterError::Code(v.to_owned());
    let t = v.trim();
    if let Some(class) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
        return match class.parse::<u16>() {
            Ok(c @ 1..=5) => Ok((c * 100, c * 100 + 99)),
            _ => Err(bad()),
        };
    }
    match t.parse::<u16>() {
        Ok(c @ 100..=599) => Ok((c, c)),
        _ => Err(bad()),
    }
}

/// All request filters; `None` fields let everything through.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `--user` on `user.username`.
    pub user: Option<Patterns>,
    /// `--user-agent` on the raw userAgent.
    pub user_agent: Option<Patterns>,
    /// `--client` on the normalized client name or the userAgent product.
    pub client: Option<Patterns>,
    /// `--namespace` on `objectRef.namespace`.
    pub namespace: Option<Patterns>,
    /// `--resource` on `objectRef.resource` (or `resource/subresource`).
    pub resource: Option<Patterns>,
    /// `--verb`.
    pub verb: Option<Patterns>,
    /// `--code` on `responseStatus.code`.
    pub code: Option<Codes>,
}

fn ok(p: Option<&Patterns>, s: &str) -> bool {
    p.is_none_or(|p| p.matches(s))
}

impl Filters {
    /// Whether no filter is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.user_agent.is_none()
            && self.client.is_none()
            && self.namespace.is_none()
            && self.resource.is_none()
            && self.verb.is_none()
            && self.code.is_none()
    }

    /// The filters as flags (`--resource 'pods' --code '5xx'`), for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        let globs = [
            ("--user", &self.user),
            ("--user-agent", &self.user_agent),
            ("--client", &self.client),
            ("--namespace", &self.namespace),
            ("--resource", &self.resource),
            ("--verb", &self.verb),
        ];
        let mut out: Vec<String> = globs
            .into_iter()
            .filter_map(|(flag, p)| Some((flag, p.as_ref()?.raw())))
            .chain(self.code.as_ref().map(|c| ("--code", c.raw())))
            .flat_map(|(flag, raw)| raw.iter().map(move |v| format!("{flag} '{v}'")))
            .collect();
        out.dedup();
        out.join(" ")
    }

    /// Whether a request passes every filter.
    #[must_use]
    pub fn accepts(&self, r: &FilterView) -> bool {
        ok(self.user.as_ref(), r.username)
            && ok(self.user_agent.as_ref(), r.user_agent)
            && self
                .client
                .as_ref()
                .is_none_or(|p| p.matches_client(r.client, r.product))
            && ok(self.namespace.as_ref(), r.namespace)
            && ok(self.verb.as_ref(), r.verb)
            && self.code.as_ref().is_none_or(|c| c.matches(r.code))
            && self
                .resource
                .as_ref()
                .is_none_or(|p| resource_matches(p, r))
    }
}

impl Filters {
    /// Each flag with its patterns, in a fixed order: the order of the slots of
    /// [`Filters::mark_seen`].
    #[must_use]
    pub fn flags(&self) -> [(&'static str, Option<&Patterns>); 6] {
        [
            ("--user", self.user.as_ref()),
            ("--user-agent", self.user_agent.as_ref()),
            ("--client", self.client.as_ref()),
            ("--namespace", self.namespace.as_ref()),
            ("--resource", self.resource.as_ref()),
            ("--verb", self.verb.as_ref()),
        ]
    }

    /// Patterns over all flags (the length of `seen` in [`Filters::mark_seen`]).
    #[must_use]
    pub fn pattern_count(&self) -> usize {
        self.flags()
            .iter()
            .filter_map(|(_, p)| *p)
            .map(|p| p.raw.len())
            .sum()
    }

    /// Marks in `seen` every pattern that matches its field of `r`, whether or not `r` passes the
    /// other filters: a pattern that never matches is a typo worth a warning.
    pub fn mark_seen(&self, r: &FilterView, seen: &mut [bool], buf: &mut Vec<usize>) {
        let mut at = 0;
        for (flag, p) in self.flags() {
            let Some(p) = p else { continue };
            let slots = &mut seen[at..at + p.raw.len()];
            at += p.raw.len();
            match flag {
                "--user" => p.mark(r.username, slots, buf),
                "--user-agent" => p.mark(r.user_agent, slots, buf),
                "--client" => {
                    p.mark(r.client, slots, buf);
                    p.mark(r.product, slots, buf);
                }
                "--namespace" => p.mark(r.namespace, slots, buf),
                "--resource" => {
                    resource_forms(r, |form| {
                        p.mark(form, slots, buf);
                        false
                    });
                }
                _ => p.mark(r.verb, slots, buf),
            }
        }
    }

    /// The filters as given, one `--flag 'pattern'` per pattern.
    #[must_use]
    pub fn describe_each(&self) -> Vec<String> {
        self.flags()
            .iter()
            .filter_map(|(flag, p)| p.map(|p| (flag, p)))
            .flat_map(|(flag, p)| p.raw.iter().map(move |r| format!("{flag} '{r}'")))
            .collect()
    }
}

/// Every form of the request's resource the report prints — `pods`, `deployments.apps`
/// (outside the core group), each with `/subresource` — until `f` says stop (returns true).
/// The qualified forms are built only when the request has a group or a subresource.
fn resource_forms(r: &FilterView, mut f: impl FnMut(&str) -> bool) -> bool {
    if f(r.resource) {
        return true;
    }
    let qualified = (!r.api_group.is_empty()).then(|| format!("{}.{}", r.resource, r.api_group));
    if qualified.as_deref().is_some_and(&mut f) {
        return true;
    }
    if r.subresource.is_empty() {
        return false;
    }
    f(&format!("{}/{}", r.resource, r.subresource))
        || qualified.is_some_and(|q| f(&format!("{q}/{}", r.subresource)))
}

/// Whether any form of the request's resource the report prints matches.
fn resource_matches(p: &Patterns, r: &FilterView) -> bool {
    resource_forms(r, |form| p.matches(form))
}

/// The fields of a request that filters look at.
pub struct FilterView<'a> {
    /// Username.
    pub username: &'a str,
    /// Raw userAgent (`""` if none).
    pub user_agent: &'a str,
    /// Client name.
    pub client: &'a str,
    /// The userAgent's product (`""` if none).
    pub product: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Resource.
    pub resource: &'a str,
    /// Subresource.
    pub subresource: &'a str,
    /// API group (`""` for the core group).
    pub api_group: &'a str,
    /// Verb.
    pub verb: &'a str,
    /// `responseStatus.code` (a Panic without one is 500; none at all is 0).
    pub code: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_exact() {
        let p = Patterns::new(
            "--client",
            &["kube-controller-manager/*".into(), "kubelet".into()],
        )
        .unwrap()
        .unwrap();
        assert!(p.matches("kube-controller-manager/replicaset-controller"));
        assert!(p.matches("kubelet"));
        assert!(!p.matches("kubelet2"));
        let e = Patterns::new("--client", &["[".into()]).unwrap_err();
        assert!(
            matches!(&e, FilterError::Pattern { flag, pattern, .. } if flag == "--client" && pattern == "["),
            "{e}"
        );
        assert!(
            e.to_string().starts_with("invalid --client pattern '[': "),
            "{e}"
        );
    }

    fn view<'a>(resource: &'a str, sub: &'a str, group: &'a str, code: u16) -> FilterView<'a> {
        FilterView {
            username: "u",
            user_agent: "",
            client: "c",
            product: "",
            namespace: "",
            resource,
            subresource: sub,
            api_group: group,
            verb: "get",
            code,
        }
    }

    fn resource(patterns: &[&str]) -> Filters {
        let raw: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        Filters {
            resource: Patterns::new("--resource", &raw).unwrap(),
            ..Filters::default()
        }
    }

    #[test]
    fn resources_match_as_the_report_prints_them() {
        let deploy = view("deployments", "", "apps", 200);
        let status = view("deployments", "status", "apps", 200);
        let pods = view("pods", "eviction", "", 429);
        for (pattern, d, s, p) in [
            ("deployments", true, true, false),
            ("deployments.apps", true, true, false),
            ("deployments.apps/status", false, true, false),
            ("deployments/status", false, true, false),
            ("*.apps", true, true, false),
            ("pods/eviction", false, false, true),
            ("pods.core", false, false, false),
            ("deployments.batch", false, false, false),
        ] {
            let f = resource(&[pattern]);
            assert_eq!(
                [f.accepts(&deploy), f.accepts(&status), f.accepts(&pods)],
                [d, s, p],
                "{pattern}"
            );
        }
    }

    #[test]
    fn codes_and_classes() {
        let f = Filters {
            code: Codes::new(&["429".into(), "5xx".into()]).unwrap(),
            ..Filters::default()
        };
        let at = |code| f.accepts(&view("pods", "", "", code));
        assert!(at(429) && at(500) && at(503) && at(599));
        assert!(!at(200) && !at(404) && !at(428) && !at(0));
        for bad in ["6xx", "42", "abc", "0xx", "1000", ""] {
            let e = Codes::new(&[bad.into()]).unwrap_err();
            assert_eq!(e, FilterError::Code(bad.into()));
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
        assert!(Codes::new(&["4XX".into()]).unwrap().unwrap().matches(404));
        assert_eq!(f.describe(), "--code '429' --code '5xx'");
    }

    #[test]
    fn window_is_half_open() {
        let w = Window {
            since: Some(10),
            until: Some(20),
        };
        assert!(w.contains(10) && w.contains(19) && !w.contains(20) && !w.contains(9));
    }
}

//! Decode: client identity — a stable, readable name for "who sent this request", derived from
//! the userAgent and the authenticated user (DESIGN.md "client identity").
//!
//! Rules, in order:
//! 1. A userAgent is read as client-go writes it: `PRODUCT/VERSION (OS/ARCH) kubernetes/COMMIT`,
//!    optionally followed by `/SUFFIX` (kube-controller-manager names each controller this way,
//!    as do operators that call `rest.AddUserAgent`). Version, platform and commit are dropped.
//! 2. With a suffix the client is `PRODUCT/SUFFIX`; a suffix that is a service-account username
//!    is cut to the account's name (`kube-controller-manager/replicaset-controller`), and any
//!    other suffix loses its versions and commits (`workflow-controller/argo-workflows/v3.5.8
//!    argo-controller` → `workflow-controller/argo-workflows/argo-controller`). A generic product
//!    (`manager`, `main`, `Go-http-client` …) keeps the service account after the suffix
//!    (`manager/reconciler@team-a/op`), as rule 4.
//! 3. Every kubelet (a `kubelet` product, or a `system:node:*` user with no usable userAgent) is
//!    the one client `kubelet`; the node stays in the client's evidence (its users).
//! 4. For a service account the client is `PRODUCT@NAMESPACE/NAME`: many kubebuilder operators
//!    all send `manager/v0.0.0 …`, so the product alone does not say whose it is.
//! 5. Otherwise the client is the product (`kubectl`, `kube-apiserver`).
//! 6. With no usable userAgent (absent, empty, or only a version such as `v2.6.0`) the client is
//!    `sa:NAMESPACE/NAME` for service accounts, or the username (`system:kube-scheduler`), or
//!    `unknown` when there is no username either.
//!
//! Names are capped at 200 bytes (on a character boundary): a userAgent is attacker-controlled.

/// The longest client name kept.
pub const MAX_CLIENT_LEN: usize = 200;

/// `system:serviceaccount:NS:NAME` → `(NS, NAME)`.
#[must_use]
pub fn service_account(username: &str) -> Option<(&str, &str)> {
    username
        .strip_prefix("system:serviceaccount:")?
        .split_once(':')
}

/// `system:node:NAME` → `NAME`.
#[must_use]
pub fn node_name(username: &str) -> Option<&str> {
    username.strip_prefix("system:node:")
}

/// The parts of a client-go style userAgent.
#[derive(Debug, PartialEq, Eq)]
pub struct UserAgent<'a> {
    /// The program: the text before the first `/` or space.
    pub product: &'a str,
    /// What follows `kubernetes/COMMIT/`, if anything.
    pub suffix: Option<&'a str>,
}

impl<'a> UserAgent<'a> {
    /// Parses a userAgent; `None` when it names no product.
    #[must_use]
    pub fn parse(ua: &'a str) -> Option<Self> {
        let ua = ua.trim();
        let end = ua.find(['/', ' ', '(']).unwrap_or(ua.len());
        let product = ua[..end].trim();
        let looks_like_version = product
            .strip_prefix(['v', 'V'])
            .unwrap_or(product)
            .starts_with(|c: char| c.is_ascii_digit());
        if product.is_empty() || looks_like_version {
            return None;
        }
        let suffix = ua
            .find(") kubernetes/")
            .map(|i| &ua[i + ") kubernetes/".len()..])
            .and_then(|rest| rest.split_once('/'))
            .map(|(_commit, s)| s.trim())
            .filter(|s| !s.is_empty());
        Some(Self { product, suffix })
    }
}

fn cap(mut s: String) -> String {
    if s.len() > MAX_CLIENT_LEN {
        let mut end = MAX_CLIENT_LEN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Products many unrelated programs send: kubebuilder's `manager`, `main`, the default HTTP
/// clients of Go, Java, Python and Node.
fn is_generic(product: &str) -> bool {
    matches!(
        product.to_ascii_lowercase().as_str(),
        "manager"
            | "main"
            | "controller"
            | "operator"
            | "go-http-client"
            | "okhttp"
            | "python-requests"
            | "node-fetch"
            | "axios"
    )
}

/// Whether a userAgent token is a version, a commit or a placeholder (`v3.5.8`, `0.35.1`,
/// `1e5e9e8`, `$Format`): what a name must not carry, so `diff` matches across upgrades.
fn is_version_token(t: &str) -> bool {
    let bare = t.strip_prefix(['v', 'V']).unwrap_or(t);
    let versionish = bare.starts_with(|c: char| c.is_ascii_digit())
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    let sha = t.len() >= 7 && t.chars().all(|c| c.is_ascii_hexdigit());
    versionish || sha || t.starts_with('$')
}

/// A userAgent suffix without its versions (`argo-workflows/v3.5.8 argo-controller` →
/// `argo-workflows/argo-controller`).
fn without_versions(suffix: &str) -> String {
    suffix
        .split(|c: char| c == '/' || c.is_whitespace())
        .filter(|t| !t.is_empty() && !is_version_token(t))
        .collect::<Vec<_>>()
        .join("/")
}

/// The client name for a request (see the module docs for the rules).
#[must_use]
pub fn client_name(user_agent: Option<&str>, username: &str) -> String {
    let ua = user_agent.and_then(UserAgent::parse);
    let is_node = node_name(username).is_some();
    let sa = service_account(username);
    let name = match ua {
        Some(ua) if ua.product == "kubelet" => "kubelet".to_owned(),
        Some(UserAgent {
            product,
            suffix: Some(suffix),
        }) => {
            let suffix = service_account(suffix)
                .map_or_else(|| without_versions(suffix), |(_, name)| name.to_owned());
            match sa {
                _ if suffix.is_empty() => match sa {
                    Some((ns, name)) => format!("{product}@{ns}/{name}"),
                    None => product.to_owned(),
                },
                // A generic product says nothing of whose it is: keep the account.
                Some((ns, name)) if is_generic(product) && suffix != name => {
                    format!("{product}/{suffix}@{ns}/{name}")
                }
                _ => format!("{product}/{suffix}"),
            }
        }
        Some(UserAgent { product, .. }) => match sa {
            Some((ns, name)) => format!("{product}@{ns}/{name}"),
            None => product.to_owned(),
        },
        None if is_node => "kubelet".to_owned(),
        None => match sa {
            Some((ns, name)) => format!("sa:{ns}/{name}"),
            None if username.is_empty() => "unknown".to_owned(),
            None => username.to_owned(),
        },
    };
    cap(name)
}

/// The userAgent product a client name was made from: its text before the first `/` or `@`
/// (`karpenter` of `karpenter@kube-system/karpenter`, `kube-controller-manager` of
/// `kube-controller-manager/replicaset-controller`). A name made from the user alone (rule 6)
/// gives its own text up to those characters. This is how `diff --client`, which has only the
/// report's names, matches products.
#[must_use]
pub fn client_product(name: &str) -> &str {
    name.find(['/', '@']).map_or(name, |i| &name[..i])
}

/// The `n` client names nearest to a glob `pattern` (its metacharacters dropped), by
/// Jaro-Winkler similarity to the name or its product, most similar first: what a filter that
/// matched nothing probably meant.
#[must_use]
pub fn nearest<'a>(
    pattern: &str,
    names: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<&'a str> {
    let bare: String = pattern
        .chars()
        .filter(|c| !matches!(c, '*' | '?' | '[' | ']'))
        .collect();
    let mut scored: Vec<(f64, &str)> = names
        .into_iter()
        .map(|name| {
            let score = strsim::jaro_winkler(&bare, name)
                .max(strsim::jaro_winkler(&bare, client_product(name)));
            (score, name)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(n).map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real userAgent/username pairs from fixtures/realdata and common controllers.
    #[test]
    fn client_names() {
        let cases: &[(Option<&str>, &str, &str)] = &[
            // fixtures/realdata/ocp-k8s1.25-RequestResponse.clo-audit_in.jsonl
            (
                Some("cluster-version-operator/v0.0.0 (linux/amd64) kubernetes/$Format"),
                "system:serviceaccount:openshift-cluster-version:default",
                "cluster-version-operator@openshift-cluster-version/default",
            ),
            (
                Some("kube-apiserver/v1.25.8+27e744f (linux/amd64) kubernetes/df8a1b9"),
                "system:apiserver",
                "kube-apiserver",
            ),
            (
                Some("kube-scheduler/v1.25.8+27e744f (linux/amd64) kubernetes/df8a1b9/scheduler"),
                "system:kube-scheduler",
                "kube-scheduler/scheduler",
            ),
            (
                Some("v2.6.0"),
                "system:serviceaccount:openshift-monitoring:kube-state-metrics",
                "sa:openshift-monitoring/kube-state-metrics",
            ),
            (
                Some("strimzi-cluster-operator/0.35.1"),
                "system:serviceaccount:kafka:strimzi-cluster-operator",
                "strimzi-cluster-operator@kafka/strimzi-cluster-operator",
            ),
            (
                Some(
                    "cluster-baremetal-operator/v0.0.0 (linux/amd64) kubernetes/$Format/cluster-baremetal-operator",
                ),
                "system:serviceaccount:openshift-machine-api:cluster-baremetal-operator",
                "cluster-baremetal-operator/cluster-baremetal-operator",
            ),
            (
                Some("kubelet/v1.25.8+27e744f (linux/amd64) kubernetes/df8a1b9"),
                "system:node:oscar7",
                "kubelet",
            ),
            (
                Some("oc/4.12.0 (linux/amd64) kubernetes/31aa3e8"),
                "kube:admin",
                "oc",
            ),
            // kube-controller-manager with per-controller credentials (kubeadm, EKS).
            (
                Some(
                    "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:replicaset-controller",
                ),
                "system:serviceaccount:kube-system:replicaset-controller",
                "kube-controller-manager/replicaset-controller",
            ),
            (
                Some(
                    "kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/3f7a50f/leader-election",
                ),
                "system:kube-controller-manager",
                "kube-controller-manager/leader-election",
            ),
            // Common operators.
            (
                Some("karpenter/v0.37.0"),
                "system:serviceaccount:kube-system:karpenter",
                "karpenter@kube-system/karpenter",
            ),
            (
                Some("argocd-application-controller/v2.11.3 (linux/amd64) kubernetes/1e5e9e8"),
                "system:serviceaccount:argocd:argocd-application-controller",
                "argocd-application-controller@argocd/argocd-application-controller",
            ),
            (
                Some("kustomize-controller/v1.3.0"),
                "system:serviceaccount:flux-system:kustomize-controller",
                "kustomize-controller@flux-system/kustomize-controller",
            ),
            (
                Some("cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/f05d3e0"),
                "system:serviceaccount:cert-manager:cert-manager",
                "cert-manager-controller@cert-manager/cert-manager",
            ),
            (
                Some("kyverno/v1.12.0 (linux/amd64) kubernetes/abc"),
                "system:serviceaccount:kyverno:kyverno-admission-controller",
                "kyverno@kyverno/kyverno-admission-controller",
            ),
            (
                Some("aws-load-balancer-controller/v2.8.1 (linux/amd64) kubernetes/$Format"),
                "system:serviceaccount:kube-system:aws-load-balancer-controller",
                "aws-load-balancer-controller@kube-system/aws-load-balancer-controller",
            ),
            (
                Some("manager/v0.0.0 (linux/amd64) kubernetes/$Format"),
                "system:serviceaccount:team-a:op-controller-manager",
                "manager@team-a/op-controller-manager",
            ),
            // Versions never reach a name: Argo Workflows adds its own after the commit.
            (
                Some(
                    "workflow-controller/v3.5.8 (linux/amd64) kubernetes/$Format/argo-workflows/v3.5.8 argo-controller",
                ),
                "system:serviceaccount:argo:argo",
                "workflow-controller/argo-workflows/argo-controller",
            ),
            (
                Some("operator/v1.2.3 (linux/amd64) kubernetes/abc1234/v1.2.3"),
                "system:serviceaccount:db:pg-operator",
                "operator@db/pg-operator",
            ),
            // A generic product with a suffix keeps the service account.
            (
                Some("manager/v0.0.0 (linux/amd64) kubernetes/$Format/reconciler"),
                "system:serviceaccount:team-a:op-controller-manager",
                "manager/reconciler@team-a/op-controller-manager",
            ),
            (
                Some("manager/v0.0.0 (linux/amd64) kubernetes/$Format/reconciler"),
                "system:serviceaccount:team-b:reconciler",
                "manager/reconciler",
            ),
            (
                Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
                "alice",
                "Mozilla",
            ),
            // No userAgent (fixtures/realdata hkerma and audit2rbac samples).
            (
                None,
                "system:serviceaccount:kube-system:replicaset-controller",
                "sa:kube-system/replicaset-controller",
            ),
            (None, "system:node:k8s-node-1-perfspec", "kubelet"),
            (None, "system:kube-scheduler", "system:kube-scheduler"),
            (Some(""), "", "unknown"),
        ];
        for (ua, user, want) in cases {
            assert_eq!(client_name(*ua, user), *want, "ua={ua:?} user={user}");
            // The product read back from the name is the userAgent's (what `diff --client`
            // matches), for every name made from a userAgent.
            if let Some(parsed) = ua.and_then(UserAgent::parse) {
                assert_eq!(client_product(want), parsed.product, "ua={ua:?}");
            }
        }
    }

    #[test]
    fn nearest_names_of_a_typo() {
        let names = [
            "karpenter@kube-system/karpenter",
            "kubelet",
            "kube-controller-manager/replicaset-controller",
            "argocd-application-controller@argocd/argocd-application-controller",
        ];
        assert_eq!(
            nearest("karpentr*", names, 1),
            ["karpenter@kube-system/karpenter"]
        );
        assert_eq!(nearest("kube-controler-manager/*", names, 1), [names[2]]);
        assert_eq!(nearest("x", names, 9).len(), names.len());
    }

    #[test]
    fn long_hostile_names_are_capped() {
        let ua = format!("{}<script>/1.0", "é".repeat(300));
        let name = client_name(Some(&ua), "x");
        assert!(name.len() <= MAX_CLIENT_LEN);
    }
}

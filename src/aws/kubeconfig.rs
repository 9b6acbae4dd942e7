//! Source: which EKS cluster the user's current kubeconfig context points at, so that the
//! incident-review command `audit-scan --since 7d` needs no flags. Three shapes are understood:
//! - `aws eks update-kubeconfig` names the cluster by its ARN,
//!   `arn:aws:eks:REGION:ACCOUNT:cluster/NAME`, and runs `aws eks get-token --cluster-name NAME
//!   [--region R]` with `AWS_PROFILE` in its exec env;
//! - eksctl and renamed contexts keep the exec plugin's `--cluster-name`/`--region` args (or
//!   `aws-iam-authenticator token -i NAME`);
//! - anything else is not an EKS cluster, and the caller asks for `--cluster`.
//!
//! `$KUBECONFIG` may list several files; they are merged as kubectl merges them: the first file
//! that sets `current-context` wins, and a context, user or cluster defined in several files is
//! taken from the first that defines it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The EKS cluster of a kubeconfig context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksContext {
    /// The context's name.
    pub context: String,
    /// The EKS cluster name.
    pub cluster: String,
    /// Its region, when the kubeconfig says.
    pub region: Option<String>,
    /// `AWS_PROFILE` of the exec plugin, when set.
    pub profile: Option<String>,
}

#[derive(Deserialize, Default)]
struct KubeConfig {
    #[serde(rename = "current-context", default)]
    current_context: Option<String>,
    #[serde(default)]
    contexts: Vec<Named<ContextBody>>,
    #[serde(default)]
    clusters: Vec<Named<serde_yaml_ng::Value>>,
    #[serde(default)]
    users: Vec<Named<UserBody>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "context", alias = "user", alias = "cluster")]
    body: Option<T>,
}

#[derive(Deserialize, Default)]
struct ContextBody {
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    user: String,
}

#[derive(Deserialize, Default)]
struct UserBody {
    #[serde(default)]
    exec: Option<Exec>,
}

#[derive(Deserialize, Default)]
struct Exec {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: Option<Vec<EnvVar>>,
}

#[derive(Deserialize)]
struct EnvVar {
    name: String,
    #[serde(default)]
    value: String,
}

/// Why the kubeconfig names no EKS cluster.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// No kubeconfig file exists.
    #[error("no kubeconfig found")]
    NotFound,
    /// A file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Text that is not a kubeconfig; `path` is the file's, when it came from one.
    #[error("{}cannot parse kubeconfig: {source}", .path.as_ref().map_or_else(String::new, |p| format!("{}: ", p.display())))]
    Parse {
        /// The file.
        path: Option<PathBuf>,
        /// The YAML error.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// No `current-context`.
    #[error("the kubeconfig has no current-context")]
    NoCurrentContext,
    /// The current context is not among the contexts.
    #[error("the current context '{0}' is not defined in the kubeconfig")]
    UndefinedContext(String),
    /// The current context is not an EKS cluster.
    #[error(
        "the current kubeconfig context '{0}' is not an EKS cluster (no cluster ARN, no `--cluster-name` in its credential plugin)"
    )]
    NotEks(String),
}

/// `arn:aws:eks:REGION:ACCOUNT:cluster/NAME` → (REGION, NAME).
#[must_use]
pub fn parse_eks_arn(s: &str) -> Option<(String, String)> {
    let rest = s.strip_prefix("arn:")?;
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    if parts.len() != 5 || parts[1] != "eks" {
        return None;
    }
    let name = parts[4].strip_prefix("cluster/")?;
    (!name.is_empty()).then(|| (parts[2].to_owned(), name.to_owned()))
}

fn arg_after(args: &[String], flags: &[&str]) -> Option<String> {
    args.iter().enumerate().find_map(|(i, a)| {
        flags.iter().find_map(|f| {
            if a == f {
                args.get(i + 1).cloned()
            } else {
                a.strip_prefix(&format!("{f}=")).map(str::to_owned)
            }
        })
    })
}

fn parse(yaml: &str, path: Option<&Path>) -> Result<KubeConfig, KubeconfigError> {
    serde_yaml_ng::from_str(yaml).map_err(|source| KubeconfigError::Parse {
        path: path.map(Path::to_path_buf),
        source,
    })
}

/// Merges `next` (a later file) into `kc`: what `kc` already sets wins, name by name.
fn merge(kc: &mut KubeConfig, next: KubeConfig) {
    fn add<T>(into: &mut Vec<Named<T>>, from: Vec<Named<T>>) {
        for item in from {
            if !into.iter().any(|i| i.name == item.name) {
                into.push(item);
            }
        }
    }
    if kc.current_context.as_deref().is_none_or(str::is_empty) {
        kc.current_context = next.current_context;
    }
    add(&mut kc.contexts, next.contexts);
    add(&mut kc.clusters, next.clusters);
    add(&mut kc.users, next.users);
}

/// Resolves the EKS cluster of the current context from kubeconfig text.
///
/// # Errors
/// A message saying why the context is not an EKS cluster.
pub fn resolve(yaml: &str) -> Result<EksContext, KubeconfigError> {
    resolve_config(parse(yaml, None)?)
}

fn resolve_config(kc: KubeConfig) -> Result<EksContext, KubeconfigError> {
    let current = kc
        .current_context
        .filter(|c| !c.is_empty())
        .ok_or(KubeconfigError::NoCurrentContext)?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == current)
        .and_then(|c| c.body.as_ref())
        .ok_or_else(|| KubeconfigError::UndefinedContext(current.clone()))?;
    let exec = kc
        .users
        .iter()
        .find(|u| u.name == ctx.user)
        .and_then(|u| u.body.as_ref())
        .and_then(|u| u.exec.as_ref());
    let args: &[String] = exec.map_or(&[], |e| e.args.as_slice());
    let env: HashMap<&str, &str> = exec
        .and_then(|e| e.env.as_ref())
        .map(|v| {
            v.iter()
                .map(|e| (e.name.as_str(), e.value.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let profile = env
        .get("AWS_PROFILE")
        .map(|s| (*s).to_owned())
        .filter(|s| !s.is_empty());
    let arg_region = arg_after(args, &["--region"]);
    let arg_cluster = arg_after(args, &["--cluster-name", "--cluster-id", "-i"]);
    let _ = &kc.clusters; // cluster entries hold endpoints only; the name comes from ARN or args
    if let Some((region, cluster)) = parse_eks_arn(&ctx.cluster) {
        return Ok(EksContext {
            context: current,
            cluster,
            region: Some(region).or(arg_region),
            profile,
        });
    }
    match arg_cluster {
        Some(cluster) => Ok(EksContext {
            context: current,
            cluster,
            region: arg_region,
            profile,
        }),
        None => Err(KubeconfigError::NotEks(current)),
    }
}

/// The kubeconfig files kubectl would merge: those of `$KUBECONFIG` that exist, in order, else
/// `~/.kube/config` when it exists.
#[must_use]
pub fn default_paths() -> Vec<PathBuf> {
    if let Some(k) = std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        return std::env::split_paths(&k).filter(|p| p.exists()).collect();
    }
    let Some(home) = std::env::var_os("HOME") else {
        return Vec::new();
    };
    let p = Path::new(&home).join(".kube").join("config");
    if p.exists() { vec![p] } else { Vec::new() }
}

/// Reads and merges the kubeconfig files at `paths` (first wins, as kubectl merges them) and
/// resolves the current context.
///
/// # Errors
/// No file, a file that cannot be read or parsed (named), or a context that is not an EKS
/// cluster.
pub fn resolve_files(paths: &[PathBuf]) -> Result<EksContext, KubeconfigError> {
    if paths.is_empty() {
        return Err(KubeconfigError::NotFound);
    }
    let mut kc = KubeConfig::default();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|source| KubeconfigError::Read {
            path: path.clone(),
            source,
        })?;
        if text.trim().is_empty() {
            continue; // kubectl reads an empty file as an empty config
        }
        let next = parse(&text, Some(path))?;
        merge(&mut kc, next);
    }
    resolve_config(kc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS_CLI: &str = r"
apiVersion: v1
kind: Config
current-context: arn:aws:eks:eu-west-1:123456789012:cluster/prod
contexts:
- name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
  context:
    cluster: arn:aws:eks:eu-west-1:123456789012:cluster/prod
    user: arn:aws:eks:eu-west-1:123456789012:cluster/prod
clusters:
- name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
  cluster:
    server: https://ABC.gr7.eu-west-1.eks.amazonaws.com
users:
- name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod, --output, json]
      env:
      - name: AWS_PROFILE
        value: platform-admin
";

    const EKSCTL: &str = r"
current-context: alice@staging.us-east-2.eksctl.io
contexts:
- name: alice@staging.us-east-2.eksctl.io
  context: {cluster: staging.us-east-2.eksctl.io, user: alice@staging.us-east-2.eksctl.io}
users:
- name: alice@staging.us-east-2.eksctl.io
  user:
    exec:
      command: aws
      args: [eks, get-token, --output, json, --cluster-name, staging, --region, us-east-2]
";

    const KIND: &str = r"
current-context: kind-dev
contexts:
- name: kind-dev
  context: {cluster: kind-dev, user: kind-dev}
users:
- name: kind-dev
  user: {client-certificate-data: AAAA}
";

    #[test]
    fn aws_cli_context_by_arn() {
        let c = resolve(AWS_CLI).unwrap();
        assert_eq!(c.cluster, "prod");
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.profile.as_deref(), Some("platform-admin"));
    }

    #[test]
    fn eksctl_context_by_exec_args() {
        let c = resolve(EKSCTL).unwrap();
        assert_eq!(
            (c.cluster.as_str(), c.region.as_deref(), c.profile),
            ("staging", Some("us-east-2"), None)
        );
    }

    #[test]
    fn non_eks_context_is_a_clear_error() {
        let e = resolve(KIND).unwrap_err();
        assert!(
            matches!(&e, KubeconfigError::NotEks(c) if c == "kind-dev"),
            "{e}"
        );
        assert!(
            e.to_string().contains("'kind-dev' is not an EKS cluster"),
            "{e}"
        );
        assert!(
            resolve("current-context: \"\"")
                .unwrap_err()
                .to_string()
                .contains("no current-context")
        );
    }

    const AUTHENTICATOR: &str = r"
current-context: ops
contexts:
- name: ops
  context: {cluster: ops-cluster, user: ops-user}
users:
- name: ops-user
  user:
    exec:
      command: aws-iam-authenticator
      args: [token, -i, billing-prod]
      env: [{name: AWS_PROFILE, value: billing}]
";

    #[test]
    fn aws_iam_authenticator_names_the_cluster_with_i() {
        let c = resolve(AUTHENTICATOR).unwrap();
        assert_eq!(
            (
                c.context.as_str(),
                c.cluster.as_str(),
                c.region,
                c.profile.as_deref()
            ),
            ("ops", "billing-prod", None, Some("billing"))
        );
        let long = AUTHENTICATOR.replace("-i, billing-prod", "--cluster-id=billing-dr");
        assert_eq!(resolve(&long).unwrap().cluster, "billing-dr");
    }

    /// Files for the merge: each a kubeconfig of its own.
    fn files(texts: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let p = dir.path().join(format!("config-{i}"));
                std::fs::write(&p, t).unwrap();
                p
            })
            .collect();
        (dir, paths)
    }

    #[test]
    fn several_files_merge_first_wins_per_key() {
        // The second file sets a current-context and redefines `ops-user`; neither wins. The
        // first file's context names a user only the second defines: found there.
        let first = "current-context: ops\ncontexts:\n- name: ops\n  context: {cluster: c, user: ops-user}\n";
        let (_d, paths) = files(&[first, EKSCTL, AUTHENTICATOR]);
        let c = resolve_files(&paths).unwrap();
        assert_eq!(
            (c.context.as_str(), c.cluster.as_str()),
            ("ops", "billing-prod")
        );
        // Two definitions of one user: the earlier file's.
        let other_user = AUTHENTICATOR
            .replace("billing-prod", "other")
            .replace("current-context: ops", "");
        let (_d, paths) = files(&[first, &other_user, AUTHENTICATOR]);
        assert_eq!(resolve_files(&paths).unwrap().cluster, "other");
        // No current-context in the first file: the next file's is taken, with its context.
        let (_d, paths) = files(&["contexts: []\n", AWS_CLI, EKSCTL]);
        assert_eq!(resolve_files(&paths).unwrap().cluster, "prod");
        let (_d, paths) = files(&[EKSCTL, AWS_CLI]);
        assert_eq!(resolve_files(&paths).unwrap().cluster, "staging");
        // A bad file is named; no file at all is said so.
        let (_d, paths) = files(&[EKSCTL, "users: [oops"]);
        let e = resolve_files(&paths).unwrap_err();
        assert!(
            std::error::Error::source(&e).is_some(),
            "the YAML error is kept"
        );
        let e = e.to_string();
        assert!(e.contains("config-1") && e.contains("cannot parse"), "{e}");
        assert_eq!(
            resolve_files(&[]).unwrap_err().to_string(),
            "no kubeconfig found"
        );
        let (_d, paths) = files(&["", EKSCTL]);
        assert_eq!(resolve_files(&paths).unwrap().cluster, "staging");
    }

    #[test]
    fn arns() {
        assert_eq!(
            parse_eks_arn("arn:aws:eks:us-west-2:1:cluster/a-b"),
            Some(("us-west-2".into(), "a-b".into()))
        );
        assert_eq!(parse_eks_arn("arn:aws:iam::1:role/x"), None);
    }
}

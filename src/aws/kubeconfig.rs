//! Source: which EKS cluster the user's current kubeconfig context points at, so that the
//! incident-review command `audit-scan --since 7d` needs no flags. Three shapes are understood:
//! - `aws eks update-kubeconfig` names the cluster by its ARN,
//!   `arn:aws:eks:REGION:ACCOUNT:cluster/NAME`, and runs `aws eks get-token --cluster-name NAME
//!   [--region R]` with `AWS_PROFILE` in its exec env;
//! - eksctl and renamed contexts keep the exec plugin's `--cluster-name`/`--region` args (or
//!   `aws-iam-authenticator token -i NAME`);
//! - anything else is not an EKS cluster, and the caller asks for `--cluster`.

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

/// Resolves the EKS cluster of the current context from kubeconfig text.
///
/// # Errors
/// A message saying why the context is not an EKS cluster.
pub fn resolve(yaml: &str) -> Result<EksContext, String> {
    let kc: KubeConfig =
        serde_yaml_ng::from_str(yaml).map_err(|e| format!("cannot parse kubeconfig: {e}"))?;
    let current = kc
        .current_context
        .filter(|c| !c.is_empty())
        .ok_or("the kubeconfig has no current-context")?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == current)
        .and_then(|c| c.body.as_ref())
        .ok_or_else(|| {
            format!("the current context '{current}' is not defined in the kubeconfig")
        })?;
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
        None => Err(format!(
            "the current kubeconfig context '{current}' is not an EKS cluster (no cluster ARN, no `--cluster-name` in its credential plugin)"
        )),
    }
}

/// The kubeconfig file kubectl would read: the first of `$KUBECONFIG`, else `~/.kube/config`.
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        return std::env::split_paths(&k).find(|p| p.exists());
    }
    let home = std::env::var_os("HOME")?;
    let p = Path::new(&home).join(".kube").join("config");
    p.exists().then_some(p)
}

/// Reads and resolves the kubeconfig at `path`.
///
/// # Errors
/// The file cannot be read, or its context is not an EKS cluster.
pub fn resolve_file(path: &Path) -> Result<EksContext, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    resolve(&text)
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
        assert!(e.contains("'kind-dev' is not an EKS cluster"), "{e}");
        assert!(
            resolve("current-context: \"\"")
                .unwrap_err()
                .contains("no current-context")
        );
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

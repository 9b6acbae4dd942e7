//! AWS: which CloudWatch Logs log group to read, in which region, as whom.

use super::kubeconfig::KubeconfigError;

/// Where CloudWatch is read: the log group (from --log-group, --cluster or the kubeconfig's
/// EKS context), region and profile.
pub struct CloudTarget {
    /// The log group, e.g. `/aws/eks/prod/cluster`.
    pub log_group: String,
    /// The region, when given or found in the kubeconfig.
    pub region: Option<String>,
    /// The AWS profile, when given or found.
    pub profile: Option<String>,
    /// When the kubeconfig chose the cluster: which, from which context (region, profile), for
    /// the command to say before a long download starts (this layer prints nothing).
    pub chosen: Option<String>,
}

/// No log group to read: none named, and the kubeconfig gives no EKS cluster.
#[derive(Debug, thiserror::Error)]
#[error(
    "no input: {source}. Pass audit log files, pipe a log to stdin, or name the EKS cluster with --cluster NAME (and --region)"
)]
pub struct NoTarget {
    /// Why the kubeconfig gives none.
    #[source]
    pub source: KubeconfigError,
}

/// Resolves where CloudWatch is read: `--log-group`, else `--cluster`'s group, else the
/// current kubeconfig context's EKS cluster (which also gives a region and profile).
///
/// # Errors
/// No log group, no cluster and no EKS kubeconfig context.
pub fn resolve(
    log_group: Option<&str>,
    cluster: Option<&str>,
    mut region: Option<String>,
    mut profile: Option<String>,
) -> Result<CloudTarget, NoTarget> {
    let mut chosen = None;
    let log_group = if let Some(g) = log_group {
        g.to_owned()
    } else if let Some(c) = cluster {
        format!("/aws/eks/{c}/cluster")
    } else {
        let ctx = super::kubeconfig::resolve_files(&super::kubeconfig::default_paths())
            .map_err(|source| NoTarget { source })?;
        region = region.or(ctx.region.clone());
        profile = profile
            .or(ctx.profile.clone())
            .or_else(|| std::env::var("AWS_PROFILE").ok());
        chosen = Some(format!(
            "reading EKS cluster '{}' from kubeconfig context '{}' (region {}, profile {})",
            ctx.cluster,
            ctx.context,
            region.as_deref().unwrap_or("from the AWS config"),
            profile.as_deref().unwrap_or("default"),
        ));
        format!("/aws/eks/{}/cluster", ctx.cluster)
    };
    Ok(CloudTarget {
        log_group,
        region,
        profile,
        chosen,
    })
}

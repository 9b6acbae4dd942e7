//! The two live sources `--follow` reads, behind one interface so the follow loop is one: a
//! file or directory ([`Tail`], polled every `--poll-ms`) or a CloudWatch log group
//! (`--cluster`/`--log-group`, or the kubeconfig's EKS cluster: polled once per refresh, just
//! before it, so each refresh shows the newest events and FilterLogEvents stays far inside
//! the account's quota).

use anyhow::{Context, Result, bail};

use crate::aggregate::Scope;
use crate::cli::scan::ScanArgs;
use crate::error::fail;
use crate::model::report::InputRow;
use crate::source::follow::{Lines, Tail, TailCounts};

#[cfg(feature = "cloudwatch")]
use crate::source::cloudwatch::live::Poller;

/// Where the followed lines come from.
pub(super) enum Feed {
    /// A growing file, or a directory's files.
    Files(Tail),
    /// A CloudWatch Logs group's audit streams.
    #[cfg(feature = "cloudwatch")]
    CloudWatch(Box<Poller>),
}

impl Feed {
    /// The source `args` name: one INPUT, else CloudWatch. `scope.window.since` is set.
    ///
    /// # Errors
    /// Bad flags, an INPUT that cannot be followed, or CloudWatch cannot be read.
    pub(super) fn open(args: &ScanArgs, scope: &mut Scope) -> Result<Self> {
        if args.inputs.is_empty() {
            return cloudwatch(args, scope);
        }
        if args.cloudwatch.requested() {
            bail!(fail(
                "--cluster/--log-group read CloudWatch Logs and cannot be mixed with INPUT files; run them separately"
            ));
        }
        let [input] = args.inputs.as_slice() else {
            bail!(fail(format!(
                "--follow reads one INPUT (a file or a directory), got {}",
                args.inputs.len()
            )));
        };
        if input == "-" {
            bail!(fail(
                "--follow follows a file, a directory or CloudWatch; pipe stdin to a batch scan instead"
            ));
        }
        let tail = Tail::new(std::path::Path::new(input))
            .with_context(|| format!("cannot follow {input}"))
            .map_err(|e| fail(format!("{e:#}")))?;
        Ok(Self::Files(tail))
    }

    /// Reads what arrived. A file is read on every call; CloudWatch only when a refresh is
    /// `due` (or at the `end`), its pages followed until `deadline`. At the `end`, a file's last
    /// line without its newline is read too.
    ///
    /// # Errors
    /// A CloudWatch call failed past the retry policy (the next poll takes up where it stopped).
    #[cfg_attr(not(feature = "cloudwatch"), allow(unused_variables))]
    pub(super) fn poll(
        &mut self,
        due: bool,
        end: bool,
        deadline: std::time::Instant,
        out: &mut dyn FnMut(Lines),
    ) -> Result<(), String> {
        match self {
            Self::Files(tail) => {
                tail.poll(out);
                if end {
                    tail.finish(out);
                }
                Ok(())
            }
            #[cfg(feature = "cloudwatch")]
            Self::CloudWatch(poller) if due || end => {
                // After Ctrl-C the last poll is not cut short by it.
                let cancelled = || !end && crate::insights::interrupt::requested();
                poller
                    .poll(deadline, &cancelled, out)
                    .map_err(|e| e.to_string())
            }
            #[cfg(feature = "cloudwatch")]
            Self::CloudWatch(_) => Ok(()),
        }
    }

    /// Per input (a file identity, or a stream): name and bytes read.
    pub(super) fn rows(&self) -> Vec<InputRow> {
        match self {
            Self::Files(tail) => tail.rows().to_vec(),
            #[cfg(feature = "cloudwatch")]
            Self::CloudWatch(poller) => poller.rows(),
        }
    }

    /// Rotations and truncations met (none in CloudWatch).
    pub(super) fn counts(&self) -> TailCounts {
        match self {
            Self::Files(tail) => tail.counts(),
            #[cfg(feature = "cloudwatch")]
            Self::CloudWatch(_) => TailCounts::default(),
        }
    }

    /// `summary.cloudwatch`: the calls, events, duplicates, throttles and retries so far.
    pub(super) fn cloudwatch(&self) -> Option<serde_json::Value> {
        match self {
            Self::Files(_) => None,
            #[cfg(feature = "cloudwatch")]
            Self::CloudWatch(poller) => serde_json::to_value(poller.summary()).ok(),
        }
    }
}

#[cfg(not(feature = "cloudwatch"))]
fn cloudwatch(_args: &ScanArgs, _scope: &mut Scope) -> Result<Feed> {
    bail!(fail(
        "--follow reads one INPUT (a file or a directory); this build has no CloudWatch support"
    ))
}

/// The log group's audit streams, from `--since` (the download's spec: target, `--rate`,
/// retries, endpoint, stream prefix).
#[cfg(feature = "cloudwatch")]
fn cloudwatch(args: &ScanArgs, scope: &mut Scope) -> Result<Feed> {
    if args.cloudwatch.save.is_some() {
        bail!(fail(
            "--save keeps a download for re-analysis; it cannot be used with --follow"
        ));
    }
    let super::super::plan::Plan::CloudWatch(spec) =
        super::super::plan::cloudwatch_plan(args, scope)?
    else {
        bail!(fail("--follow: no CloudWatch log group to follow"));
    };
    let poller = Poller::start(&spec).map_err(fail)?;
    Ok(Feed::CloudWatch(Box::new(poller)))
}

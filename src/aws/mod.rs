//! AWS: client set-up, retry classification and backoff, kubeconfig and target resolution —
//! shared by the CloudWatch download (`source::cloudwatch`) and the Logs Insights engine.

pub mod client;
pub mod kubeconfig;
pub mod retry;
pub mod target;

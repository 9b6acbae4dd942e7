//! Insights: CloudWatch Logs Insights for windows too large to download — the bundled query
//! templates ([`template`], `queries/*.insights`), a parser ([`lang`]) and local evaluator
//! ([`local`], [`eval`]) for the subset of the language they use, so they are tested and
//! previewed on files, and the server-side runner ([`cloud`]). See docs/insights.md.

#[cfg(feature = "cloudwatch")]
pub mod cloud;
pub mod engine;
pub mod error;
pub mod eval;
pub mod indexes;
pub mod interrupt;
pub mod lang;
pub mod local;
pub mod merge;
pub mod output;
pub mod scan;
pub mod template;
pub mod value;
pub mod volume;

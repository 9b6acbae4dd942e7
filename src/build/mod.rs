//! Build: the aggregates (native engine) or Logs Insights rows (insights engine) into one
//! `model::report::Report`, a function per section, sharing the series helpers.

pub mod episodes;
pub mod health;
pub mod insights;
pub mod native;
pub mod selection;
pub mod series;
pub mod timeline;

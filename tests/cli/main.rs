//! The integration tests, as one binary: each test file is a module of it, so the crate and its
//! dependencies (polars, the AWS SDK) are linked once rather than once per file. A new test file
//! goes in `tests/cli/` and is declared here (behind its feature's `cfg` if it needs one). Run one
//! file's tests with `cargo test --test cli FILE::`.

mod bad_input;
mod cardinality;
mod ci_example;
#[cfg(feature = "cloudwatch")]
mod cloudwatch;
mod common;
mod determinism;
mod diff;
mod edges;
mod errors;
#[cfg(feature = "polars")]
mod exports;
mod findings;
mod follow;
#[cfg(feature = "cloudwatch")]
mod follow_cloudwatch;
mod formats;
mod fuzz_corpus;
mod generate;
mod health;
mod hostile_text;
mod html;
mod inputs;
mod insights;
#[cfg(feature = "cloudwatch")]
mod insights_cloud;
mod insights_engine;
#[cfg(feature = "cloudwatch")]
mod insights_engine_cloud;
#[cfg(feature = "cloudwatch")]
mod insights_engine_split;
#[cfg(feature = "cloudwatch")]
mod insights_field_indexes;
mod insights_scale;
#[cfg(feature = "cloudwatch")]
mod insights_service;
#[cfg(feature = "cloudwatch")]
mod insights_smoke;
mod many_inputs;
#[cfg(feature = "cloudwatch")]
mod nightly;
mod numbers;
mod packaging;
mod properties;
mod rule_fixtures;
mod rules;
mod schema;
mod selection;
mod skim;
mod snapshots;
mod terminal;
mod timeline;
mod week_episodes;

//! Decode: bytes of one line → [`AuditEvent`], plus the request-URI query and client identity.

pub mod client;
pub mod event;
pub mod frame;
pub mod latency;
pub mod salvage;
pub mod uri;

pub use event::{AuditEvent, BadItem, DecodeFailure, Decoded, Level, Stage, decode_in_place};

//! Source: turns command-line inputs (files, directories, globs, `-`) into readers of plain
//! bytes, whatever their compression, and those into chunks of whole lines. Knows nothing of
//! Kubernetes.

pub mod chunk;
#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
pub mod follow;
pub mod input;
pub mod inputs;
pub mod open;
pub mod sniff;
pub mod split;

pub use chunk::{BufferPool, Chunk, read_chunks};
pub use input::{Input, InputKind};
pub use inputs::expand_inputs;
pub use open::open_input;

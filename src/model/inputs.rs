//! What happened to each input: bytes read, requests counted, the error that ended it.

/// What happened to one input.
#[derive(Debug, Clone, Default)]
pub struct InputStats {
    /// Its name.
    pub name: String,
    /// Bytes read before decompression.
    pub raw_bytes: u64,
    /// Bytes after decompression.
    pub bytes: u64,
    /// Read as one JSON document.
    pub document: bool,
    /// The error that ended it early, with the plain-byte offset.
    pub error: Option<String>,
    /// Requests counted from it.
    pub requests: u64,
}

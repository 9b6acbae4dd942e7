//! Decode: salvage of lines cut by CloudWatch Logs, which end in `[Truncated...]`.
//!
//! The members of the top-level object that were complete before the cut are kept (they usually
//! include verb, user, userAgent, objectRef and responseStatus; the timestamps come after the
//! bodies and are often lost), the object is closed, and the result is decoded as usual.

use super::event::{AuditEvent, DecodeFailure, Decoded, RawEvent, emit};

/// The marker CloudWatch Logs appends to a cut event.
pub const TRUNCATED_MARKER: &[u8] = b"[Truncated...]";

/// Whether a line was cut by CloudWatch.
#[must_use]
pub fn is_truncated(line: &[u8]) -> bool {
    line.trim_ascii_end().ends_with(TRUNCATED_MARKER)
}

/// The byte length of the prefix that holds only complete top-level members of the object that
/// starts the line, or `None` if not even one member is complete.
fn complete_prefix(bytes: &[u8]) -> Option<usize> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[start] != b'{' {
        return None;
    }
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    let mut last_end = None;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.checked_sub(1)?,
            b',' if depth == 1 => last_end = Some(i),
            _ => {}
        }
    }
    last_end
}

/// Decodes what precedes the cut of a truncated line into `scratch` and calls `sink` with the
/// event.
///
/// # Errors
/// When nothing complete precedes the cut, or what does is not an audit event.
pub fn salvage<'s>(
    line: &[u8],
    scratch: &'s mut Vec<u8>,
    buffers: &mut simd_json::Buffers,
    sink: impl FnMut(&mut AuditEvent<'s>),
) -> Result<Decoded, DecodeFailure> {
    let end = complete_prefix(line).ok_or(DecodeFailure::NotAnEvent)?;
    scratch.clear();
    scratch.extend_from_slice(&line[..end]);
    scratch.push(b'}');
    let raw: RawEvent<'s> = simd_json::serde::from_slice_with_buffers(scratch, buffers)
        .map_err(|e| DecodeFailure::invalid_json(crate::decode::event::Shape::OBJECT, &e))?;
    let mut sink = sink;
    emit(raw, &mut sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_members_before_the_cut() {
        let line = br#"{"kind":"Event","stage":"ResponseComplete","verb":"update","user":{"username":"u, \"x\" {"},"objectRef":{"resource":"configmaps","name":"c"},"requestObject":{"data":{"k":"vvvvvv[Truncated...]"#;
        assert!(is_truncated(line));
        let mut scratch = Vec::new();
        let mut got = None;
        let n = salvage(
            line,
            &mut scratch,
            &mut simd_json::Buffers::default(),
            |e| {
                got = Some((
                    e.verb.to_owned(),
                    e.username.to_owned(),
                    e.name.to_owned(),
                    e.time(),
                ));
            },
        )
        .unwrap();
        assert_eq!(n.events, 1);
        let (verb, user, name, time) = got.unwrap();
        assert_eq!(
            (verb.as_str(), user.as_str(), name.as_str()),
            ("update", "u, \"x\" {", "c")
        );
        assert_eq!(time, None);
    }

    #[test]
    fn nothing_complete_is_an_error() {
        let mut scratch = Vec::new();
        let r = salvage(
            br#"{"kind":"Eve[Truncated...]"#,
            &mut scratch,
            &mut simd_json::Buffers::default(),
            |_| {},
        );
        assert!(r.is_err());
    }
}

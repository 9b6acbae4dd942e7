//! Decode: the framing of one line of a log, before its JSON — the surrounding whitespace (a CRLF's
//! `\r`), a byte-order mark (`cat` of files Windows tools wrote), the record time CloudWatch records
//! and S3 exports put first (`TIME MESSAGE`), and whether CloudWatch cut the line
//! (`[Truncated...]`, then [`salvage`] keeps what precedes the cut). One framing for the pipeline,
//! the fuzz target and `queries run --local`, so they read the same lines the same way.

use super::event::{AuditEvent, DecodeFailure, Decoded, LineDecoder};
use super::salvage::{is_truncated, salvage};

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where the message of a line is, and what its framing said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed {
    /// The message's first byte, an offset into the line.
    pub start: usize,
    /// One past the message's last byte.
    pub end: usize,
    /// The record time of a `TIME MESSAGE` line, in µs.
    pub record_time: Option<i64>,
    /// CloudWatch cut the message (`[Truncated...]`).
    pub truncated: bool,
}

impl Framed {
    /// Nothing but whitespace.
    #[must_use]
    pub fn is_blank(&self) -> bool {
        self.start == self.end
    }
}

/// Frames one line (its bytes without the `\n`). The offsets are byte offsets at character
/// boundaries, so they slice a `str` as well.
#[must_use]
pub fn frame(line: &[u8]) -> Framed {
    let (mut start, end) = trimmed(line);
    if line[start..end].starts_with(BOM) {
        start += BOM.len();
        start += line[start..end]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    }
    let mut record_time = None;
    if start < end
        && line[start].is_ascii_digit()
        && let Some((t, skip)) = record_prefix(&line[start..end])
    {
        record_time = Some(t);
        start += skip;
    }
    Framed {
        start,
        end,
        record_time,
        truncated: start < end && is_truncated(&line[start..end]),
    }
}

/// Decodes the message of a framed line, `buf[line.start..line.end]`, calling `sink` per event
/// with the record time set: through [`salvage`] (into `scratch`) when it was cut, else through
/// `decoder`, which needs `buf` to extend at least
/// [`LINE_PADDING`](super::event::LINE_PADDING) bytes past `line.end`.
///
/// # Errors
/// A [`DecodeFailure`] when the message is not an audit event.
pub fn decode_framed(
    decoder: &mut LineDecoder,
    buf: &mut [u8],
    line: &Framed,
    scratch: &mut Vec<u8>,
    buffers: &mut simd_json::Buffers,
    mut sink: impl FnMut(&mut AuditEvent<'_>),
) -> Result<Decoded, DecodeFailure> {
    let (s, e) = (line.start, line.end);
    let mut with_time = |ev: &mut AuditEvent<'_>| {
        ev.record_time = line.record_time;
        sink(ev);
    };
    if line.truncated {
        salvage(&buf[s..e], scratch, buffers, with_time)
    } else {
        decoder.decode(&mut buf[s..], e - s, &mut with_time)
    }
}

/// A leading record time — epoch milliseconds (CloudWatch) or RFC 3339 (S3 exports) — and a
/// space: the time in µs and the bytes to skip to the message.
fn record_prefix(line: &[u8]) -> Option<(i64, usize)> {
    let sp = memchr::memchr(b' ', line)?;
    let token = std::str::from_utf8(&line[..sp]).ok()?;
    let t = if token.bytes().all(|b| b.is_ascii_digit()) {
        token.parse::<i64>().ok()?.checked_mul(1000)?
    } else {
        crate::timefmt::parse_rfc3339(token)?
    };
    let skip = sp
        + line[sp..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    Some((t, skip))
}

/// The bounds of a line without surrounding ASCII whitespace (a CRLF's `\r` included).
fn trimmed(line: &[u8]) -> (usize, usize) {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(line: &[u8]) -> (&[u8], Option<i64>, bool) {
        let f = frame(line);
        (&line[f.start..f.end], f.record_time, f.truncated)
    }

    #[test]
    fn strips_whitespace_bom_and_record_times() {
        assert_eq!(message(b"  {\"a\":1}\r"), (&b"{\"a\":1}"[..], None, false));
        assert_eq!(
            message(b"\xEF\xBB\xBF {\"a\":1}"),
            (&b"{\"a\":1}"[..], None, false)
        );
        // CloudWatch: epoch milliseconds; S3 exports: RFC 3339.
        assert_eq!(
            message(b"1700000000123 {\"a\":1}"),
            (&b"{\"a\":1}"[..], Some(1_700_000_000_123_000), false)
        );
        assert_eq!(
            message(b"2023-11-14T22:13:20.123Z {\"a\":1}"),
            (&b"{\"a\":1}"[..], Some(1_700_000_000_123_000), false)
        );
        // A number that is not followed by a message is not a record time.
        assert_eq!(message(b"12345"), (&b"12345"[..], None, false));
        assert!(frame(b" \t\r").is_blank());
        assert!(frame(b"").is_blank());
    }

    #[test]
    fn flags_cut_messages() {
        let (m, t, cut) = message(b"1700000000000 {\"verb\":\"get\",\"x\":\"abc[Truncated...] ");
        assert_eq!(m, b"{\"verb\":\"get\",\"x\":\"abc[Truncated...]");
        assert_eq!(t, Some(1_700_000_000_000_000));
        assert!(cut);
    }
}

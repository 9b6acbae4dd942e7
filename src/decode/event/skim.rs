//! The fast path of [`LineDecoder`](super::LineDecoder): reads the members the tables use
//! straight from the line and skips every other value — request and response bodies with their
//! managedFields, `sourceIPs`, `groups`, the annotations not read — by matching quotes and
//! brackets, without building a tape or a value (docs/performance.md has the measurements).
//!
//! Whatever is unusual — an escaped or repeated key, a member of an unexpected type, a `\u`
//! surrogate, an `EventList`, bytes after the object — makes [`scan`] give up before a byte is
//! changed, and the line takes the simd-json path, whose results and error messages are the
//! reference (a property test holds the two equal). Skipped values are matched, not validated:
//! a body with a bad token inside is read as a body; the line's UTF-8 is still checked whole.

use super::blocks;
use super::{
    FirstStr, RawAnnotations, RawEvent, RawExtra, RawMeta, RawObjectHead, RawObjectRef, RawStatus,
    RawUser,
};

/// The content of a string member (between its quotes), and whether it holds escapes.
#[derive(Clone, Copy, Debug, Default)]
struct Str {
    start: usize,
    end: usize,
    escaped: bool,
}

/// The most annotations read from one line (a request meets a handful of webhooks and a few
/// latency trackers); a line with more is left to simd-json.
const MAX_ANNOTATIONS: usize = 16;

/// What [`scan`] found: spans into the line, nothing borrowed.
#[derive(Default, Debug)]
pub(super) struct Found {
    top: [Option<Str>; TOP_STRINGS],
    username: Option<Str>,
    pod_name: Option<Str>,
    object_ref: [Option<Str>; 6],
    code: Option<i64>,
    reason: Option<Str>,
    message: Option<Str>,
    request_rv: Option<Str>,
    response_rv: Option<Str>,
    request_bytes: Option<u32>,
    response_bytes: Option<u32>,
    /// The annotations [`RawAnnotations::reads`] (key, value), in the map's order.
    annotations: [(Str, Str); MAX_ANNOTATIONS],
    annotation_count: usize,
}

/// The top-level string members, in [`Found::top`] order.
const TOP_STRINGS: usize = 10;
const KIND: usize = 0;
const LEVEL: usize = 1;
const AUDIT_ID: usize = 2;
const STAGE: usize = 3;
const REQUEST_URI: usize = 4;
const VERB: usize = 5;
const USER_AGENT: usize = 6;
const RECEIVED: usize = 7;
const STAGE_TIME: usize = 8;
const TIMESTAMP: usize = 9;

impl Found {
    /// Forgets the last line: every span to `None`, no annotations (their slots are only read
    /// below `annotation_count`, so they are not cleared). One `Found` serves every line of a
    /// decoder, so a line costs no copy of it.
    fn clear(&mut self) {
        self.top = [None; TOP_STRINGS];
        self.username = None;
        self.pod_name = None;
        self.object_ref = [None; 6];
        self.code = None;
        self.reason = None;
        self.message = None;
        self.request_rv = None;
        self.response_rv = None;
        self.request_bytes = None;
        self.response_bytes = None;
        self.annotation_count = 0;
    }
}

/// Reads one event line into `f`; `false` when the simd-json path must decide.
pub(super) fn scan(b: &[u8], f: &mut Found) -> bool {
    f.clear();
    scan_into(b, f).is_some()
}

fn scan_into(b: &[u8], f: &mut Found) -> Option<()> {
    simdutf8::basic::from_utf8(b).ok()?;
    let start = ws(b, 0);
    if b.get(start) != Some(&b'{') {
        return None;
    }
    let mut seen = 0u32;
    let end = members(b, start, |key, i| {
        let (bit, at) = match key {
            b"kind" => (0, Some(KIND)),
            b"level" => (1, Some(LEVEL)),
            b"auditID" => (2, Some(AUDIT_ID)),
            b"stage" => (3, Some(STAGE)),
            b"requestURI" => (4, Some(REQUEST_URI)),
            b"verb" => (5, Some(VERB)),
            b"userAgent" => (6, Some(USER_AGENT)),
            b"requestReceivedTimestamp" => (7, Some(RECEIVED)),
            b"stageTimestamp" => (8, Some(STAGE_TIME)),
            b"timestamp" => (9, Some(TIMESTAMP)),
            b"user" => (10, None),
            b"objectRef" => (11, None),
            b"responseStatus" => (12, None),
            b"requestObject" => (13, None),
            b"responseObject" => (14, None),
            b"annotations" => (15, None),
            b"items" => return None,
            _ => return skip_value(b, i),
        };
        once(&mut seen, bit)?;
        if let Some(slot) = at {
            let (s, end) = string_or_null(b, i)?;
            f.top[slot] = s;
            return Some(end);
        }
        match bit {
            10 => user(b, i, f),
            11 => object_ref(b, i, f),
            12 => status(b, i, f),
            13 => body(b, i).map(|(rv, len, end)| {
                (f.request_rv, f.request_bytes) = (rv, len);
                end
            }),
            14 => body(b, i).map(|(rv, len, end)| {
                (f.response_rv, f.response_bytes) = (rv, len);
                end
            }),
            _ => annotations(b, i, f),
        }
    })?;
    (ws(b, end) == b.len()).then_some(())
}

/// The byte length of each body (`requestObject`, `responseObject`) that is not null, for a
/// line the simd-json path decodes: the same figures [`scan`] gives, or none when the line's
/// top level cannot be walked.
pub(super) fn body_lengths(b: &[u8]) -> (Option<u32>, Option<u32>) {
    let mut out = (None, None);
    let start = ws(b, 0);
    if b.get(start) != Some(&b'{') {
        return out;
    }
    let walked = members(b, start, |key, i| {
        let end = skip_value(b, i)?;
        let len = body_len(b, i, end);
        match key {
            b"requestObject" => out.0 = len,
            b"responseObject" => out.1 = len,
            _ => {}
        }
        Some(end)
    });
    if walked.is_none() {
        return (None, None);
    }
    out
}

fn body_len(b: &[u8], start: usize, end: usize) -> Option<u32> {
    if b[start..end] == *b"null" {
        return None;
    }
    u32::try_from(end - start).ok()
}

/// Turns the spans into the event: escaped strings are unescaped where they lie (never longer
/// than their escaped form), then every string borrows from the line.
pub(super) fn build<'a>(f: &Found, line: &'a mut [u8]) -> RawEvent<'a> {
    let mut fix = |s: &Option<Str>| -> Option<(usize, usize)> {
        let s = (*s)?;
        let end = if s.escaped {
            unescape_in_place(line, s.start, s.end)
        } else {
            s.end
        };
        Some((s.start, end))
    };
    let top = f.top.map(|s| fix(&s));
    let username = fix(&f.username);
    let pod_name = fix(&f.pod_name);
    let object_ref = f.object_ref.map(|s| fix(&s));
    let reason = fix(&f.reason);
    let message = fix(&f.message);
    let request_rv = fix(&f.request_rv);
    let response_rv = fix(&f.response_rv);
    let ann: [Option<(usize, usize)>; MAX_ANNOTATIONS] = std::array::from_fn(|i| {
        (i < f.annotation_count)
            .then(|| fix(&Some(f.annotations[i].1)))
            .flatten()
    });
    let line: &'a [u8] = line;
    // The line was checked as UTF-8 whole and the spans start and end at ASCII quotes; an
    // unescaped `\u` writes a whole character. So this never yields "".
    let s = |span: Option<(usize, usize)>| span.map(|(a, b)| utf8_span(&line[a..b]));
    let head = |rv| {
        Some(RawObjectHead {
            metadata: Some(RawMeta {
                resource_version: s(rv),
            }),
        })
    };
    let mut annotations = RawAnnotations::default();
    for (&(key, _), value) in f.annotations[..f.annotation_count].iter().zip(ann) {
        // Keys with escapes were left to simd-json, so a key is the line's bytes as they are.
        let key = utf8_span(&line[key.start..key.end]);
        if let Some(value) = s(value) {
            annotations.take(key, value);
        }
    }
    RawEvent {
        kind: s(top[KIND]),
        level: s(top[LEVEL]),
        audit_id: s(top[AUDIT_ID]),
        stage: s(top[STAGE]),
        request_uri: s(top[REQUEST_URI]),
        verb: s(top[VERB]),
        user: Some(RawUser {
            username: s(username),
            extra: Some(RawExtra {
                pod_name: FirstStr(s(pod_name)),
            }),
        }),
        user_agent: s(top[USER_AGENT]),
        object_ref: Some(RawObjectRef {
            resource: s(object_ref[0]),
            subresource: s(object_ref[1]),
            namespace: s(object_ref[2]),
            name: s(object_ref[3]),
            api_group: s(object_ref[4]),
            api_version: s(object_ref[5]),
        }),
        response_status: Some(RawStatus {
            code: f.code,
            reason: s(reason),
            message: s(message),
        }),
        request_object: head(request_rv),
        response_object: head(response_rv),
        request_received_timestamp: s(top[RECEIVED]),
        stage_timestamp: s(top[STAGE_TIME]),
        timestamp: s(top[TIMESTAMP]),
        annotations: Some(annotations),
        items: None,
        request_bytes: f.request_bytes,
        response_bytes: f.response_bytes,
    }
}

/// A member seen twice is an error for serde's derived structs: leave it to them.
/// A span of a line [`scan`] took: between two ASCII quotes of text checked as UTF-8 whole (or
/// unescaped in place, which writes whole characters), so it is UTF-8; checking it again per
/// string cost a tenth of the skim's time.
fn utf8_span(span: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(span).is_ok());
    // SAFETY: as above — every span handed here starts and ends at a character boundary of
    // text already validated as UTF-8 (`scan` checks the whole line first).
    unsafe { std::str::from_utf8_unchecked(span) }
}

fn once(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & (1 << bit) != 0 {
        return None;
    }
    *seen |= 1 << bit;
    Some(())
}

/// The index of the first byte at or past `i` that is not JSON whitespace. The API server
/// writes none between tokens, so the first byte decides nearly always.
#[inline]
fn ws(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(&c) if c > b' ' => i,
        _ => ws_run(b, i),
    }
}

fn ws_run(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// What [`string_end`] found between a string's quotes besides its end.
#[derive(Clone, Copy)]
struct Content {
    /// A backslash came before the closing quote.
    escaped: bool,
    /// A raw control character did (invalid JSON: the simd-json path must say so).
    control: bool,
}

/// From just past an opening quote: the index of the closing quote, and what came before it.
fn string_end(b: &[u8], mut i: usize) -> Option<(usize, Content)> {
    let mut seen = Content {
        escaped: false,
        control: false,
    };
    loop {
        let j = blocks::string_stop(b, i)?;
        match b[j] {
            b'"' => return Some((j, seen)),
            b'\\' => {
                seen.escaped = true;
                i = j + 2;
            }
            _ => {
                seen.control = true;
                i = j + 1;
            }
        }
    }
}

/// The index just past the value that starts at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => Some(string_end(b, i + 1)?.0 + 1),
        b'{' if b.get(i + 1) == Some(&b'}') => Some(i + 2),
        b'{' => blocks::skip_nested(b, i, b'{', b'}'),
        b'[' => string_array_end(b, i).or_else(|| blocks::skip_nested(b, i, b'[', b']')),
        _ => {
            let n = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(b.len() - i);
            (n > 0).then_some(i + n)
        }
    }
}

/// Past the array at `i` when it holds strings alone, written compactly (`groups`, `sourceIPs`,
/// the values of `user.extra`): a walk from string to string, cheaper for a few short strings
/// than the block skipper's setup. `None` for anything else, which the block skipper takes.
fn string_array_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j) == Some(&b']') {
        return Some(j + 1);
    }
    loop {
        if b.get(j) != Some(&b'"') {
            return None;
        }
        j = string_end(b, j + 1)?.0 + 1;
        match b.get(j)? {
            b',' => j += 1,
            b']' => return Some(j + 1),
            _ => return None,
        }
    }
}

/// Walks the object at `i` (`b[i] == '{'`): `f(key, value_start)` returns the value's end.
/// Returns the index past the closing brace. Keys with escapes are left to simd-json.
fn members(b: &[u8], i: usize, mut f: impl FnMut(&[u8], usize) -> Option<usize>) -> Option<usize> {
    let mut i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key_end, content) = string_end(b, i + 1)?;
        if content.escaped {
            return None;
        }
        let key = &b[i + 1..key_end];
        i = ws(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, f(key, ws(b, i + 1))?);
        match b.get(i)? {
            b',' => i = ws(b, i + 1),
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// A string or `null` (an `Option<&str>` member), with the index past it.
fn string_or_null(b: &[u8], i: usize) -> Option<(Option<Str>, usize)> {
    match *b.get(i)? {
        b'"' => {
            let (end, Content { escaped, control }) = string_end(b, i + 1)?;
            if control || (escaped && unescaped_len(&b[i + 1..end]).is_none()) {
                return None;
            }
            Some((
                Some(Str {
                    start: i + 1,
                    end,
                    escaped,
                }),
                end + 1,
            ))
        }
        b'n' if b[i..].starts_with(b"null") => Some((None, i + 4)),
        _ => None,
    }
}

/// `null`, or the object at `i` walked by `f`.
fn object_or_null(
    b: &[u8],
    i: usize,
    f: impl FnMut(&[u8], usize) -> Option<usize>,
) -> Option<usize> {
    match *b.get(i)? {
        b'{' => members(b, i, f),
        b'n' if b[i..].starts_with(b"null") => Some(i + 4),
        _ => None,
    }
}

fn user(b: &[u8], i: usize, f: &mut Found) -> Option<usize> {
    let mut seen = 0;
    object_or_null(b, i, |key, i| match key {
        b"username" => {
            once(&mut seen, 0)?;
            let (s, end) = string_or_null(b, i)?;
            f.username = s;
            Some(end)
        }
        b"extra" => {
            once(&mut seen, 1)?;
            let mut pod_seen = 0;
            object_or_null(b, i, |key, i| {
                if key != b"authentication.kubernetes.io/pod-name" {
                    return skip_value(b, i);
                }
                once(&mut pod_seen, 0)?;
                first_string(b, i, &mut f.pod_name)
            })
        }
        _ => skip_value(b, i),
    })
}

/// [`FirstStr`]: a string, `null`, or an array whose first element is a string.
fn first_string(b: &[u8], i: usize, slot: &mut Option<Str>) -> Option<usize> {
    if b.get(i) != Some(&b'[') {
        let (s, end) = string_or_null(b, i)?;
        *slot = s;
        return Some(end);
    }
    let first = ws(b, i + 1);
    if b.get(first) == Some(&b']') {
        *slot = None;
        return Some(first + 1);
    }
    let (s, _) = string_or_null(b, first)?;
    *slot = Some(s?);
    skip_value(b, i)
}

fn object_ref(b: &[u8], i: usize, f: &mut Found) -> Option<usize> {
    let mut seen = 0;
    object_or_null(b, i, |key, i| {
        let at = match key {
            b"resource" => 0,
            b"subresource" => 1,
            b"namespace" => 2,
            b"name" => 3,
            b"apiGroup" => 4,
            b"apiVersion" => 5,
            _ => return skip_value(b, i),
        };
        once(&mut seen, at)?;
        let (s, end) = string_or_null(b, i)?;
        f.object_ref[at as usize] = s;
        Some(end)
    })
}

fn status(b: &[u8], i: usize, f: &mut Found) -> Option<usize> {
    let mut seen = 0;
    object_or_null(b, i, |key, i| match key {
        b"code" => {
            once(&mut seen, 0)?;
            let (code, end) = integer_or_null(b, i)?;
            f.code = code;
            Some(end)
        }
        b"reason" | b"message" => {
            once(&mut seen, if key == b"reason" { 1 } else { 2 })?;
            let (s, end) = string_or_null(b, i)?;
            *(if key == b"reason" {
                &mut f.reason
            } else {
                &mut f.message
            }) = s;
            Some(end)
        }
        _ => skip_value(b, i),
    })
}

/// A non-negative integer without a fraction or exponent (the members loop rejects whatever
/// follows the digits), or `null`.
fn integer_or_null(b: &[u8], i: usize) -> Option<(Option<i64>, usize)> {
    if b[i..].starts_with(b"null") {
        return Some((None, i + 4));
    }
    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 18 || (digits > 1 && b[i] == b'0') {
        return None;
    }
    let n = b[i..i + digits]
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some((Some(n), i + digits))
}

/// A request or response body: its `metadata.resourceVersion`, its length when not null, and
/// the index past it.
#[allow(clippy::type_complexity)]
fn body(b: &[u8], i: usize) -> Option<(Option<Str>, Option<u32>, usize)> {
    let mut rv = None;
    let end = if b.get(i) == Some(&b'{') {
        let mut seen = 0;
        members(b, i, |key, i| {
            if key != b"metadata" {
                return skip_value(b, i);
            }
            once(&mut seen, 0)?;
            let mut meta_seen = 0;
            object_or_null(b, i, |key, i| {
                if key != b"resourceVersion" {
                    return skip_value(b, i);
                }
                once(&mut meta_seen, 0)?;
                let (s, end) = string_or_null(b, i)?;
                rv = s;
                Some(end)
            })
        })?
    } else {
        skip_value(b, i)?
    };
    Some((rv, body_len(b, i, end), end))
}

fn annotations(b: &[u8], i: usize, f: &mut Found) -> Option<usize> {
    object_or_null(b, i, |key, i| {
        let key_str = utf8_span(key);
        if !RawAnnotations::reads(key_str) {
            return skip_value(b, i);
        }
        let (value, end) = string_or_null(b, i)?;
        if let Some(value) = value {
            let slot = f.annotations.get_mut(f.annotation_count)?;
            // `key` is a subslice of `b`: its span is where it lies.
            let start = key.as_ptr() as usize - b.as_ptr() as usize;
            *slot = (
                Str {
                    start,
                    end: start + key.len(),
                    escaped: false,
                },
                value,
            );
            f.annotation_count += 1;
        }
        Some(end)
    })
}

/// The length of a JSON string's content once unescaped, or `None` for an escape simd-json
/// might read differently (a bad escape, a `\u` surrogate, `\u0000`).
fn unescaped_len(s: &[u8]) -> Option<usize> {
    let (mut i, mut n) = (0, 0);
    while i < s.len() {
        if s[i] != b'\\' {
            i += 1;
            n += 1;
            continue;
        }
        match *s.get(i + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                i += 2;
                n += 1;
            }
            b'u' => {
                let c = char::from_u32(hex4(s.get(i + 2..i + 6)?)?)?;
                if c == '\0' {
                    return None;
                }
                i += 6;
                n += c.len_utf8();
            }
            _ => return None,
        }
    }
    Some(n)
}

fn hex4(h: &[u8]) -> Option<u32> {
    h.iter()
        .try_fold(0u32, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

/// Unescapes `line[start..end]` (checked by [`unescaped_len`]) into its own start; returns the
/// new end.
fn unescape_in_place(line: &mut [u8], start: usize, end: usize) -> usize {
    let (mut r, mut w) = (start, start);
    while r < end {
        let c = line[r];
        if c != b'\\' {
            line[w] = c;
            r += 1;
            w += 1;
            continue;
        }
        let (ch, len) = match line[r + 1] {
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => (
                hex4(&line[r + 2..r + 6])
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}'),
                6,
            ),
            other => (char::from(other), 2),
        };
        let mut utf8 = [0u8; 4];
        let bytes = ch.encode_utf8(&mut utf8).as_bytes();
        line[w..w + bytes.len()].copy_from_slice(bytes);
        w += bytes.len();
        r += len;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(b: &[u8]) -> Option<Found> {
        let mut f = Found::default();
        scan(b, &mut f).then_some(f)
    }

    #[test]
    fn a_reused_found_keeps_nothing_of_the_line_before() {
        let full = br#"{"kind":"Event","stage":"ResponseComplete","verb":"update","userAgent":"ua","user":{"username":"u","extra":{"authentication.kubernetes.io/pod-name":["p"]}},"objectRef":{"resource":"pods","name":"n"},"responseStatus":{"code":409,"reason":"Conflict"},"requestObject":{"metadata":{"resourceVersion":"3"}},"responseObject":{"metadata":{"resourceVersion":"4"}},"annotations":{"k8s.io/deprecated":"true"}}"#;
        let bare = br#"{"kind":"Event","stage":"ResponseComplete","verb":"get"}"#;
        let mut f = Found::default();
        assert!(scan(full, &mut f));
        assert!(f.annotation_count == 1 && f.top[USER_AGENT].is_some() && f.code == Some(409));
        // A line the skim leaves alone in between must not leave its half-read spans either.
        assert!(!scan(br#"{"userAgent":"x","verb":7}"#, &mut f));
        assert!(scan(bare, &mut f));
        let mut buf = bare.to_vec();
        let raw = build(&f, &mut buf);
        assert_eq!(raw.annotations.and_then(|a| a.deprecated), None);
        assert_eq!(
            raw.response_object
                .and_then(|o| o.metadata?.resource_version),
            None
        );
        assert_eq!(raw.user_agent, None);
        assert_eq!(raw.user.and_then(|u| u.username), None);
        assert_eq!(raw.response_status.and_then(|s| s.code), None);
        assert_eq!(raw.request_bytes, None);
        assert_eq!(raw.verb, Some("get"));
    }

    #[test]
    fn bodies_are_measured_and_skipped() {
        let line = br#"{"kind":"Event","stage":"ResponseComplete","verb":"update","requestObject":{"kind":"ConfigMap","metadata":{"name":"a","managedFields":[{"f:data":{".":{},"f:k":{}}}],"resourceVersion":"41"},"data":{"k":"v \"}{[\""}},"responseObject":[1,{"a":[2]}],"user":{"username":"u"}}"#;
        let f = scanned(line).expect("fast path");
        let req = br#"{"kind":"ConfigMap","metadata":{"name":"a","managedFields":[{"f:data":{".":{},"f:k":{}}}],"resourceVersion":"41"},"data":{"k":"v \"}{[\""}}"#;
        assert_eq!(f.request_bytes, Some(req.len() as u32));
        assert_eq!(f.response_bytes, Some(br#"[1,{"a":[2]}]"#.len() as u32));
        assert_eq!(body_lengths(line), (f.request_bytes, f.response_bytes));
        let mut buf = line.to_vec();
        let raw = build(&f, &mut buf);
        assert_eq!(
            raw.request_object
                .unwrap()
                .metadata
                .unwrap()
                .resource_version,
            Some("41")
        );
        assert_eq!(raw.user.unwrap().username, Some("u"));
    }

    #[test]
    fn bodies_with_look_alikes_inside_strings_are_stepped_over() {
        fn rv(o: Option<RawObjectHead<'_>>) -> Option<&str> {
            o.and_then(|o| o.metadata?.resource_version)
        }
        let deep = format!("{}{}", "[{\"a\":".repeat(300), "1}]".repeat(300));
        let tricky = r#""k":"x\"}]{[\\","\u007d\u005d":"\\\"","é😀\"":"]}""#;
        let body = format!(
            r#"{{"spec":{{{tricky},"deep":{deep}}},"metadata":{{"annotations":{{"last-applied":"{{\"a\":[\"}}\"]}}"}},"resourceVersion":"77"}},"status":{{"s":"{{"}}}}"#
        );
        let line = format!(
            r#"{{"kind":"Event","stage":"ResponseComplete","verb":"update","requestObject":{body},"responseObject":{body},"user":{{"username":"u"}}}}"#
        );
        let f = scanned(line.as_bytes()).expect("fast path");
        assert_eq!(f.request_bytes, Some(body.len() as u32));
        assert_eq!(f.response_bytes, Some(body.len() as u32));
        let mut buf = line.into_bytes();
        let raw = build(&f, &mut buf);
        assert_eq!(rv(raw.request_object), Some("77"));
        assert_eq!(rv(raw.response_object), Some("77"));
        assert_eq!(raw.user.unwrap().username, Some("u"));
    }

    #[test]
    fn arrays_of_strings_end_where_the_block_skipper_says() {
        for a in [
            r#"[]"#,
            r#"["a"]"#,
            r#"["system:nodes","system:authenticated"]"#,
            r#"["x\"]","y"]"#,
            r#"["a",["b"]]"#,
            r#"["a", "b"]"#,
            r#"["a",1]"#,
            r#"[{"a":"]"}]"#,
        ] {
            let b = format!("{a},\"next\":1");
            let want = blocks::skip_nested(b.as_bytes(), 0, b'[', b']');
            assert_eq!(want, Some(a.len()), "{a}");
            assert_eq!(skip_value(b.as_bytes(), 0), want, "{a}");
        }
        // Only the plain, compact ones take the walk; the rest go to the block skipper.
        assert_eq!(string_array_end(br#"["a","b"]"#, 0), Some(9));
        assert_eq!(string_array_end(br#"["a", "b"]"#, 0), None);
        assert_eq!(string_array_end(br#"["a",1]"#, 0), None);
        assert_eq!(skip_value(b"{},", 0), Some(2));
    }

    #[test]
    fn a_body_cut_short_is_left_to_simd_json() {
        let line =
            r#"{"kind":"Event","stage":"ResponseComplete","verb":"update","requestObject":{"a":"}"#;
        assert!(scanned(line.as_bytes()).is_none());
        assert_eq!(body_lengths(line.as_bytes()), (None, None));
    }

    #[test]
    fn escapes_are_unescaped_in_place() {
        let line = br#"{"kind":"Event","stage":"ResponseComplete","verb":"get","requestURI":"/api?a=1\u0026b=\"2\"\/\u00e9"}"#;
        let f = scanned(line).unwrap();
        let mut buf = line.to_vec();
        assert_eq!(build(&f, &mut buf).request_uri, Some("/api?a=1&b=\"2\"/é"));
    }

    #[test]
    fn unusual_lines_are_left_to_simd_json() {
        for line in [
            r#"{"verb":"get","verb":"list"}"#,
            r#"{"\u0076erb":"get"}"#,
            r#"{"verb":7}"#,
            r#"{"verb":"a\ud83d\ude00"}"#,
            r#"{"kind":"EventList","items":[]}"#,
            r#"{"verb":"get"} x"#,
            r#"{"responseStatus":{"code":200.5}}"#,
            r#"{"responseStatus":{"code":-1}}"#,
            r#"{"user":["u"]}"#,
            r#"{"requestObject":{"metadata":[]}}"#,
            "[1]",
            "{\"verb\":\"a\u{1}\"}",
        ] {
            assert!(scanned(line.as_bytes()).is_none(), "{line}");
        }
    }
}

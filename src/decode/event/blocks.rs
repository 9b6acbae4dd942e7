//! Decode: the end of a JSON object or array found 64 bytes at a time, for [`skim`](super::skim)
//! to step over request and response bodies. Each block is classified the way simdjson's first
//! stage does it — a bitmask each of its quotes, backslashes and brackets; escaped quotes dropped
//! by carrying backslash runs across blocks; strings masked by a prefix XOR of the quotes — so a
//! block of short strings costs a few instructions, not one search per string. A block where the
//! depth cannot reach zero is stepped over on a popcount; only the last one is walked bit by bit.

/// The bits of the even positions of a block.
const EVEN: u64 = 0x5555_5555_5555_5555;

/// What one block hands to the next: whether its first byte is escaped (a backslash run ending
/// the last block was odd), and whether it starts inside a string (all ones or zero).
#[derive(Default)]
struct Carry {
    escaped: u64,
    in_string: u64,
}

impl Carry {
    /// The bits of the characters that a backslash escapes (simdjson's `find_escaped`): of a run
    /// of backslashes, every second one escapes the next character.
    fn escaped(&mut self, backslash: u64) -> u64 {
        if backslash == 0 {
            return std::mem::take(&mut self.escaped);
        }
        let backslash = backslash & !self.escaped;
        let follows_escape = (backslash << 1) | self.escaped;
        let odd_starts = backslash & !EVEN & !follows_escape;
        let (even_starts, overflow) = odd_starts.overflowing_add(backslash);
        self.escaped = u64::from(overflow);
        (EVEN ^ (even_starts << 1)) & follows_escape
    }

    /// The bits inside strings (an opening quote included, its closing quote not), given the
    /// block's unescaped quotes.
    fn in_string(&mut self, quotes: u64) -> u64 {
        let mut x = quotes;
        for shift in [1, 2, 4, 8, 16, 32] {
            x ^= x << shift;
        }
        let inside = x ^ self.in_string;
        self.in_string = 0u64.wrapping_sub(inside >> 63);
        inside
    }
}

/// Past the object or array that starts at `b[start]` (`open`; `close` is its bracket): the
/// index after its closing bracket, or `None` when the bytes end first. Only its own kind of
/// bracket is counted (the other kind is balanced inside it); nothing is validated.
pub(super) fn skip_nested(b: &[u8], start: usize, open: u8, close: u8) -> Option<usize> {
    let mut carry = Carry::default();
    let mut depth = 0u32;
    let mut at = start;
    let mut tail = [b' '; 64];
    while at < b.len() {
        let block: &[u8; 64] = if let Some(whole) = b.get(at..at + 64) {
            whole.try_into().ok()?
        } else {
            tail[..b.len() - at].copy_from_slice(&b[at..]);
            &tail
        };
        let [quote, backslash, opens, closes] = masks(block, open, close);
        let escaped = carry.escaped(backslash);
        let in_string = carry.in_string(quote & !escaped);
        let (opens, closes) = (opens & !in_string, closes & !in_string);
        if closes.count_ones() < depth {
            depth = depth + opens.count_ones() - closes.count_ones();
        } else {
            let mut both = opens | closes;
            while both != 0 {
                let bit = both.trailing_zeros();
                if opens & (1 << bit) != 0 {
                    depth += 1;
                } else {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(at + bit as usize + 1);
                    }
                }
                both &= both - 1;
            }
        }
        at += 64;
    }
    None
}

/// The index of the first `"`, `\\` or control character (below U+0020, which JSON forbids in
/// a string) at or after `i`: where a string's scan must stop and look. Sixteen bytes at a time,
/// so a key or a short value costs one comparison of a register, not a loop per byte and a
/// second pass for control characters.
pub(super) fn string_stop(b: &[u8], mut i: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    while let Some(lane) = b.get(i..i + 16) {
        // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 CPU has it.
        let stops = unsafe { sse2::string_stops(lane) };
        if stops != 0 {
            return Some(i + stops.trailing_zeros() as usize);
        }
        i += 16;
    }
    string_stop_scalar(b, i)
}

fn string_stop_scalar(b: &[u8], i: usize) -> Option<usize> {
    let k = b
        .get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    Some(i + k)
}

/// The block's bitmasks of `"`, `\`, `open` and `close` (bit i for byte i).
#[cfg(target_arch = "x86_64")]
fn masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
    // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 CPU has it.
    unsafe { sse2::masks(block, open, close) }
}

#[cfg(not(target_arch = "x86_64"))]
fn masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
    masks_scalar(block, open, close)
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))] // the reference the SSE2 path is tested by
fn masks_scalar(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
    let mut m = [0u64; 4];
    for (i, &c) in block.iter().enumerate() {
        for (slot, want) in m.iter_mut().zip([b'"', b'\\', open, close]) {
            *slot |= u64::from(c == want) << i;
        }
    }
    m
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };

    /// Bit i set when byte i of the 16 is `"`, `\\` or below 0x20 (unsigned: `min(c, 0x1f) == c`).
    #[target_feature(enable = "sse2")]
    pub(super) fn string_stops(lane: &[u8]) -> u32 {
        let v = load(lane);
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"'.cast_signed()));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\'.cast_signed()));
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        let any = _mm_or_si128(_mm_or_si128(quote, backslash), control);
        _mm_movemask_epi8(any).cast_unsigned() & 0xffff
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
        let mut m = [0u64; 4];
        for (k, lane) in block.chunks_exact(16).enumerate() {
            let v = load(lane);
            for (slot, want) in m.iter_mut().zip([b'"', b'\\', open, close]) {
                *slot |= eq(v, want) << (16 * k);
            }
        }
        m
    }

    /// 16 bytes into a register (the compiler makes it one unaligned load).
    #[target_feature(enable = "sse2")]
    fn load(lane: &[u8]) -> __m128i {
        let half =
            |r: std::ops::Range<usize>| i64::from_le_bytes(lane[r].try_into().unwrap_or_default());
        _mm_set_epi64x(half(8..16), half(0..8))
    }

    #[target_feature(enable = "sse2")]
    fn eq(v: __m128i, want: u8) -> u64 {
        let hits = _mm_cmpeq_epi8(v, _mm_set1_epi8(want.cast_signed()));
        u64::from(_mm_movemask_epi8(hits).cast_unsigned() & 0xffff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of the value at `b[start..]` as serde_json reads it: an independent reference.
    fn serde_end(b: &[u8], start: usize) -> Option<usize> {
        let mut values =
            serde_json::Deserializer::from_slice(&b[start..]).into_iter::<serde::de::IgnoredAny>();
        values.next()?.ok()?;
        Some(start + values.byte_offset())
    }

    /// A small deterministic generator (xorshift), so failures replay.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A JSON string with the escapes and look-alikes that break naive skipping: escaped quotes,
    /// runs of backslashes, brackets and quotes' escapes, `\u` escapes, multi-byte text.
    fn string(r: &mut Rng, out: &mut String) {
        out.push('"');
        for _ in 0..r.below(90) {
            match r.below(14) {
                0 => out.push_str(r#"\""#),
                1 => out.push_str(r"\\"),
                2 => out.push_str(r#"\\\""#),
                3 => out.push_str(r"\\\\"),
                4 => out.push_str(["{", "}", "[", "]"][r.below(4) as usize]),
                5 => out.push_str(r"\u00e9\u007d\u005b"),
                6 => out.push_str("é日😀"),
                7 => out.push_str(r"\n\t\/"),
                8 => out.push_str(r#"\"}]"#),
                _ => out.push(char::from(b'a' + r.below(26) as u8)),
            }
        }
        out.push('"');
    }

    fn value(r: &mut Rng, depth: u32, out: &mut String) {
        match if depth > 12 {
            3 + r.below(3)
        } else {
            r.below(6)
        } {
            0 | 1 => {
                out.push('{');
                for i in 0..r.below(6) {
                    if i > 0 {
                        out.push(',');
                    }
                    string(r, out);
                    out.push_str(if r.below(4) == 0 { " : " } else { ":" });
                    value(r, depth + 1, out);
                }
                out.push('}');
            }
            2 => {
                out.push('[');
                for i in 0..r.below(6) {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    value(r, depth + 1, out);
                }
                out.push(']');
            }
            3 => string(r, out),
            4 => out.push_str(["null", "true", "-12.5e3", "0"][r.below(4) as usize]),
            _ => {
                out.push('[');
                for _ in 0..depth {
                    out.push('[');
                }
                for _ in 0..depth {
                    out.push(']');
                }
                out.push(']');
            }
        }
    }

    #[test]
    fn bodies_end_where_serde_json_says() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut checked = 0;
        for _ in 0..3000 {
            let mut text = String::new();
            // Shift the value against the 64-byte blocks, and follow it with more text.
            for _ in 0..r.below(70) {
                text.push(' ');
            }
            let start = text.len();
            value(&mut r, 0, &mut text);
            text.push_str(r#","next":{"a":"}"}"#);
            let b = text.as_bytes();
            let (open, close) = match b[start] {
                b'{' => (b'{', b'}'),
                b'[' => (b'[', b']'),
                _ => continue,
            };
            let want = serde_end(b, start);
            assert!(want.is_some(), "the generator writes JSON: {text}");
            assert_eq!(skip_nested(b, start, open, close), want, "{text}");
            // Cut short anywhere inside, the value has no end.
            let cut = start + 1 + r.below((want.unwrap() - start - 1) as u64) as usize;
            assert_eq!(
                skip_nested(&b[..cut], start, open, close),
                None,
                "{text} cut at {cut}"
            );
            checked += 1;
        }
        assert!(checked > 1500, "{checked}");
    }

    #[test]
    fn backslash_runs_across_block_edges() {
        // A string whose backslash run ends exactly at a block's last byte, for every run length.
        for run in 0..130 {
            for pad in 0..66 {
                let mut text = format!("{{\"{}", "x".repeat(pad));
                text.push_str(&"\\".repeat(run));
                // An odd run escapes the quote that follows: the string goes on.
                if run % 2 == 1 {
                    text.push_str("\"}");
                }
                text.push_str("\":1}tail");
                let want = serde_end(text.as_bytes(), 0);
                assert_eq!(skip_nested(text.as_bytes(), 0, b'{', b'}'), want, "{text}");
                assert!(want.is_some(), "{text}");
            }
        }
    }

    #[test]
    fn deep_nesting_is_counted_past_whole_blocks() {
        for depth in [1, 63, 64, 65, 500, 5000] {
            let text = format!("{}{}x", "[".repeat(depth), "]".repeat(depth));
            assert_eq!(skip_nested(text.as_bytes(), 0, b'[', b']'), Some(2 * depth));
            let short = &text.as_bytes()[..2 * depth - 1];
            assert_eq!(skip_nested(short, 0, b'[', b']'), None);
        }
    }

    #[test]
    fn string_stops_are_the_first_quote_backslash_or_control_byte() {
        let mut r = Rng(11);
        for _ in 0..3000 {
            // Mostly plain text so the stop falls anywhere across and past the 16-byte lanes.
            let len = r.below(80) as usize;
            let b: Vec<u8> = (0..len)
                .map(|_| match r.below(40) {
                    0 => b'"',
                    1 => b'\\',
                    2 => r.below(0x20) as u8,
                    3 => 0x20,
                    4 => 0x7f,
                    5 => 0x80 + r.below(0x80) as u8,
                    _ => b'a' + r.below(26) as u8,
                })
                .collect();
            for from in [0, 1, 15, 16, 17] {
                let want = b
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|&(_, &c)| c == b'"' || c == b'\\' || c < 0x20)
                    .map(|(k, _)| k);
                assert_eq!(string_stop(&b, from), want, "{b:?} from {from}");
                assert_eq!(string_stop_scalar(&b, from), want, "{b:?} from {from}");
            }
        }
    }

    #[test]
    fn sse2_masks_are_the_scalar_masks() {
        let mut r = Rng(7);
        for _ in 0..2000 {
            let mut block = [0u8; 64];
            for c in &mut block {
                *c = b"\"\\{}[]a \x00\xff"[r.below(10) as usize];
            }
            for (open, close) in [(b'{', b'}'), (b'[', b']')] {
                assert_eq!(
                    masks(&block, open, close),
                    masks_scalar(&block, open, close)
                );
            }
        }
    }
}

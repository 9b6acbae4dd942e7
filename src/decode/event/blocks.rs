//! Decode: the end of a JSON object or array found 64 bytes at a time, for [`skim`](super::skim)
//! to step over request and response bodies. Each block is classified the way simdjson's first
//! stage does it — a bitmask each of its quotes, backslashes and brackets; escaped quotes dropped
//! by carrying backslash runs across blocks; strings masked by a prefix XOR of the quotes — so a
//! block of short strings costs a few instructions, not one search per string. A block where the
//! depth cannot reach zero is stepped over on a popcount; only the last one is walked bit by bit.
//!
//! The masks and the prefix XOR are the skipper's whole cost on a body, so the CPU picks how they
//! are made (checked at run time, as a portable build cannot assume more than SSE2): AVX-512BW
//! compares 64 bytes into a mask in one instruction per character, AVX2 in two, SSE2 in four and
//! a move each; with PCLMULQDQ the prefix XOR is one carry-less multiply instead of six
//! shift-XORs. Every path is held to the scalar reference by the tests below.

// `#[inline(always)]` is what makes the dispatch pay: the loop and its masks must be compiled
// inside each `#[target_feature]` entry point, or every block pays a call into the masks.
#![allow(
    clippy::inline_always,
    reason = "the loop must be inlined into each instruction set's entry point"
)]

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
    /// prefix XOR of the block's unescaped quotes.
    fn in_string(&mut self, quotes_prefix_xor: u64) -> u64 {
        let inside = quotes_prefix_xor ^ self.in_string;
        self.in_string = 0u64.wrapping_sub(inside >> 63);
        inside
    }
}

/// How a block's masks are made: one implementation per instruction set.
trait Classify {
    /// The block's bitmasks of `"`, `\`, `open` and `close` (bit i for byte i).
    fn masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4];
    /// Bit i of the result is the XOR of bits 0..=i of `x`.
    fn prefix_xor(x: u64) -> u64;
}

/// Plain Rust: the reference the others are tested by, and the path off x86_64.
struct Scalar;

impl Classify for Scalar {
    #[inline(always)]
    fn masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
        let mut m = [0u64; 4];
        for (i, &c) in block.iter().enumerate() {
            for (slot, want) in m.iter_mut().zip([b'"', b'\\', open, close]) {
                *slot |= u64::from(c == want) << i;
            }
        }
        m
    }
    #[inline(always)]
    fn prefix_xor(mut x: u64) -> u64 {
        for shift in [1, 2, 4, 8, 16, 32] {
            x ^= x << shift;
        }
        x
    }
}

/// Past the object or array that starts at `b[start]` (`open`; `close` is its bracket): the
/// index after its closing bracket, or `None` when the bytes end first. Only its own kind of
/// bracket is counted (the other kind is balanced inside it); nothing is validated.
pub(super) fn skip_nested(b: &[u8], start: usize, open: u8, close: u8) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        // The detection is cached by std: one load of a static per call.
        if x86::has_avx512() {
            // SAFETY: the CPU has what `skip_avx512` needs, checked just above.
            return unsafe { x86::skip_avx512(b, start, open, close) };
        }
        if x86::has_avx2() {
            // SAFETY: the CPU has what `skip_avx2` needs, checked just above.
            return unsafe { x86::skip_avx2(b, start, open, close) };
        }
        // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 CPU has it.
        unsafe { x86::skip_sse2(b, start, open, close) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    skip_with::<Scalar>(b, start, open, close)
}

/// The skipper's loop, inlined into each instruction set's entry point so that its masks are
/// inlined too.
#[inline(always)]
fn skip_with<C: Classify>(b: &[u8], start: usize, open: u8, close: u8) -> Option<usize> {
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
        let [quote, backslash, opens, closes] = C::masks(block, open, close);
        let escaped = carry.escaped(backslash);
        let in_string = carry.in_string(C::prefix_xor(quote & !escaped));
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
        let stops = unsafe { x86::string_stops(lane) };
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Classify, Scalar, skip_with};
    use std::arch::x86_64::{
        __m128i, __m256i, __m512i, _mm_clmulepi64_si128, _mm_cmpeq_epi8, _mm_cvtsi128_si64,
        _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
        _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
        _mm512_cmpeq_epi8_mask, _mm512_loadu_si512, _mm512_set1_epi8,
    };

    /// Whether the CPU has what [`skip_avx512`] and [`Avx512`] need.
    pub(super) fn has_avx512() -> bool {
        std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
    }

    /// Whether the CPU has what [`skip_avx2`] and [`Avx2`] need.
    pub(super) fn has_avx2() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
    }

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

    /// 16 bytes into a register (the compiler makes it one unaligned load).
    #[target_feature(enable = "sse2")]
    fn load(lane: &[u8]) -> __m128i {
        let half =
            |r: std::ops::Range<usize>| i64::from_le_bytes(lane[r].try_into().unwrap_or_default());
        _mm_set_epi64x(half(8..16), half(0..8))
    }

    pub(super) struct Sse2;

    impl Classify for Sse2 {
        #[inline(always)]
        fn masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
            // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 CPU has it.
            unsafe { sse2_masks(block, open, close) }
        }
        #[inline(always)]
        fn prefix_xor(x: u64) -> u64 {
            Scalar::prefix_xor(x)
        }
    }

    #[target_feature(enable = "sse2")]
    fn sse2_masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
        let mut m = [0u64; 4];
        for (k, lane) in block.chunks_exact(16).enumerate() {
            let v = load(lane);
            for (slot, want) in m.iter_mut().zip([b'"', b'\\', open, close]) {
                let hits = _mm_cmpeq_epi8(v, _mm_set1_epi8(want.cast_signed()));
                *slot |= u64::from(_mm_movemask_epi8(hits).cast_unsigned() & 0xffff) << (16 * k);
            }
        }
        m
    }

    /// Used only where [`has_avx2`] holds.
    pub(super) struct Avx2;

    impl Classify for Avx2 {
        #[inline(always)]
        fn masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
            // SAFETY: `Avx2` is used only where `has_avx2` holds.
            unsafe { avx2_masks(block, open, close) }
        }
        #[inline(always)]
        fn prefix_xor(x: u64) -> u64 {
            // SAFETY: as above (`has_avx2` includes PCLMULQDQ).
            unsafe { clmul_prefix_xor(x) }
        }
    }

    #[target_feature(enable = "avx2")]
    fn avx2_masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
        // SAFETY: the block is 64 bytes, so both 32-byte unaligned loads are in bounds.
        #[allow(
            clippy::cast_ptr_alignment,
            reason = "`_mm256_loadu_si256` loads from any alignment"
        )]
        let (lo, hi) = unsafe {
            let p = block.as_ptr().cast::<__m256i>();
            (_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1)))
        };
        [b'"', b'\\', open, close].map(|want| {
            let w = _mm256_set1_epi8(want.cast_signed());
            let low = _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, w)).cast_unsigned();
            let high = _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, w)).cast_unsigned();
            u64::from(low) | (u64::from(high) << 32)
        })
    }

    /// Used only where [`has_avx512`] holds.
    pub(super) struct Avx512;

    impl Classify for Avx512 {
        #[inline(always)]
        fn masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
            // SAFETY: `Avx512` is used only where `has_avx512` holds.
            unsafe { avx512_masks(block, open, close) }
        }
        #[inline(always)]
        fn prefix_xor(x: u64) -> u64 {
            // SAFETY: as above (`has_avx512` includes PCLMULQDQ).
            unsafe { clmul_prefix_xor(x) }
        }
    }

    #[target_feature(enable = "avx512bw")]
    fn avx512_masks(block: &[u8; 64], open: u8, close: u8) -> [u64; 4] {
        // SAFETY: the block is 64 bytes, one unaligned 64-byte load.
        let v: __m512i = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
        [b'"', b'\\', open, close]
            .map(|want| _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(want.cast_signed())))
    }

    /// The prefix XOR as a carry-less multiply by all ones (simdjson's `prefix_xor`).
    #[target_feature(enable = "pclmulqdq")]
    fn clmul_prefix_xor(x: u64) -> u64 {
        let product =
            _mm_clmulepi64_si128(_mm_set_epi64x(0, x.cast_signed()), _mm_set1_epi8(-1), 0);
        _mm_cvtsi128_si64(product).cast_unsigned()
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn skip_sse2(b: &[u8], start: usize, open: u8, close: u8) -> Option<usize> {
        skip_with::<Sse2>(b, start, open, close)
    }

    #[target_feature(enable = "avx2,pclmulqdq")]
    pub(super) fn skip_avx2(b: &[u8], start: usize, open: u8, close: u8) -> Option<usize> {
        skip_with::<Avx2>(b, start, open, close)
    }

    #[target_feature(enable = "avx512bw,pclmulqdq")]
    pub(super) fn skip_avx512(b: &[u8], start: usize, open: u8, close: u8) -> Option<usize> {
        skip_with::<Avx512>(b, start, open, close)
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
        let skippers = skippers();
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
            // Cut short anywhere inside, the value has no end.
            let cut = start + 1 + r.below((want.unwrap() - start - 1) as u64) as usize;
            for (name, skip) in &skippers {
                assert_eq!(skip(b, start, open, close), want, "{name}: {text}");
                let short = skip(&b[..cut], start, open, close);
                assert_eq!(short, None, "{name}: {text} cut at {cut}");
            }
            checked += 1;
        }
        assert!(checked > 1500, "{checked}");
    }

    #[test]
    fn backslash_runs_across_block_edges() {
        // A string whose backslash run ends exactly at a block's last byte, for every run length.
        let skippers = skippers();
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
                assert!(want.is_some(), "{text}");
                for (name, skip) in &skippers {
                    assert_eq!(skip(text.as_bytes(), 0, b'{', b'}'), want, "{name}: {text}");
                }
            }
        }
    }

    #[test]
    fn deep_nesting_is_counted_past_whole_blocks() {
        for depth in [1, 63, 64, 65, 500, 5000] {
            let text = format!("{}{}x", "[".repeat(depth), "]".repeat(depth));
            let short = &text.as_bytes()[..2 * depth - 1];
            for (name, skip) in skippers() {
                assert_eq!(
                    skip(text.as_bytes(), 0, b'[', b']'),
                    Some(2 * depth),
                    "{name}"
                );
                assert_eq!(skip(short, 0, b'[', b']'), None, "{name}");
            }
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

    type Skipper = fn(&[u8], usize, u8, u8) -> Option<usize>;

    /// Every skipper this CPU can run, named: the dispatched one, the scalar reference, and
    /// each instruction set's path the CPU has (so each is tested, not only the fastest).
    fn skippers() -> Vec<(&'static str, Skipper)> {
        let mut all: Vec<(&'static str, Skipper)> = vec![
            ("dispatched", skip_nested),
            ("scalar", |b, s, o, c| skip_with::<Scalar>(b, s, o, c)),
        ];
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of the x86_64 baseline.
            all.push(("sse2", |b, s, o, c| unsafe { x86::skip_sse2(b, s, o, c) }));
            if x86::has_avx2() {
                // SAFETY: the CPU has what it needs, checked just above.
                all.push(("avx2", |b, s, o, c| unsafe { x86::skip_avx2(b, s, o, c) }));
            }
            if x86::has_avx512() {
                // SAFETY: the CPU has what it needs, checked just above.
                all.push(("avx512", |b, s, o, c| unsafe {
                    x86::skip_avx512(b, s, o, c)
                }));
            }
        }
        all
    }

    /// An instruction set's name, masks and prefix XOR.
    #[cfg(target_arch = "x86_64")]
    type Classifier = (
        &'static str,
        fn(&[u8; 64], u8, u8) -> [u64; 4],
        fn(u64) -> u64,
    );

    /// Each instruction set's masks and prefix XOR that this CPU can run, named.
    #[cfg(target_arch = "x86_64")]
    fn classifiers() -> Vec<Classifier> {
        use x86::{Avx2, Avx512, Sse2};
        let mut all: Vec<Classifier> = vec![("sse2", Sse2::masks, Sse2::prefix_xor)];
        if x86::has_avx2() {
            all.push(("avx2", Avx2::masks, Avx2::prefix_xor));
        }
        if x86::has_avx512() {
            all.push(("avx512", Avx512::masks, Avx512::prefix_xor));
        }
        all
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn every_instruction_sets_masks_are_the_scalar_masks() {
        let classifiers = classifiers();
        let mut r = Rng(7);
        for _ in 0..2000 {
            let mut block = [0u8; 64];
            for c in &mut block {
                *c = b"\"\\{}[]a \x00\xff"[r.below(10) as usize];
            }
            let x = r.next();
            // The prefix XOR bit by bit: an independent reference for the scalar one too.
            let (_, want_xor) = (0..64).fold((0u64, 0u64), |(acc, out), i| {
                let acc = acc ^ ((x >> i) & 1);
                (acc, out | (acc << i))
            });
            assert_eq!(Scalar::prefix_xor(x), want_xor, "{x:#x}");
            for (name, masks, prefix_xor) in &classifiers {
                for (open, close) in [(b'{', b'}'), (b'[', b']')] {
                    let want = Scalar::masks(&block, open, close);
                    assert_eq!(masks(&block, open, close), want, "{name}");
                }
                assert_eq!(prefix_xor(x), want_xor, "{name}: {x:#x}");
            }
        }
    }
}

//! Source: one plain file read by the workers themselves, a byte range each. A single reader
//! thread copying a page-cached file into chunks runs at about the speed of `cat` (0.13–0.17 s
//! a GB on the project's 2-core VM), slower than two workers skimming a log whose bytes are
//! mostly bodies: the reader was the bottleneck and its copy ran beside the workers on their
//! cores. Split, the reader only hands out ranges; each worker copies its own range with a
//! positional read (`pread`), so the copy runs on every core and no thread waits for another.
//!
//! A range owns the lines that *start* in it: it begins after the first newline before its
//! start (or at the file's first byte) and ends at the newline that ends its last line, read
//! past its end as far as needed. Every line is read by exactly one range, in the order the
//! ranges are numbered, whatever their length: a line longer than a range makes the ranges it
//! covers empty and the one where it starts long.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::open::BOM;

/// How far a range looks for its first line's start at a time (lines are a few KB).
const PROBE: usize = 16 * 1024;
/// How much more is read at a time past a range's end, to its last line's newline.
const EXTEND: usize = 64 * 1024;

/// A plain file shared by the workers reading its ranges.
#[derive(Debug)]
pub struct SplitFile {
    file: File,
    /// The first byte of content (3 after a byte-order mark).
    base: u64,
    /// Bytes the file had at open: where the last range ends.
    end: u64,
    /// Bytes handed to the workers, counted as the ranges are read.
    bytes: AtomicU64,
    /// The first read error (by offset) and where it happened.
    error: Mutex<Option<(u64, io::Error)>>,
}

/// One range of a [`SplitFile`] for a worker to read.
#[derive(Debug)]
pub struct Range {
    file: Arc<SplitFile>,
    start: u64,
    end: u64,
}

impl SplitFile {
    /// Opens the file at `path` for splitting into ranges of `range` bytes when it holds plain
    /// text of more than one: a regular file, not compressed (by the magic bytes
    /// [`super::open_input`] tests) and not one JSON document (which is read whole). `None`: read
    /// it as a stream, which also reports what made it unreadable.
    #[must_use]
    pub fn open(path: &Path, range: u64) -> Option<Arc<Self>> {
        // Asked of the path before opening: opening a FIFO waits for its writer, and a stream
        // reader then opens it again. Asked again of the open file, which is what is read (the
        // path may name another by then).
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            return None;
        }
        let file = File::open(path).ok()?;
        let meta = file.metadata().ok().filter(std::fs::Metadata::is_file)?;
        let len = meta.len();
        let mut head = vec![0u8; (range as usize).saturating_add(BOM.len()).min(len as usize)];
        let n = read_full_at(&file, &mut head, 0).ok()?;
        head.truncate(n);
        Self::from_head(file, &head, len, range)
    }

    /// [`Self::open`] for an open `file` of `len` bytes whose first are `head` (at least
    /// `range` of its content when it has that many).
    fn from_head(file: File, head: &[u8], len: u64, range: u64) -> Option<Arc<Self>> {
        use super::open::Compression;
        if Compression::detect(head) != Compression::None {
            return None;
        }
        let base = if head.starts_with(BOM) { BOM.len() } else { 0 };
        if len.saturating_sub(base as u64) <= range
            || super::chunk::looks_like_document(&head[base..])
        {
            return None;
        }
        Some(Arc::new(Self {
            file,
            base: base as u64,
            end: len,
            bytes: AtomicU64::new(0),
            error: Mutex::new(None),
        }))
    }

    /// The ranges of `size` bytes that cover the file, in order.
    pub fn ranges(self: &Arc<Self>, size: u64) -> impl Iterator<Item = Range> + '_ {
        let size = size.max(1);
        let n = (self.end - self.base).div_ceil(size);
        (0..n).map(move |i| Range {
            file: Arc::clone(self),
            start: self.base + i * size,
            end: (self.base + (i + 1) * size).min(self.end),
        })
    }

    /// Plain bytes read so far (all of them once every range is read).
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Bytes on disk: the content and a byte-order mark.
    #[must_use]
    pub fn raw_bytes(&self) -> u64 {
        self.end
    }

    /// The first read error, as the input's row says it.
    #[must_use]
    pub fn error(&self) -> Option<String> {
        let e = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        e.as_ref()
            .map(|(at, e)| format!("read error at byte {at}: {e}"))
    }

    fn fail(&self, at: u64, e: io::Error) {
        let mut slot = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_none_or(|(first, _)| at < *first) {
            *slot = Some((at, e));
        }
    }
}

/// Reads up to `buf.len()` bytes of `file` at `at`, fewer only at its end.
fn read_full_at(file: &File, mut buf: &mut [u8], mut at: u64) -> io::Result<usize> {
    let mut n = 0;
    while !buf.is_empty() {
        match positional_read(file, buf, at) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                at += k as u64;
                buf = &mut buf[k..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(unix)]
fn positional_read(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn positional_read(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

impl Range {
    /// Where the range ends in the file, in raw bytes (a byte-order mark included).
    #[must_use]
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Reads the range's lines into `buf` (its old bytes are read over), whole lines in file
    /// order; empty when no line starts in the range. A read error keeps what came before it
    /// and is the file's to report.
    pub fn fill(&self, buf: &mut Vec<u8>) {
        let f = &self.file;
        let read = match self.first_line() {
            Ok(Some(first)) => self.lines_from(first, buf),
            other => {
                buf.clear();
                other.map(|_| ())
            }
        };
        if let Err((at, e)) = read {
            f.fail(at, e);
        }
        f.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
    }

    /// Where the first line that starts in the range begins: after the first newline in
    /// `[start - 1, end - 1)`; `None` when there is none (a longer line runs through it).
    fn first_line(&self) -> Result<Option<u64>, (u64, io::Error)> {
        let f = &self.file;
        if self.start == f.base {
            return Ok(Some(self.start));
        }
        let mut probe = [0u8; PROBE];
        let mut at = self.start - 1;
        while at < self.end - 1 {
            let want = (self.end - 1 - at).min(PROBE as u64) as usize;
            let n = read_full_at(&f.file, &mut probe[..want], at).map_err(|e| (at, e))?;
            if let Some(i) = memchr::memchr(b'\n', &probe[..n]) {
                return Ok(Some(at + i as u64 + 1));
            }
            if n < want {
                return Ok(None);
            }
            at += n as u64;
        }
        Ok(None)
    }

    /// Reads `[first, end)` and then on to the newline that ends the last line (or the end of
    /// the file).
    fn lines_from(&self, first: u64, buf: &mut Vec<u8>) -> Result<(), (u64, io::Error)> {
        let f = &self.file;
        let len = (self.end - first) as usize;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let n = read_full_at(&f.file, &mut buf[..len], first).map_err(|e| {
            buf.clear();
            (first, e)
        })?;
        buf.truncate(n);
        if n < len || buf.last() == Some(&b'\n') {
            return Ok(());
        }
        let mut at = self.end;
        loop {
            let old = buf.len();
            buf.resize(old + EXTEND, 0);
            let n = read_full_at(&f.file, &mut buf[old..], at).map_err(|e| {
                buf.truncate(old);
                (at, e)
            })?;
            if let Some(i) = memchr::memchr(b'\n', &buf[old..old + n]) {
                buf.truncate(old + i + 1);
                return Ok(());
            }
            buf.truncate(old + n);
            if n < EXTEND {
                return Ok(());
            }
            at += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file of `lines` (each with its newline unless `last_open`), after an optional BOM.
    fn file(bom: bool, lines: &[Vec<u8>], last_open: bool) -> (tempfile::NamedTempFile, Vec<u8>) {
        let mut text = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            text.extend_from_slice(l);
            if i + 1 < lines.len() || !last_open {
                text.push(b'\n');
            }
        }
        let mut f = tempfile::NamedTempFile::new().unwrap();
        if bom {
            f.write_all(BOM).unwrap();
        }
        f.write_all(&text).unwrap();
        (f, text)
    }

    /// Lines of lengths from a little generator: short, empty, and longer than a range.
    fn lines(seed: u64, n: usize, range: usize) -> Vec<Vec<u8>> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let len = match (x >> 33) % 10 {
                    0 => 0,
                    1 => range * 3 + 1,
                    2 => range,
                    3 => range - 1,
                    _ => (x >> 40) as usize % (range / 2) + 1,
                };
                (0..len).map(|j| b'a' + ((i + j) % 26) as u8).collect()
            })
            .collect()
    }

    /// Every range read in order: the chunks, each whole lines.
    fn read_all(path: &std::path::Path, range: u64) -> Option<Vec<Vec<u8>>> {
        let all = std::fs::read(path).unwrap();
        let len = all.len() as u64;
        let head = &all[..all.len().min(range as usize + BOM.len())];
        let split = SplitFile::from_head(File::open(path).unwrap(), head, len, range)?;
        assert_eq!(
            SplitFile::open(path, range).map(|s| (s.base, s.end)),
            Some((split.base, split.end))
        );
        let chunks = split
            .ranges(range)
            .map(|r| {
                let mut buf = b"old bytes of an earlier chunk".repeat(9);
                r.fill(&mut buf);
                buf
            })
            .collect();
        assert!(split.error().is_none());
        assert_eq!(
            split.bytes(),
            len - if head.starts_with(BOM) { 3 } else { 0 }
        );
        Some(chunks)
    }

    #[test]
    fn ranges_read_every_line_once_in_order_whatever_its_length() {
        let mut empty = 0;
        for seed in 0..40 {
            for range in [8usize, 64, 300] {
                let ls = lines(seed, 60, range);
                let bom = seed % 3 == 0;
                let last_open = seed % 2 == 0;
                let (f, text) = file(bom, &ls, last_open);
                let Some(chunks) = read_all(f.path(), range as u64) else {
                    assert!(text.len() <= range, "seed {seed} range {range} not split");
                    continue;
                };
                assert_eq!(chunks.concat(), text, "seed {seed} range {range}");
                // Whole lines: only the last line may lack its newline, in the last chunk that
                // has any (a long last line leaves the ranges after its start empty).
                let full: Vec<_> = chunks.iter().filter(|c| !c.is_empty()).collect();
                for c in &full[..full.len() - 1] {
                    assert!(c.ends_with(b"\n"), "seed {seed} range {range}");
                }
                empty += chunks.len() - full.len();
            }
        }
        assert!(empty > 0, "some ranges lie inside a longer line");
    }

    #[test]
    fn only_plain_json_lines_longer_than_a_range_are_split() {
        let open = |bytes: &[u8], range: u64| {
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(bytes).unwrap();
            SplitFile::from_head(
                File::open(f.path()).unwrap(),
                bytes,
                bytes.len() as u64,
                range,
            )
        };
        let lines = b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n";
        assert!(open(lines, 8).is_some());
        assert!(open(lines, 64).is_none(), "one range: read as a stream");
        assert!(
            open(b"[\n{\"a\":1},\n{\"a\":2}\n]\n", 4).is_none(),
            "a document"
        );
        assert!(
            open(b"{\n\"kind\":\"EventList\"}\n", 4).is_none(),
            "a document"
        );
        assert!(
            open(b"\x1f\x8b\x08\0\0\0\0\0\0\0\0\0\0\0", 4).is_none(),
            "gzip"
        );
        assert!(open(b"\x28\xb5\x2f\xfd\0\0\0\0\0\0\0", 4).is_none(), "zstd");
    }
}

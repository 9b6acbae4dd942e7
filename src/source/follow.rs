//! Source: following files as they grow, like `tail -F`. One file, or every file of a directory
//! (recursively), is read from its start and then polled for appended bytes. Each file is
//! tracked by its identity (device and inode) through an open handle, so:
//! - a rename rotation (`audit.log` → `audit-1.log`, a new `audit.log`) drains the old file
//!   through its handle and reads the new one from its start, and the renamed file is not read
//!   again under its new name;
//! - a truncation (`copytruncate`: the length drops below what was read) reads again from 0;
//! - a file that appears in a watched directory is read from its start;
//! - a compressed file (gzip, zstd) cannot grow: one present when following starts is read once
//!   whole; one that appears later is a rotated file compressed after its rename (lumberjack,
//!   logrotate's `compress`), whose lines were already read, so it is counted and left alone.
//!
//! Only whole lines leave this module: the bytes after a file's last newline wait for the rest
//! of their line (a writer may be half-way through it), and are flushed when the file is done.

use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::chunk::CHUNK_SIZE;
use super::input::Input;
use super::open::{Compression, open_input};
use crate::model::report::InputRow;

/// Polls a file's handle this many times after its path stopped naming it (renamed or
/// removed) before closing it: a writer may still append to the old file for a moment.
const GRACE_POLLS: u8 = 2;

/// What following has met so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailCounts {
    /// Files whose path came to name another file (rename rotations).
    pub rotations: u64,
    /// Files that shrank below what had been read (copytruncate rotations).
    pub truncations: u64,
    /// Compressed files that appeared while following, taken as rotated copies and not read.
    pub compressed_skipped: u64,
}

/// One followed file.
struct Tracked {
    path: Option<PathBuf>,
    id: (u64, u64),
    file: File,
    offset: u64,
    cut: Cutter,
    /// Polls since its path stopped naming it.
    gone: u8,
}

/// A chunk of whole lines from one file: its origin (index into [`Tail::rows`]) and sequence.
pub struct Lines {
    /// Input index.
    pub origin: u32,
    /// Chunk sequence number within the input.
    pub seq: u64,
    /// Whole lines, each ending in a newline (the last one of a closed file may not).
    pub data: Vec<u8>,
}

/// Follows one file or one directory's files.
pub struct Tail {
    root: PathBuf,
    files: Vec<Tracked>,
    /// Every file identity ever read, so a rotated file met under its new name is not re-read.
    known: HashSet<(u64, u64)>,
    rows: Vec<InputRow>,
    polls: u64,
    counts: TailCounts,
}

fn identity(m: &Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

impl Tail {
    /// Follows `root` (a file or a directory).
    ///
    /// # Errors
    /// `root` does not exist or cannot be read.
    pub fn new(root: &Path) -> io::Result<Self> {
        std::fs::metadata(root)?;
        Ok(Self {
            root: root.to_path_buf(),
            files: Vec::new(),
            known: HashSet::new(),
            rows: Vec::new(),
            polls: 0,
            counts: TailCounts::default(),
        })
    }

    /// Per input (one per file identity followed): name and bytes read.
    #[must_use]
    pub fn rows(&self) -> &[InputRow] {
        &self.rows
    }

    /// Rotations, truncations and skipped compressed files met so far.
    #[must_use]
    pub fn counts(&self) -> TailCounts {
        self.counts
    }

    fn paths(&self) -> Vec<PathBuf> {
        if !self.root.is_dir() {
            return vec![self.root.clone()];
        }
        let mut v: Vec<PathBuf> = walkdir::WalkDir::new(&self.root)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(walkdir::DirEntry::into_path)
            .collect();
        v.sort();
        v
    }

    /// Reads what was appended since the last poll, handing whole lines to `out`. Errors of
    /// one file (it vanished between listing and opening) are not fatal: the next poll retries.
    pub fn poll(&mut self, out: &mut dyn FnMut(Lines)) {
        let first = self.polls == 0;
        self.polls += 1;
        let mut named = HashSet::new();
        for path in self.paths() {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let id = identity(&meta);
            named.insert(id);
            if let Some(t) = self.files.iter_mut().find(|t| t.id == id) {
                t.path = Some(path);
                t.gone = 0;
                continue;
            }
            if self.known.contains(&id) {
                continue; // read whole already (a compressed file), or closed
            }
            self.open(&path, id, first, out);
        }
        for t in &mut self.files {
            if !named.contains(&t.id) {
                if t.gone == 0 && t.path.is_some() {
                    self.counts.rotations += 1;
                }
                t.gone += 1;
                t.path = None;
            }
        }
        let rows = &mut self.rows;
        let counts = &mut self.counts;
        for t in &mut self.files {
            let row = &mut rows[t.cut.origin as usize];
            if let Err(e) = drain(t, row, counts, out) {
                row.error = Some(format!("read error after {} bytes: {e}", t.offset));
            }
        }
        // Forget identities no longer named nor open: an inode number is reused after a
        // delete, and a new file that gets one must be read.
        let open: HashSet<_> = self.files.iter().map(|t| t.id).collect();
        self.known
            .retain(|id| named.contains(id) || open.contains(id));
        // Close the files gone long enough, flushing a last line without its newline.
        let mut i = 0;
        while i < self.files.len() {
            if self.files[i].gone > GRACE_POLLS {
                let mut t = self.files.swap_remove(i);
                t.cut.flush(out);
            } else {
                i += 1;
            }
        }
    }

    /// Flushes every file's last partial line (at the end of following).
    pub fn finish(&mut self, out: &mut dyn FnMut(Lines)) {
        for t in &mut self.files {
            t.cut.flush(out);
        }
    }

    fn open(&mut self, path: &Path, id: (u64, u64), first: bool, out: &mut dyn FnMut(Lines)) {
        let origin = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
        let mut row = InputRow {
            name: Input::file(path).name,
            ..InputRow::default()
        };
        let Ok(mut file) = File::open(path) else {
            return;
        };
        let mut head = [0u8; 4];
        let n = file.read(&mut head).unwrap_or(0);
        if n < head.len() && !first {
            return; // too new to tell what it is: the next poll looks again
        }
        if Compression::detect(&head[..n]) != Compression::None {
            self.known.insert(id);
            if !first {
                self.counts.compressed_skipped += 1;
                return;
            }
            // Present from the start: history before following began, read once whole.
            read_compressed(path, origin, &mut row, out);
            self.rows.push(row);
            return;
        }
        if file.seek(SeekFrom::Start(0)).is_err() {
            return;
        }
        self.rows.push(row);
        self.known.insert(id);
        self.files.push(Tracked {
            path: Some(path.to_path_buf()),
            id,
            file,
            offset: 0,
            cut: Cutter {
                origin,
                seq: 0,
                partial: Vec::new(),
            },
            gone: 0,
        });
    }
}

/// Reads a compressed file whole, handing out its lines a chunk at a time.
fn read_compressed(path: &Path, origin: u32, row: &mut InputRow, out: &mut dyn FnMut(Lines)) {
    let raw = Arc::new(AtomicU64::new(0));
    let mut cut = Cutter {
        origin,
        seq: 0,
        partial: Vec::new(),
    };
    let result = open_input(&Input::file(path), raw.clone()).and_then(|mut o| {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match o.reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            row.bytes += n as u64;
            cut.partial.extend_from_slice(&buf[..n]);
            if cut.partial.len() >= CHUNK_SIZE {
                cut.whole_lines(out);
            }
        }
    });
    cut.flush(out);
    row.raw_bytes = raw.load(std::sync::atomic::Ordering::Relaxed);
    if let Err(e) = result {
        row.error = Some(format!("read error after {} bytes: {e}", row.bytes));
    }
}

/// Reads `t` from its offset to its end (from 0 again when it shrank), handing out whole lines.
fn drain(
    t: &mut Tracked,
    row: &mut InputRow,
    counts: &mut TailCounts,
    out: &mut dyn FnMut(Lines),
) -> io::Result<()> {
    let len = t.file.metadata()?.len();
    if len < t.offset {
        // copytruncate: the file starts over. A partial line belonged to the old content.
        counts.truncations += 1;
        t.file.seek(SeekFrom::Start(0))?;
        t.offset = 0;
        t.cut.partial.clear();
    }
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match t.file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                t.cut.whole_lines(out);
                return Err(e);
            }
        };
        t.offset += n as u64;
        row.bytes += n as u64;
        row.raw_bytes += n as u64;
        t.cut.partial.extend_from_slice(&buf[..n]);
        if t.cut.partial.len() >= CHUNK_SIZE {
            t.cut.whole_lines(out);
        }
    }
    t.cut.whole_lines(out);
    Ok(())
}

/// Cuts one input's bytes into chunks of whole lines, numbered in read order.
struct Cutter {
    origin: u32,
    seq: u64,
    /// Bytes read and not handed out: the start of a line whose end has not been read.
    partial: Vec<u8>,
}

impl Cutter {
    /// Hands out the whole lines, keeping the bytes after the last newline.
    fn whole_lines(&mut self, out: &mut dyn FnMut(Lines)) {
        let Some(last) = memchr::memrchr(b'\n', &self.partial) else {
            return;
        };
        let rest = self.partial.split_off(last + 1);
        let data = std::mem::replace(&mut self.partial, rest);
        self.send(data, out);
    }

    /// Hands out everything, a last line without its newline included.
    fn flush(&mut self, out: &mut dyn FnMut(Lines)) {
        self.whole_lines(out);
        if !self.partial.is_empty() {
            let data = std::mem::take(&mut self.partial);
            self.send(data, out);
        }
    }

    fn send(&mut self, data: Vec<u8>, out: &mut dyn FnMut(Lines)) {
        out(Lines {
            origin: self.origin,
            seq: self.seq,
            data,
        });
        self.seq += 1;
    }
}

//! Source: cutting a byte stream into chunks of whole lines for the workers. A chunk is about
//! [`CHUNK_SIZE`] bytes and ends at a newline; a longer line grows its chunk, so lines of any
//! length work. Buffers come back from the workers through a [`BufferPool`] and are reused, so
//! steady-state reading allocates nothing, however many readers share the pool. A stream that starts as a pretty-printed JSON document (`[` or a
//! lone `{` line, as `kubectl get --raw` or `jq .` write an `EventList`) is sent whole as one
//! document chunk: its size is bounded by that one document.

use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender};

/// Target chunk size.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Whole lines of one input, or a whole JSON document.
#[derive(Debug)]
pub struct Chunk {
    /// Input index.
    pub origin: u32,
    /// Sequence number within the input, from 0.
    pub seq: u64,
    /// The bytes: complete lines (the last may lack its newline at end of input).
    pub data: Vec<u8>,
    /// The bytes are one JSON document, not JSON lines.
    pub document: bool,
    /// A range of a plain file the worker reads into `data` itself (`data` is then a buffer to
    /// read over).
    pub range: Option<super::split::Range>,
}

/// The buffers the workers hand back, shared by every reader thread. A reader takes one per
/// chunk under a short lock (a `Receiver` has one consumer), so the buffers in use stay the
/// chunks in flight plus one or two per reader, and none is allocated once they circulate.
#[derive(Debug)]
pub struct BufferPool(Mutex<Receiver<Vec<u8>>>);

impl BufferPool {
    /// A pool fed by the workers through the other end of `returned`.
    #[must_use]
    pub fn new(returned: Receiver<Vec<u8>>) -> Self {
        Self(Mutex::new(returned))
    }

    /// A buffer to fill: a returned one when any is back, else a new one. A returned buffer keeps
    /// its old bytes, room [`read_chunks`] reads over (see [`room`]).
    pub fn take(&self) -> Vec<u8> {
        // A reader that panicked holding the lock leaves the pool to the others: they allocate.
        self.0
            .lock()
            .ok()
            .and_then(|rx| rx.try_recv().ok())
            .unwrap_or_default()
    }
}

/// What reading one input produced.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// Plain (decompressed) bytes read.
    pub bytes: u64,
    /// The input was read as one JSON document.
    pub document: bool,
    /// A read error after `bytes` bytes (a truncated gzip, an I/O error).
    pub error: Option<io::Error>,
}

/// Whether the stream starts like a multi-line JSON document rather than JSON lines.
pub(crate) fn looks_like_document(head: &[u8]) -> bool {
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else { return false };
    match head[start] {
        b'[' => true,
        b'{' => {
            let line_end = memchr::memchr(b'\n', &head[start..]).map_or(head.len(), |i| start + i);
            head[start + 1..line_end].trim_ascii().is_empty()
        }
        _ => false,
    }
}

/// Makes `buf` at least `len` bytes long. Bytes already there stay as they are: a buffer back
/// from the pool is read over, not cleared and zeroed again — clearing and resizing it wrote a
/// chunk of zeros per chunk, 6% of a scan's instructions. Only the part beyond its old length is
/// zeroed (`Read::read` needs initialized bytes).
fn room(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    }
}

/// Reads up to `want` more bytes into `buf` after its first `filled`, stopping early only at the
/// end of the input, as `reader.take(want).read_to_end(buf)` does — without that call's zeroing
/// of the buffer's whole spare capacity (ours are boxed and chained readers with no `read_buf` of
/// their own). Bytes after what is read are left as they were; bytes read before an error count.
fn read_more(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    filled: usize,
    want: usize,
) -> (usize, io::Result<()>) {
    let end = filled + want;
    room(buf, end);
    let mut at = filled;
    let result = loop {
        if at == end {
            break Ok(());
        }
        match reader.read(&mut buf[at..end]) {
            Ok(0) => break Ok(()),
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    (at - filled, result)
}

/// Reads `reader` to its end, sending chunks to `tx`, or until `stop(seq)` says that chunk `seq`
/// and those after it are not wanted (a `--strict` run met a bad line before them).
pub fn read_chunks(
    origin: u32,
    mut reader: impl Read,
    tx: &SyncSender<Chunk>,
    pool: &BufferPool,
    chunk_size: usize,
    stop: impl Fn(u64) -> bool,
) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    let mut seq = 0u64;
    let mut buf = pool.take();
    let mut filled = 0usize; // bytes of `buf` that are the input's; the rest is old
    let mut scanned = 0usize; // bytes of those known to hold no newline
    let mut target = chunk_size;
    let mut first = true;
    loop {
        if stop(seq) {
            return out;
        }
        let want = target.saturating_sub(filled).max(1);
        let (n, read) = read_more(&mut reader, &mut buf, filled, want);
        filled += n;
        out.bytes += n as u64;
        if let Err(e) = read {
            out.error = Some(e);
        }
        let eof = n == 0 || out.error.is_some();
        if first && !eof && looks_like_document(&buf[..filled]) {
            out.document = true;
            buf.truncate(filled);
            if let Err(e) = reader.read_to_end(&mut buf) {
                out.error = Some(e);
            }
            out.bytes = buf.len() as u64;
            let _ = tx.send(Chunk {
                origin,
                seq,
                data: buf,
                document: true,
                range: None,
            });
            return out;
        }
        first = false;
        if eof {
            if filled > 0 {
                buf.truncate(filled);
                let _ = tx.send(Chunk {
                    origin,
                    seq,
                    data: buf,
                    document: false,
                    range: None,
                });
            }
            return out;
        }
        if filled < target {
            continue;
        }
        let Some(i) = memchr::memrchr(b'\n', &buf[scanned..filled]) else {
            // One line longer than the chunk: keep reading into the same buffer.
            scanned = filled;
            target = filled + chunk_size;
            continue;
        };
        let cut = scanned + i + 1;
        let mut next = pool.take();
        let carry = filled - cut;
        room(&mut next, carry);
        next[..carry].copy_from_slice(&buf[cut..filled]);
        buf.truncate(cut);
        let full = std::mem::replace(&mut buf, next);
        filled = carry;
        if tx
            .send(Chunk {
                origin,
                seq,
                data: full,
                document: false,
                range: None,
            })
            .is_err()
        {
            return out;
        }
        seq += 1;
        scanned = 0;
        target = chunk_size.max(filled + chunk_size / 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, sync_channel};

    /// Hands out at most 7 bytes a call, then fails once `fail_at` bytes are out (if set).
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        fail_at: Option<usize>,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.fail_at.is_some_and(|f| self.at >= f) {
                return Err(io::Error::other("disk on fire"));
            }
            let n = out.len().min(7).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn read_more_fills_what_is_asked_from_short_reads_and_keeps_bytes_before_an_error() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut r = Trickle {
            data: data.clone(),
            at: 0,
            fail_at: None,
        };
        // Bytes after `filled` are old: read over, never zeroed, kept past what is read.
        let mut buf = b"xyOLD".to_vec();
        let (n, res) = read_more(&mut r, &mut buf, 2, 30);
        assert!(res.is_ok() && n == 30);
        assert_eq!(buf, [&b"xy"[..], &data[..30]].concat());
        let mut old = vec![b'o'; 200];
        old[..32].copy_from_slice(&buf);
        let mut buf = old;
        // At the end of the input it stops short, then reads nothing.
        assert_eq!(read_more(&mut r, &mut buf, 32, 100).0, 70);
        assert_eq!(read_more(&mut r, &mut buf, 102, 5).0, 0);
        assert_eq!(buf[..102], [&b"xy"[..], &data[..]].concat());
        assert!(
            buf[102..].iter().all(|&b| b == b'o'),
            "the old bytes after are untouched"
        );
        let mut r = Trickle {
            data: data.clone(),
            at: 0,
            fail_at: Some(20),
        };
        let mut buf = Vec::new();
        let (n, res) = read_more(&mut r, &mut buf, 0, 50);
        assert!(res.is_err());
        assert_eq!(n, 21, "the bytes before the error count");
        assert_eq!(buf[..21], data[..21]);
    }

    fn chunks(data: &[u8], size: usize) -> Vec<Chunk> {
        let (tx, rx) = sync_channel(1000);
        let (_ptx, prx) = channel();
        let out = read_chunks(0, data, &tx, &BufferPool::new(prx), size, |_| false);
        assert!(out.error.is_none());
        assert_eq!(out.bytes, data.len() as u64);
        drop(tx);
        rx.into_iter().collect()
    }

    #[test]
    fn chunks_hold_whole_lines_and_nothing_is_lost() {
        let mut data = Vec::new();
        for i in 0..1000 {
            data.extend_from_slice(format!("{{\"line\":{i}}}\n").as_bytes());
        }
        data.extend_from_slice(b"{\"last\":true}");
        let got = chunks(&data, 100);
        assert!(got.len() > 10);
        let joined: Vec<u8> = got.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(joined, data);
        for c in &got[..got.len() - 1] {
            assert_eq!(c.data.last(), Some(&b'\n'));
        }
        assert!(got.iter().enumerate().all(|(i, c)| c.seq == i as u64));
    }

    #[test]
    fn reading_stops_at_the_chunk_stop_names() {
        let data: Vec<u8> = (0..1000)
            .flat_map(|i| format!("{{\"line\":{i}}}\n").into_bytes())
            .collect();
        let (tx, rx) = sync_channel(1000);
        let (_ptx, prx) = channel();
        read_chunks(0, &data[..], &tx, &BufferPool::new(prx), 100, |seq| {
            seq >= 3
        });
        drop(tx);
        let seqs: Vec<u64> = rx.into_iter().map(|c| c.seq).collect();
        assert_eq!(seqs, [0, 1, 2]);
    }

    #[test]
    fn the_pool_hands_back_returned_buffers_whole() {
        let (tx, rx) = channel();
        let pool = BufferPool::new(rx);
        let mut old = Vec::with_capacity(4096);
        old.extend_from_slice(b"old lines\n");
        let at = old.as_ptr();
        tx.send(old).unwrap();
        let got = pool.take();
        assert!(got == b"old lines\n" && got.capacity() >= 4096 && got.as_ptr() == at);
        // None back: a new, unallocated one.
        assert_eq!(pool.take().capacity(), 0);
    }

    #[test]
    fn reused_buffers_old_bytes_never_reach_a_chunk() {
        // Buffers come back longer than the next chunk needs, full of a byte no line holds.
        let (ptx, prx) = channel();
        for _ in 0..4 {
            ptx.send(vec![b'#'; 300]).unwrap();
        }
        let pool = BufferPool::new(prx);
        let mut data = Vec::new();
        for i in 0..40 {
            data.extend_from_slice(format!("{{\"n\":{i}}}\n").as_bytes());
        }
        data.extend_from_slice(b"{\"last\":1}"); // no newline at the end
        let (tx, rx) = sync_channel(1000);
        let out = read_chunks(0, &data[..], &tx, &pool, 64, |_| false);
        drop(tx);
        assert!(out.error.is_none() && out.bytes == data.len() as u64);
        let got: Vec<Chunk> = rx.into_iter().collect();
        assert!(got.len() > 4, "more chunks than returned buffers");
        let joined: Vec<u8> = got.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(joined, data);
    }

    #[test]
    fn long_lines_grow_the_chunk() {
        let long = vec![b'x'; 1000];
        let mut data = b"{}\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\n{}\n");
        let got = chunks(&data, 64);
        let joined: Vec<u8> = got.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(joined, data);
        assert!(got.iter().any(|c| c.data.len() > 1000));
    }

    #[test]
    fn documents_are_detected() {
        assert!(looks_like_document(b"{\n  \"kind\": \"EventList\""));
        assert!(looks_like_document(b"  [\n{}"));
        assert!(!looks_like_document(b"{\"kind\":\"Event\"}\n"));
        let got = chunks(b"{\n \"kind\": \"EventList\",\n \"items\": []\n}\n", 8);
        assert_eq!(got.len(), 1);
        assert!(got[0].document);
    }
}

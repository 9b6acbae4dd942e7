//! Source: opening an input as plain bytes. Compression is detected by magic bytes, not by file
//! name: gzip (`1f 8b`, all concatenated members read — exported logs are often several) and
//! zstd (`28 b5 2f fd`, all frames).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::input::{Input, InputKind};

/// The compression of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip, possibly several members.
    Gzip,
    /// zstd, possibly several frames.
    Zstd,
}

impl Compression {
    /// Detects compression from the first bytes.
    #[must_use]
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }
}

/// Counts bytes read from the underlying file or pipe (before decompression), for progress.
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened input.
pub struct Opened {
    /// Plain bytes.
    pub reader: Box<dyn Read + Send>,
    /// Detected compression.
    pub compression: Compression,
}

/// The compressed bytes a decoder is handed at a time.
const DECODER_BUFFER: usize = 256 * 1024;

/// Opens an input, detecting its compression; `raw_bytes` counts bytes read before
/// decompression.
///
/// # Errors
/// The file cannot be opened or its first bytes cannot be read.
pub fn open_input(input: &Input, raw_bytes: Arc<AtomicU64>) -> io::Result<Opened> {
    let raw: Box<dyn Read + Send> = match &input.kind {
        InputKind::File(p) => Box::new(File::open(p)?),
        InputKind::Stdin => Box::new(io::stdin()),
    };
    let mut counted = Counting {
        inner: raw,
        count: raw_bytes,
    };
    // Read the magic bytes in a loop: a pipe may deliver fewer than four at a time.
    let mut head = Vec::with_capacity(4);
    while head.len() < 4 {
        let mut byte = [0u8; 4];
        let n = counted.read(&mut byte[..4 - head.len()])?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&byte[..n]);
    }
    let compression = Compression::detect(&head);
    let plain = io::Cursor::new(head).chain(counted);
    // Plain bytes go straight into the reader's chunk buffers, which are read a megabyte at a
    // time: a buffer in between only added a copy of every byte (3% of a Metadata scan's time).
    // The decoders read small pieces and want one.
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(plain),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(DECODER_BUFFER, plain),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(
            BufReader::with_capacity(DECODER_BUFFER, plain),
        )?),
    };
    Ok(Opened {
        reader: skip_bom(reader)?,
        compression,
    })
}

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Drops a leading byte-order mark (Windows tools write one; left in place it would cost the
/// first line). Any other first bytes are put back.
fn skip_bom(mut reader: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut head = Vec::with_capacity(BOM.len());
    (&mut reader)
        .take(BOM.len() as u64)
        .read_to_end(&mut head)?;
    if head == BOM {
        head.clear();
    }
    Ok(Box::new(io::Cursor::new(head).chain(reader)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in");
        std::fs::write(&path, bytes).unwrap();
        let mut out = Vec::new();
        open_input(&Input::file(&path), Arc::default())
            .unwrap()
            .reader
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn a_leading_byte_order_mark_is_dropped() {
        let line = b"{\"a\":1}\n";
        assert_eq!(read(&[BOM, line].concat()), line);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &[BOM, line].concat()).unwrap();
        assert_eq!(read(&gz.finish().unwrap()), line);
        // Short inputs and other first bytes come through whole.
        for other in [&b""[..], b"{", b"\xEF\xBB", b"\xEF\xBBx{}", line] {
            assert_eq!(read(other), other);
        }
    }
}

//! Source: telling an audit log from the other files a directory holds (READMEs, checksums,
//! YAML) by its first bytes, so a directory scan reads only logs and lists the rest in one note
//! instead of counting their lines as malformed.

use std::io::Read;
use std::path::Path;

use std::sync::Arc;

use super::input::Input;
use super::open::{BOM, Compression, open_input};

/// Bytes read to judge a file: enough for a record-time prefix and the `{` after it.
const HEAD: usize = 256;

/// A file a directory scan left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotALog {
    /// Its path.
    pub name: String,
    /// Why, in words: `not JSON: starts with '#'`.
    pub reason: String,
}

/// Why a file is not taken for an audit log: its first plain byte, after decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson {
    /// How the file is compressed (`gzip: not JSON: …`).
    pub compression: Compression,
    /// Its first byte that is not whitespace.
    pub byte: u8,
}

impl std::fmt::Display for NotJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let compressed = match self.compression {
            Compression::None => "",
            Compression::Gzip => "gzip: ",
            Compression::Zstd => "zstd: ",
        };
        write!(f, "{compressed}not JSON: starts with {}", quote(self.byte))
    }
}

impl std::error::Error for NotJson {}

/// `Ok` when `path` may hold audit events: its first plain bytes (after decompression, so a
/// gzipped CSV is told from a gzipped log) are JSON, a `TIME MESSAGE` export line, or nothing
/// yet; otherwise the reason it was left out, in words. A file that cannot be opened or
/// decompressed is kept, so that the read reports its error.
///
/// # Errors
/// The first byte, which is no log's.
pub fn sniff_file(path: &Path) -> Result<(), NotJson> {
    let Ok(opened) = open_input(&Input::file(path), Arc::default()) else {
        return Ok(());
    };
    let mut head = Vec::with_capacity(HEAD);
    if opened
        .reader
        .take(HEAD as u64)
        .read_to_end(&mut head)
        .is_err()
    {
        return Ok(());
    }
    sniff(&head).map_err(|e| NotJson {
        compression: opened.compression,
        ..e
    })
}

/// Judges the first plain bytes of a file (see [`sniff_file`]).
///
/// # Errors
/// The first byte, which is no log's.
pub fn sniff(head: &[u8]) -> Result<(), NotJson> {
    let text = head.strip_prefix(BOM).unwrap_or(head);
    let text = &text[text.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    match text.first() {
        None | Some(b'{' | b'[') => Ok(()),
        Some(b) if b.is_ascii_digit() && has_record_prefix(text) => Ok(()),
        Some(&byte) => Err(NotJson {
            compression: Compression::None,
            byte,
        }),
    }
}

/// `1714557600000 {` (CloudWatch) or `2024-05-01T10:00:00.000Z {` (S3 export).
fn has_record_prefix(text: &[u8]) -> bool {
    let Some(sp) = memchr::memchr(b' ', text) else {
        return false;
    };
    let token = String::from_utf8_lossy(&text[..sp]);
    let timed = (token.len() >= 10 && token.bytes().all(|b| b.is_ascii_digit()))
        || crate::timefmt::parse_rfc3339(&token).is_some();
    timed && text[sp..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Files named in a note: the rest are counted.
const NOTE_NAMES: usize = 8;

/// The one note listing the files a directory scan left out, or `None` when there were none.
#[must_use]
pub fn note(files: &[NotALog]) -> Option<String> {
    if files.is_empty() {
        return None;
    }
    let mut named: Vec<String> = files
        .iter()
        .take(NOTE_NAMES)
        .map(|f| format!("{} ({})", f.name, f.reason))
        .collect();
    if files.len() > NOTE_NAMES {
        named.push(format!("and {} more", files.len() - NOTE_NAMES));
    }
    Some(format!(
        "left out {} file(s) of the directory scan that are not audit logs by their first bytes: {}; name a file to read it anyway",
        files.len(),
        named.join(", ")
    ))
}

/// A byte as a person reads it: `'#'`, or `byte 0x01` when it is not printable ASCII.
pub(crate) fn quote(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", char::from(b))
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_pass_and_the_rest_is_named() {
        for ok in [
            &b"{\"kind\":\"Event\"}\n"[..],
            b"\xEF\xBB\xBF{\"kind\":\"Event\"}",
            b"  [\n {}",
            b"",
            b"1714557600000 {\"kind\":\"Event\"}",
            b"2024-05-01T10:00:00.000Z {\"kind\":\"Event\"}",
        ] {
            assert_eq!(sniff(ok), Ok(()), "{}", String::from_utf8_lossy(ok));
        }
        for (bad, why) in [
            (&b"# Provenance\n"[..], "not JSON: starts with '#'"),
            (b"3f2a9c  audit.log\n", "not JSON: starts with '3'"),
            (
                b"apiVersion: audit.k8s.io/v1\n",
                "not JSON: starts with 'a'",
            ),
            (b"\x00\x01", "not JSON: starts with byte 0x00"),
        ] {
            assert_eq!(sniff(bad).unwrap_err().to_string(), why);
        }
    }

    #[test]
    fn compressed_files_are_judged_by_what_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        let gz = |name: &str, text: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, text).unwrap();
            let path = dir.path().join(name);
            std::fs::write(&path, e.finish().unwrap()).unwrap();
            path
        };
        assert_eq!(
            sniff_file(&gz("a.jsonl.gz", b"{\"kind\":\"Event\"}\n")),
            Ok(())
        );
        assert_eq!(
            sniff_file(&gz("a.csv.gz", b"\"host\",\"verb\"\n")),
            Err(NotJson {
                compression: Compression::Gzip,
                byte: b'"'
            })
        );
        assert_eq!(
            sniff_file(&gz("b.csv.gz", b"\"host\"\n"))
                .unwrap_err()
                .to_string(),
            "gzip: not JSON: starts with '\"'"
        );
        let zst = dir.path().join("a.zst");
        std::fs::write(&zst, zstd::encode_all(&b"# notes\n"[..], 1).unwrap()).unwrap();
        assert_eq!(
            sniff_file(&zst).unwrap_err().to_string(),
            "zstd: not JSON: starts with '#'"
        );
        // A truncated gzip is kept: reading it reports the error.
        std::fs::write(dir.path().join("cut.gz"), b"\x1f\x8b\x08").unwrap();
        assert_eq!(sniff_file(&dir.path().join("cut.gz")), Ok(()));
    }
}

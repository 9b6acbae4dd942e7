//! Pipeline: the reader side — inputs (or a CloudWatch download) into chunks for the workers.
//! Several inputs are read by up to one thread per worker, each taking the next input in turn,
//! so a directory of `.gz` exports decompresses on every core; one stream cannot be split, so a
//! single compressed input keeps one reader. A plain file is handed out as ranges that the
//! workers read themselves ([`crate::source::split`]), so its copy runs on every core. Input
//! order is kept where it shows: each row lands at its input's index and chunks carry their
//! input's index, so the report does not depend on which reader finished first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;

use indicatif::ProgressBar;

use super::halt::Halt;
use super::{ReadResult, Source};
use crate::model::report::InputRow;
use crate::source::chunk::ReadOutcome;
use crate::source::split::SplitFile;
use crate::source::{BufferPool, Chunk, Input, InputKind, open_input, read_chunks};

/// What every reader thread shares: where chunks go, where buffers come from, when to stop.
pub(super) struct Feed<'a> {
    /// The workers' bounded channel.
    pub(super) tx: &'a SyncSender<Chunk>,
    /// The buffers the workers hand back.
    pub(super) pool: &'a BufferPool,
    /// Target chunk size.
    pub(super) chunk_size: usize,
    /// The run's stop signal.
    pub(super) halt: &'a Halt,
    /// Raw bytes read, for the progress bar.
    pub(super) pb: &'a ProgressBar,
    /// Plain files are split into ranges the workers read themselves (with two workers or
    /// more: one worker reading its own ranges would no longer read beside its parse).
    pub(super) split: bool,
}

/// An input's row, and the file the workers read when it was split: its bytes and its error
/// are known once they are done.
#[derive(Debug)]
pub(super) struct Row {
    row: InputRow,
    split: Option<Arc<SplitFile>>,
}

impl From<InputRow> for Row {
    fn from(row: InputRow) -> Self {
        Self { row, split: None }
    }
}

/// The rows, once every chunk is read: a split file's bytes and first read error filled in.
pub(super) fn settle(rows: Vec<Row>) -> Vec<InputRow> {
    rows.into_iter()
        .map(|Row { mut row, split }| {
            if let Some(f) = split {
                row.bytes = f.bytes();
                row.error = f.error();
            }
            row
        })
        .collect()
}

/// Reads `source` into the feed with up to `readers` reader threads.
pub(super) fn read_source(source: Source, readers: usize, feed: &Feed) -> ReadResult {
    match source {
        Source::Files(inputs) => Ok((read_all(inputs, readers, feed), None)),
        #[cfg(feature = "cloudwatch")]
        Source::CloudWatch(spec) => {
            let out = crate::source::cloudwatch::read(spec, feed.tx, &feed.halt.any, feed.pb)
                .map_err(|e| e.to_string())?;
            let stats = out
                .streams
                .iter()
                .zip(&out.bytes)
                .map(|(s, b)| {
                    Row::from(InputRow {
                        name: crate::source::cloudwatch::input_name(&spec.log_group, &s.name),
                        raw_bytes: *b,
                        bytes: *b,
                        ..InputRow::default()
                    })
                })
                .collect();
            Ok((stats, Some(out.summary)))
        }
    }
}

/// How many readers to start: one per worker, no more than there are inputs. Stdin named twice
/// is read by one reader, so the first `-` gets the stream and the next finds it at its end, as
/// when reading in turn.
fn reader_count(inputs: &[Input], readers: usize) -> usize {
    let stdins = inputs.iter().filter(|i| i.kind == InputKind::Stdin).count();
    if stdins > 1 {
        return 1;
    }
    readers.clamp(1, inputs.len().max(1))
}

/// Reads every input, each on whichever reader takes it next; the rows come back in input order.
fn read_all(inputs: &[Input], readers: usize, feed: &Feed) -> Vec<Row> {
    let next = AtomicUsize::new(0);
    let take_turns = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(input) = inputs.get(i) else {
                return done;
            };
            done.push((i, read_one(i, input, feed)));
        }
    };
    let mut rows: Vec<(usize, Row)> = std::thread::scope(|s| {
        // This thread is one of the readers, so a single input is read on no new thread.
        let others: Vec<_> = (1..reader_count(inputs, readers))
            .map(|_| s.spawn(take_turns))
            .collect();
        let mut rows = take_turns();
        for h in others {
            rows.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        rows
    });
    rows.sort_unstable_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, row)| row).collect()
}

/// Reads input `i` into the feed: its row, unread (name only) when a `--strict` run had already
/// stopped before it.
fn read_one(i: usize, input: &Input, feed: &Feed) -> Row {
    let origin = u32::try_from(i).unwrap_or(u32::MAX);
    let mut st = InputRow {
        name: input.name.clone(),
        ..InputRow::default()
    };
    if feed.halt.skips(origin, 0) {
        return st.into();
    }
    if let Some(file) = split(input, feed) {
        st.raw_bytes = file.raw_bytes();
        // The bar moves as ranges are handed out, a range's raw bytes at a time.
        let mut shown = 0;
        for (seq, range) in (0u64..).zip(file.ranges(feed.chunk_size as u64)) {
            feed.pb.inc(range.end() - shown);
            shown = range.end();
            let chunk = Chunk {
                origin,
                seq,
                data: feed.pool.take(),
                document: false,
                range: Some(range),
            };
            if feed.halt.skips(origin, seq) || feed.tx.send(chunk).is_err() {
                break;
            }
        }
        return Row {
            row: st,
            split: Some(file),
        };
    }
    let raw = Arc::new(AtomicU64::new(0));
    match open_input(input, raw.clone()) {
        Ok(opened) => {
            let ReadOutcome {
                bytes,
                document,
                error,
            } = read_chunks(
                origin,
                opened.reader,
                feed.tx,
                feed.pool,
                feed.chunk_size,
                |seq| feed.halt.skips(origin, seq),
            );
            st.bytes = bytes;
            st.document = document;
            st.error = error.map(|e| format!("read error after {bytes} bytes: {e}"));
        }
        Err(e) => st.error = Some(format!("cannot open: {e}")),
    }
    st.raw_bytes = raw.load(Ordering::Relaxed);
    feed.pb.inc(st.raw_bytes);
    st.into()
}

/// The input as a file for the workers to read in ranges, when it is one to split.
fn split(input: &Input, feed: &Feed) -> Option<Arc<SplitFile>> {
    match &input.kind {
        InputKind::File(path) if feed.split => SplitFile::open(path, feed.chunk_size as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::mpsc::{channel, sync_channel};

    /// Reads `inputs` with `readers` threads and a worker that hands every buffer back; the
    /// rows, and each input's bytes rebuilt from its chunks in chunk order.
    fn read(inputs: &[Input], readers: usize, halt: &Halt) -> (Vec<InputRow>, Vec<Vec<u8>>) {
        let (tx, rx) = sync_channel::<Chunk>(2);
        let (ret_tx, ret_rx) = channel();
        let pool = BufferPool::new(ret_rx);
        let pb = ProgressBar::hidden();
        std::thread::scope(|s| {
            let worker = s.spawn(move || {
                let mut got: BTreeMap<(u32, u64), Vec<u8>> = BTreeMap::new();
                for c in rx {
                    got.insert((c.origin, c.seq), c.data.clone());
                    let _ = ret_tx.send(c.data);
                }
                got
            });
            let feed = Feed {
                tx: &tx,
                pool: &pool,
                chunk_size: 64,
                halt,
                pb: &pb,
                split: false,
            };
            let rows = settle(read_all(inputs, readers, &feed));
            drop(tx);
            let mut bytes = vec![Vec::new(); inputs.len()];
            for ((origin, _), data) in worker.join().unwrap() {
                bytes[origin as usize].extend(data);
            }
            (rows, bytes)
        })
    }

    fn files(dir: &std::path::Path) -> (Vec<Input>, Vec<Vec<u8>>) {
        let mut inputs = Vec::new();
        let mut texts = Vec::new();
        for f in 0..9 {
            let text: Vec<u8> = (0..f * 40)
                .flat_map(|l| format!("{{\"file\":{f},\"line\":{l}}}\n").into_bytes())
                .collect();
            let path = dir.join(format!("{f}.log.gz"));
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&text).unwrap();
            std::fs::write(&path, gz.finish().unwrap()).unwrap();
            inputs.push(Input::file(&path));
            texts.push(text);
        }
        inputs.push(Input::file(&dir.join("missing.log")));
        texts.push(Vec::new());
        (inputs, texts)
    }

    #[test]
    fn several_readers_keep_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let (inputs, texts) = files(dir.path());
        for readers in [1, 3, 16] {
            let (rows, bytes) = read(&inputs, readers, &Halt::new(true));
            let names: Vec<_> = rows.iter().map(|r| r.name.clone()).collect();
            let want: Vec<_> = inputs.iter().map(|i| i.name.clone()).collect();
            assert_eq!(names, want, "{readers} readers");
            assert_eq!(bytes, texts, "{readers} readers");
            for (row, text) in rows.iter().zip(&texts) {
                assert_eq!(row.bytes, text.len() as u64);
            }
            assert!(
                rows[9]
                    .error
                    .as_deref()
                    .unwrap()
                    .starts_with("cannot open: ")
            );
        }
    }

    #[test]
    fn a_strict_stop_reads_what_comes_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let (inputs, texts) = files(dir.path());
        let halt = Halt::new(true);
        halt.mark(4, 2);
        let (rows, bytes) = read(&inputs, 3, &halt);
        assert_eq!(bytes[..4], texts[..4]);
        // Input 4 up to its third chunk (whole lines of about 64 bytes), then none after it.
        let part = &bytes[4];
        assert!(part.len() > 64 && part.len() < 4 * 64, "{}", part.len());
        assert!(texts[4].starts_with(part) && part.ends_with(b"\n"));
        assert!(bytes[5..].iter().all(Vec::is_empty));
        assert!(rows[5..].iter().all(|r| r.bytes == 0 && r.error.is_none()));
    }

    #[test]
    fn stdin_named_twice_gets_one_reader() {
        let stdin = [Input::stdin(), Input::stdin()];
        assert_eq!(reader_count(&stdin, 4), 1);
        assert_eq!(reader_count(&stdin[..1], 4), 1);
        assert_eq!(reader_count(&[], 4), 1);
        let two = [Input::stdin(), Input::file(std::path::Path::new("a"))];
        assert_eq!(reader_count(&two, 4), 2);
        assert_eq!(reader_count(&two, 0), 1);
    }
}

//! Pipeline: source → decode → aggregate. Reader threads (up to one per worker, each on its own
//! input: `pipeline/read.rs`) cut inputs into chunks and send them through a bounded channel; a
//! rayon pool folds chunks into one [`Aggregates`] per worker and merges those at the end,
//! except the most-written objects: each chunk's object writes go to the run's one table
//! ([`crate::aggregate::shared_objects`]), applied in each input's chunk order. In
//! flight at any time: about two chunks per worker plus a buffer or two per reader, so memory
//! does not grow with the input's length or the number of inputs.

mod halt;
mod read;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel, sync_channel};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::aggregate::shared_objects::{ObjectBatch, SharedObjects};
use crate::aggregate::summary::Position;
use crate::aggregate::{Aggregates, Scope};
use crate::decode::event::{DecodePath, Decoded, LINE_PADDING, LineDecoder, decode_document};
use crate::decode::frame::{decode_framed, frame};
use crate::decode::{AuditEvent, DecodeFailure};
use crate::model::report::InputRow;
use crate::source::chunk::CHUNK_SIZE;
use crate::source::{BufferPool, Chunk, Input, InputKind};
use halt::Halt;

/// How to run the pipeline.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Stop at the first skipped line.
    pub strict: bool,
    /// Draw a progress bar on stderr when it is a terminal and the input is large.
    pub progress: bool,
    /// Chunk size (tests make it small to exercise chunk edges).
    pub chunk_size: usize,
    /// How lines are decoded (tests hold the fast path equal to the simd-json path).
    pub decoder: DecodePath,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threads: 0,
            strict: false,
            progress: false,
            chunk_size: CHUNK_SIZE,
            decoder: DecodePath::default(),
        }
    }
}

/// The pipeline's result.
#[derive(Debug)]
pub struct Output {
    /// All tables, merged.
    pub aggregates: Aggregates,
    /// Per input.
    pub inputs: Vec<InputRow>,
    /// The CloudWatch download's summary, when that was the source.
    pub cloudwatch: Option<CloudWatchSummary>,
}

/// Per-worker state: tables plus reusable parse buffers.
pub(crate) struct Worker {
    /// The tables every line's counts go to (and, through the observer, its events).
    pub(crate) agg: Aggregates,
    decoder: LineDecoder,
    buffers: simd_json::Buffers,
    scratch: Vec<u8>,
}

/// What is done with each decoded event: batch scans fold it into the worker's tables; following
/// also folds it into the rolling window's minute.
pub(crate) type Observer<'s> = dyn FnMut(&mut Aggregates, &AuditEvent) + 's;

impl Worker {
    pub(crate) fn new(path: DecodePath) -> Self {
        Self {
            agg: Aggregates::default(),
            decoder: LineDecoder::new(path),
            buffers: simd_json::Buffers::new(1024),
            scratch: Vec::new(),
        }
    }

    pub(crate) fn process(
        &mut self,
        chunk: &mut Chunk,
        strict: bool,
        stop: &AtomicBool,
        observe: &mut Observer,
    ) {
        let Worker {
            agg,
            decoder,
            buffers,
            scratch,
        } = self;
        let data = &mut chunk.data;
        let mut pos = Position {
            origin: chunk.origin,
            chunk: chunk.seq,
            line: 0,
        };
        let fail = |agg: &mut Aggregates, pos: Position, f: &DecodeFailure| {
            agg.summary.skip(pos, f.reason(), || f.message());
            if strict {
                stop.store(true, Ordering::Relaxed);
            }
        };
        // Items of an EventList that were not events: each is skipped alone, named by position.
        let settle =
            |agg: &mut Aggregates, pos: Position, r: Result<Decoded, DecodeFailure>| match r {
                Ok(d) => {
                    for bad in &d.bad_items {
                        agg.summary
                            .skip(pos, bad.failure.reason(), || bad.message());
                    }
                    if strict && !d.bad_items.is_empty() {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                Err(f) => fail(agg, pos, &f),
            };
        let requests_before = agg.summary.requests;
        if chunk.document {
            pos.line = 1;
            agg.summary.lines += 1;
            let r = decode_document(data, buffers, |ev| observe(agg, ev));
            settle(agg, pos, r);
            agg.summary.chunk_lines.push((
                chunk.origin,
                chunk.seq,
                memchr::memchr_iter(b'\n', data).count() as u64 + 1,
            ));
            agg.summary.count_origin(chunk.origin, requests_before);
            return;
        }
        let len = data.len();
        // The bytes after each line pad its parse; the last line needs real padding.
        data.resize(len + LINE_PADDING, b' ');
        let mut start = 0;
        while start < len {
            let end = memchr::memchr(b'\n', &data[start..len]).map_or(len, |i| start + i);
            pos.line += 1;
            let line = frame(&data[start..end]);
            let line_start = start;
            start = end + 1;
            if line.is_blank() {
                agg.summary.blank_lines += 1;
                continue;
            }
            agg.summary.lines += 1;
            if line.truncated {
                agg.summary.truncated += 1;
            }
            let result = decode_framed(
                decoder,
                &mut data[line_start..],
                &line,
                scratch,
                buffers,
                |ev| observe(agg, ev),
            );
            settle(agg, pos, result);
        }
        data.truncate(len);
        agg.summary.count_origin(chunk.origin, requests_before);
        agg.summary
            .chunk_lines
            .push((chunk.origin, chunk.seq, pos.line));
    }
}

#[cfg(feature = "cloudwatch")]
impl crate::source::cloudwatch::Progress for ProgressBar {
    fn set_length(&self, len: u64) {
        ProgressBar::set_length(self, len);
    }
    fn inc(&self, n: u64) {
        ProgressBar::inc(self, n);
    }
    fn set_message(&self, message: String) {
        ProgressBar::set_message(self, message);
    }
}

fn progress_bar(inputs: &[Input], enabled: bool) -> ProgressBar {
    let total: u64 = inputs
        .iter()
        .filter_map(|i| match &i.kind {
            InputKind::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            InputKind::Stdin => None,
        })
        .sum();
    if !enabled || !std::io::stderr().is_terminal() || total < 64 << 20 {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Progress of a CloudWatch download: slices done, events, MB, ETA.
#[cfg(feature = "cloudwatch")]
fn slice_bar(enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{bar:30} slices {pos}/{len} {msg} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Where the bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Files, directories, stdin.
    Files(&'a [Input]),
    /// A CloudWatch Logs download.
    #[cfg(feature = "cloudwatch")]
    CloudWatch(&'a crate::source::cloudwatch::Spec),
}

/// What the reader thread hands back.
type ReadResult = std::result::Result<(Vec<read::Row>, Option<CloudWatchSummary>), String>;

/// The CloudWatch download's summary (absent without the feature).
#[cfg(feature = "cloudwatch")]
pub type CloudWatchSummary = crate::source::cloudwatch::Summary;
/// The CloudWatch download's summary (absent without the feature).
#[cfg(not(feature = "cloudwatch"))]
pub type CloudWatchSummary = ();

/// Runs the pipeline over files.
///
/// # Errors
/// The thread pool cannot be built or the reader thread panicked.
pub fn run(inputs: &[Input], scope: &Scope, opts: &Options) -> Result<Output> {
    run_source(Source::Files(inputs), scope, opts)
}

/// Runs the pipeline over any source.
///
/// # Errors
/// The thread pool cannot be built, the reader thread panicked, or the source failed (a
/// CloudWatch error, as one line).
pub fn run_source(source: Source, scope: &Scope, opts: &Options) -> Result<Output> {
    let threads = if opts.threads == 0 {
        num_cpus()
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let (tx, rx) = sync_channel::<Chunk>(threads * 2);
    let (ret_tx, ret_rx) = channel::<Vec<u8>>();
    let (pb, halt) = match source {
        Source::Files(inputs) => (progress_bar(inputs, opts.progress), Halt::new(true)),
        #[cfg(feature = "cloudwatch")]
        Source::CloudWatch(_) => (slice_bar(opts.progress), Halt::new(false)),
    };

    let (aggregates, inputs_stats) = std::thread::scope(|s| {
        let (halt, pb) = (&halt, &pb);
        let reader = s.spawn(move || {
            // The pool goes with this thread: once reading is done, the buffers the workers hand
            // back are freed at once instead of held through the merge and the report.
            let buffers = BufferPool::new(ret_rx);
            let feed = read::Feed {
                tx: &tx,
                pool: &buffers,
                chunk_size: opts.chunk_size,
                halt,
                pb,
                split: threads > 1,
            };
            // The channel closes when this thread's sender goes, after every reader is done.
            read::read_source(source, threads, &feed)
        });
        let agg = pool.install(|| fold(rx, scope, opts, halt, &ret_tx));
        (agg, reader.join())
    });
    pb.finish_and_clear();
    let (rows, cloudwatch) = inputs_stats
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?
        .map_err(|m| anyhow::Error::new(crate::error::Failure { message: m }))?;
    let mut inputs_stats = read::settle(rows);
    credit_requests(&mut inputs_stats, &aggregates);
    Ok(Output {
        aggregates,
        inputs: inputs_stats,
        cloudwatch,
    })
}

/// Sets each input's `requests` to what `agg` counted from it (inputs are numbered in order).
pub(crate) fn credit_requests(rows: &mut [InputRow], agg: &Aggregates) {
    for (i, row) in rows.iter_mut().enumerate() {
        let origin = u32::try_from(i).unwrap_or(u32::MAX);
        row.requests = agg
            .summary
            .requests_by_origin
            .get(&origin)
            .copied()
            .unwrap_or(0);
    }
}

fn fold(
    rx: std::sync::mpsc::Receiver<Chunk>,
    scope: &Scope,
    opts: &Options,
    halt: &Halt,
    ret: &Sender<Vec<u8>>,
) -> Aggregates {
    let strict = opts.strict;
    let objects = SharedObjects::default();
    let mut agg = rx
        .into_iter()
        .par_bridge()
        .fold(
            || {
                let mut w = Worker::new(opts.decoder);
                w.agg.object_batch = Some(ObjectBatch::default());
                w
            },
            |mut w, mut chunk| {
                if let Some(range) = chunk.range.take() {
                    range.fill(&mut chunk.data);
                }
                if halt.skips(chunk.origin, chunk.seq) {
                    // Not read, but its lines still count, so later line numbers stay exact.
                    let d = &chunk.data;
                    let lines = memchr::memchr_iter(b'\n', d).count() as u64
                        + u64::from(d.last().is_some_and(|b| *b != b'\n'));
                    w.agg
                        .summary
                        .chunk_lines
                        .push((chunk.origin, chunk.seq, lines));
                } else {
                    // Under --strict, a chunk with a skipped line is where the files stop.
                    let skipped = strict.then(|| w.agg.summary.skipped_total());
                    w.process(&mut chunk, strict, &halt.any, &mut |a, ev| {
                        a.observe(ev, scope);
                    });
                    if skipped.is_some_and(|n| w.agg.summary.skipped_total() > n) {
                        halt.mark(chunk.origin, chunk.seq);
                    }
                }
                // Every chunk hands in its batch, empty or not: the next one is due after it.
                if let Some(batch) = &mut w.agg.object_batch {
                    objects.apply(chunk.origin, chunk.seq, batch, &w.agg.strings);
                }
                let _ = ret.send(chunk.data);
                w
            },
        )
        .map(|w| w.agg)
        .reduce(Aggregates::default, |mut a, b| {
            if a.summary.events < b.summary.events {
                let mut b = b;
                b.merge(&a);
                return b;
            }
            a.merge(&b);
            a
        });
    // The workers' own object tables stayed empty: every write went to the shared one.
    agg.object_batch = None;
    agg.objects = objects.into_table(&mut agg.strings);
    agg
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

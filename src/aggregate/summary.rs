//! Aggregate: the run's summary counters — lines, events by stage and level, requests, what was
//! skipped and why (with the first few positions), and what the log can and cannot show.

use rustc_hash::FxHashMap;

use super::sketch::Span;
use crate::decode::{Level, Stage};

/// How many skipped-line examples are kept.
pub const MAX_EXAMPLES: usize = 5;

/// Where a line sits before line numbers are resolved: input, chunk, line within the chunk
/// (1-based). Chunks are numbered in read order, so positions sort in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Input index.
    pub origin: u32,
    /// Chunk sequence number within the input.
    pub chunk: u64,
    /// Line within the chunk, 1-based.
    pub line: u64,
}

/// A skipped line (or a read error) with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipExample {
    /// Where.
    pub pos: Position,
    /// Stable reason (`invalid-json` …).
    pub reason: &'static str,
    /// Human message.
    pub message: String,
}

/// Summary counters.
#[derive(Debug, Clone, Default)]
pub struct SummaryAcc {
    /// Non-blank lines (or documents) read.
    pub lines: u64,
    /// Blank lines, ignored.
    pub blank_lines: u64,
    /// Audit events decoded.
    pub events: u64,
    /// Events per [`Stage::ALL`] slot.
    pub by_stage: [u64; 5],
    /// Events per [`Level::ALL`] slot.
    pub by_level: [u64; 4],
    /// Requests counted (final stage, in window, through filters).
    pub requests: u64,
    /// Of which long-running.
    pub long_running: u64,
    /// Requests with no time at all (kept out of per-minute series).
    pub untimed: u64,
    /// Lines cut by CloudWatch (`[Truncated...]`); a cut line that cannot be salvaged is also
    /// counted as skipped.
    pub truncated: u64,
    /// Final-stage events outside `--since/--until` (untimed ones included when a window is set).
    pub outside_window: u64,
    /// Final-stage events the filters left out.
    pub filtered_out: u64,
    /// Skipped lines per reason.
    pub skipped: FxHashMap<&'static str, u64>,
    /// The first skipped lines, in input order.
    pub examples: Vec<SkipExample>,
    /// Lines per (input, chunk), to turn positions into line numbers.
    pub chunk_lines: Vec<(u32, u64, u64)>,
    /// Time span of counted requests, by event time (the per-minute series' range).
    pub span: Span,
    /// Whether any event was about the `events` resource (EKS' policy drops them).
    pub saw_events_resource: bool,
    /// Requests logged without a userAgent.
    pub no_user_agent: u64,
    /// Requests whose userAgent × user pair came after [`super::MAX_IDENTITIES`] distinct pairs
    /// and was folded into `(other …)` rows.
    pub folded_identities: u64,
    /// userAgent × user pairs whose new client name came after [`super::MAX_CLIENTS`] clients.
    pub folded_clients: u64,
    /// LISTs whose row came after [`super::MAX_LIST_ROWS`] rows.
    pub folded_lists: u64,
    /// Short requests without both timestamps, so without a latency.
    pub no_latency: u64,
    /// Requests per input (per CloudWatch stream: one per API server instance).
    pub requests_by_origin: FxHashMap<u32, u64>,
}

impl SummaryAcc {
    /// Counts an event's stage and level.
    pub fn event(&mut self, stage: Stage, level: Level) {
        self.events += 1;
        self.by_stage[Stage::ALL.iter().position(|s| *s == stage).unwrap_or(4)] += 1;
        self.by_level[Level::ALL.iter().position(|l| *l == level).unwrap_or(3)] += 1;
    }

    /// Counts a selected request.
    pub fn request(&mut self, f: &super::cluster::RequestFacts) {
        self.requests += 1;
        self.long_running += u64::from(f.long_running);
        self.untimed += u64::from(f.time.is_none());
    }

    /// Records a skipped line.
    pub fn skip(&mut self, pos: Position, reason: &'static str, message: impl FnOnce() -> String) {
        *self.skipped.entry(reason).or_default() += 1;
        if self.examples.len() < MAX_EXAMPLES || self.examples.last().is_some_and(|e| pos < e.pos) {
            self.examples.push(SkipExample {
                pos,
                reason,
                message: message(),
            });
            self.examples.sort_by_key(|e| e.pos);
            self.examples.truncate(MAX_EXAMPLES);
        }
    }

    /// Total skipped lines.
    #[must_use]
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Merges another summary in.
    pub fn merge(&mut self, o: &Self) {
        self.lines += o.lines;
        self.blank_lines += o.blank_lines;
        self.events += o.events;
        for (a, b) in self.by_stage.iter_mut().zip(o.by_stage) {
            *a += b;
        }
        for (a, b) in self.by_level.iter_mut().zip(o.by_level) {
            *a += b;
        }
        self.requests += o.requests;
        self.long_running += o.long_running;
        self.untimed += o.untimed;
        self.truncated += o.truncated;
        self.outside_window += o.outside_window;
        self.filtered_out += o.filtered_out;
        for (k, v) in &o.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.examples.extend(o.examples.iter().cloned());
        self.examples.sort_by_key(|e| e.pos);
        self.examples.truncate(MAX_EXAMPLES);
        self.chunk_lines.extend_from_slice(&o.chunk_lines);
        self.span.merge(o.span);
        self.saw_events_resource |= o.saw_events_resource;
        self.no_user_agent += o.no_user_agent;
        self.folded_identities += o.folded_identities;
        self.folded_clients += o.folded_clients;
        self.folded_lists += o.folded_lists;
        self.no_latency += o.no_latency;
        for (k, v) in &o.requests_by_origin {
            *self.requests_by_origin.entry(*k).or_default() += v;
        }
    }

    /// Credits the requests counted since `before` to input `origin`.
    pub fn count_origin(&mut self, origin: u32, before: u64) {
        *self.requests_by_origin.entry(origin).or_default() += self.requests - before;
    }

    /// The 1-based line number in its input of a position.
    #[must_use]
    pub fn line_number(&self, pos: Position) -> u64 {
        let before: u64 = self
            .chunk_lines
            .iter()
            .filter(|(o, c, _)| *o == pos.origin && *c < pos.chunk)
            .map(|(_, _, n)| n)
            .sum();
        before + pos.line
    }
}

//! Aggregate: the most-written objects. A cluster has millions of objects, so the table is
//! bounded: past [`MAX_OBJECTS`] entries it keeps the most-written half (fewer when many counts
//! tie) and adds the largest count it dropped to an error bound, so a heavy hitter survives and
//! every reported count is short by at most that bound. Below the bound every count is exact and
//! independent of thread count; once pruning happens, which objects survive can depend on the
//! order in which the workers' batches reached the table ([`super::shared_objects`]).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use super::interner::same;
use super::sketch::{Samples, Span};
use super::tables::BodyBytes;
use crate::timefmt::Micros;

/// The most objects one accumulator tracks before pruning: just under 7/8 of 32,768, hashbrown's
/// load limit, so the table never doubles to 65,536 buckets of inline stats.
pub const MAX_OBJECTS: usize = 28_000;

/// Writes to an object in one minute: 12 bytes, because recurring objects keep one per active
/// minute and that is what grows with a long window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteWrites {
    /// Epoch minute (fits u32 until the year 10,000).
    pub minute: u32,
    /// Writes.
    pub count: u32,
    /// Index in [`ObjectStats::writers`] of the first writer of the object itself seen (255 =
    /// "255 or later"); meaningful when `spec`.
    pub writer: u8,
    /// Two or more writers wrote the object itself in this minute.
    pub multi: bool,
    /// The object itself (not its `status`) was written in this minute.
    pub spec: bool,
}

impl MinuteWrites {
    /// Adds `count` writes; `writer` is `None` for writes to `status`, which never make a
    /// minute multi-writer: the controller that owns an object's status (the deployment
    /// controller after every spec change) does not fight the object's spec writer.
    fn absorb(&mut self, count: u32, writer: Option<u8>, multi: bool) {
        self.multi |= multi;
        if let Some(writer) = writer {
            if self.spec {
                // Index 255 stands for every writer past the 255th: treat it as a second writer.
                self.multi |= self.writer != writer || writer == u8::MAX;
            } else {
                self.writer = writer;
                self.spec = true;
            }
        }
        self.count += count;
    }
}

/// Writes-per-minute levels counted per object (`objects[].busy_minutes`).
pub const BUSY_LEVELS: [u32; 6] = [5, 10, 20, 30, 60, 120];

/// The longest minute list an object keeps; past it the oldest half folds into [`Folded`].
/// A batch scan's workers share one table ([`super::shared_objects`]), so a minute is whole
/// when it folds, and folding stays exact unless a write arrives for a minute older than the
/// object's newest 32 active minutes (several files of one time range read at once can; the
/// object is then marked approximate). Short, so the table's size does not grow with the
/// log's length: 28,000 objects hold at most 21 MB of minutes.
pub const MAX_MINUTES_PER_OBJECT: usize = 64;

/// Summary of an object's folded minutes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Folded {
    /// Minutes folded.
    pub active: u64,
    /// Of which with two or more writers.
    pub multi: u64,
    /// Of which with at least each [`BUSY_LEVELS`] writes.
    pub busy: [u64; 6],
    /// The busiest folded minute: (epoch minute, writes).
    pub peak: (i64, u32),
    /// The newest folded minute.
    pub last: Option<u32>,
    /// A minute may have been counted in two parts: a write arrived for a minute already
    /// folded, or two workers' tables were merged after either had folded. The minute counts
    /// (active, multi-writer, busy, peak) are then approximate; writes stay exact.
    pub approximate: bool,
}

impl Folded {
    fn merge(&mut self, o: &Folded) {
        self.approximate |= o.approximate;
        self.last = self.last.max(o.last);
        self.active += o.active;
        self.multi += o.multi;
        for (a, b) in self.busy.iter_mut().zip(o.busy) {
            *a += b;
        }
        if o.peak.1 > self.peak.1
            || (o.peak.1 == self.peak.1 && o.peak.1 > 0 && o.peak.0 < self.peak.0)
        {
            self.peak = o.peak;
        }
    }
}

/// Writes to one object. `repr(C)`, in the order a write touches them: a write reads the
/// first ~220 bytes, so the lines it misses on are adjacent (the cold fields come last).
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub struct ObjectStats {
    /// Successful writes.
    pub count: u64,
    /// Of which to the `status` subresource.
    pub status_writes: u64,
    /// Of which no-op updates (RequestResponse level).
    pub noop: u64,
    /// Bytes of the bodies logged with its writes.
    pub bodies: BodyBytes,
    /// Writers (interned client ids) with their counts, in order of first sight. Most objects
    /// have one or two, kept inline: a heap list was a cache miss per write.
    pub writers: SmallVec<[(u32, u64); 2]>,
    /// The newest active minute, apart: writes come in time order, so they land here and the
    /// list is touched once a minute, not once a write (a cache miss each).
    newest: Option<MinuteWrites>,
    /// First and last time.
    pub span: Span,
    /// Sample auditIDs.
    pub samples: Samples,
    /// Writes to it answered 409 Conflict (optimistic-concurrency failures).
    pub conflicts: u64,
    /// Writes per active minute before the newest, sorted by minute (with `newest`, the most
    /// recent [`MAX_MINUTES_PER_OBJECT`]); an object written in a few minutes keeps them inline.
    earlier: SmallVec<[MinuteWrites; 4]>,
    /// Minutes folded out of the list.
    pub folded: Folded,
}

impl ObjectStats {
    /// Counts `n` writes by `client`; returns its writer index.
    fn writer_index(&mut self, client: u32, n: u64) -> u8 {
        let i = if let Some(i) = self.writers.iter().position(|(c, _)| *c == client) {
            self.writers[i].1 += n;
            i
        } else {
            self.writers.push((client, n));
            self.writers.len() - 1
        };
        u8::try_from(i).unwrap_or(u8::MAX)
    }

    /// Adds writes in `minute`.
    fn add_minute(&mut self, minute: u32, count: u32, writer: Option<u8>, multi: bool) {
        if self.folded.last.is_some_and(|l| minute <= l) {
            self.folded.approximate = true;
        }
        let fresh = MinuteWrites {
            minute,
            ..MinuteWrites::default()
        };
        let slot = match self.newest.map(|n| n.minute) {
            // An older minute: the log is in order of completion, and inputs of one time
            // range may be read at once.
            Some(newest) if newest > minute => {
                let at = self
                    .earlier
                    .binary_search_by_key(&minute, |m| m.minute)
                    .unwrap_or_else(|i| {
                        self.earlier.insert(i, fresh);
                        i
                    });
                &mut self.earlier[at]
            }
            newest => {
                if newest != Some(minute)
                    && let Some(done) = self.newest.take()
                {
                    self.earlier.push(done);
                }
                self.newest.get_or_insert(fresh)
            }
        };
        slot.absorb(count, writer, multi);
        if self.earlier.len() + usize::from(self.newest.is_some()) > MAX_MINUTES_PER_OBJECT {
            self.fold_oldest();
        }
    }

    /// Every active minute not folded, in order.
    pub fn minutes(&self) -> impl Iterator<Item = &MinuteWrites> {
        self.earlier.iter().chain(&self.newest)
    }

    /// Folds the oldest half of the minute list into the summary counters: a heartbeat object
    /// written every minute of a 7-day window would otherwise keep 10,080 entries.
    fn fold_oldest(&mut self) {
        // Half of all the minutes, the newest included (never among the oldest half).
        let n = self.earlier.len().div_ceil(2);
        for m in self.earlier.drain(..n) {
            let f = &mut self.folded;
            f.last = f.last.max(Some(m.minute));
            f.active += 1;
            f.multi += u64::from(m.multi);
            for (slot, level) in f.busy.iter_mut().zip(BUSY_LEVELS) {
                *slot += u64::from(m.count >= level);
            }
            if m.count > f.peak.1 || (m.count == f.peak.1 && i64::from(m.minute) < f.peak.0) {
                f.peak = (i64::from(m.minute), m.count);
            }
        }
        // The push past the limit doubled the list's capacity; give that back, or each
        // recurring object would hold twice the limit for the rest of the run.
        self.earlier.shrink_to_fit();
    }

    /// The busiest minute: (epoch minute, writes); the earliest of equals.
    #[must_use]
    pub fn peak_minute(&self) -> Option<(i64, u32)> {
        let folded = (self.folded.peak.1 > 0).then_some(self.folded.peak);
        self.minutes()
            .map(|m| (i64::from(m.minute), m.count))
            .chain(folded)
            .max_by_key(|&(m, c)| (c, std::cmp::Reverse(m)))
    }

    /// Minutes in which two or more clients wrote the object itself, its `status` left out
    /// (fighting writers).
    #[must_use]
    pub fn multi_writer_minutes(&self) -> u64 {
        self.folded.multi + self.minutes().filter(|m| m.multi).count() as u64
    }

    /// Minutes with at least one write.
    #[must_use]
    pub fn active_minutes(&self) -> u64 {
        self.folded.active + self.minutes().count() as u64
    }

    /// Minutes with at least `BUSY_LEVELS[level]` writes.
    #[must_use]
    pub fn busy_minutes(&self, level: usize) -> u64 {
        let n = BUSY_LEVELS[level];
        self.folded.busy[level] + self.minutes().filter(|m| m.count >= n).count() as u64
    }
}

/// The longest key kept inside its object; a longer one goes to the heap. EKS node leases
/// (`coordination.k8s.io`, `leases`, `kube-node-lease`, an EC2 host name) are ~90 bytes.
const KEY_INLINE: usize = 112;

/// An object's key and stats in one allocation: a write reads both, and a key on the heap of
/// its own was a second cache miss per write (the probe's key comparison).
#[derive(Debug, Clone, Default)]
#[repr(C)]
struct Object {
    key: SmallVec<[u8; KEY_INLINE]>,
    stats: ObjectStats,
}

impl Object {
    fn key(&self) -> &str {
        // Keys are only ever copied from a `&str`.
        std::str::from_utf8(self.key.as_slice()).unwrap_or_default()
    }
}

fn hash(key: &[u8]) -> u64 {
    FxBuildHasher.hash_one(key)
}

/// Object key → stats, bounded.
#[derive(Debug, Clone, Default)]
pub struct ObjectTable {
    /// Objects keyed by `group \x1f resource \x1f namespace \x1f name`. Boxed: inline, a
    /// bucket is ~500 bytes, and the tombstones pruning leaves make hashbrown double the table
    /// once it has pruned (32,768 to 65,536 buckets: a peak RSS that grew with the log's
    /// length). Boxed, a bucket is 8 bytes (and a tag byte): doubling costs ~300 KB.
    objects: HashTable<Box<Object>>,
    /// Entries dropped by pruning (an object dropped twice counts twice).
    pub pruned: u64,
    /// The sum, over every prune, of the largest count it dropped: an object that was dropped
    /// (once or more) and written again is short by at most this much.
    pub max_pruned_count: u64,
}

/// What one write contributes to the object table.
pub struct ObjectWrite<'a> {
    /// The object key (see [`object_key`]).
    pub key: &'a str,
    /// Writer (interned client id).
    pub client: u32,
    /// Event time.
    pub time: Option<Micros>,
    /// To the status subresource.
    pub status: bool,
    /// A no-op update.
    pub noop: bool,
    /// auditID.
    pub audit_id: &'a str,
    /// Its bodies' bytes.
    pub bodies: BodyBytes,
}

/// Builds the object key into `buf`.
pub fn object_key(buf: &mut String, group: &str, resource: &str, namespace: &str, name: &str) {
    buf.clear();
    for (i, part) in [group, resource, namespace, name].iter().enumerate() {
        if i > 0 {
            buf.push('\x1f');
        }
        buf.push_str(part);
    }
}

/// Splits an object key into (group, resource, namespace, name).
#[must_use]
pub fn split_key(key: &str) -> (&str, &str, &str, &str) {
    let mut it = key.splitn(4, '\x1f');
    let mut next = || it.next().unwrap_or("");
    (next(), next(), next(), next())
}

impl ObjectTable {
    /// Objects tracked.
    #[must_use]
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether no object is tracked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The stats of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&ObjectStats> {
        let k = key.as_bytes();
        self.objects
            .find(hash(k), |o| same(o.key.as_slice(), k))
            .map(|o| &o.stats)
    }

    /// Every object: (key, stats), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ObjectStats)> {
        self.objects.iter().map(|o| (o.key(), &o.stats))
    }

    /// The stats of `key`, a new entry if it has none. One probe in the common case; the key is
    /// copied only for a new object.
    fn entry(&mut self, key: &str) -> &mut ObjectStats {
        let k = key.as_bytes();
        let h = hash(k);
        let entry =
            self.objects
                .entry(h, |o| same(o.key.as_slice(), k), |o| hash(o.key.as_slice()));
        &mut entry
            .or_insert_with(|| {
                Box::new(Object {
                    key: SmallVec::from_slice(k),
                    stats: ObjectStats::default(),
                })
            })
            .into_mut()
            .stats
    }

    /// Records one write.
    pub fn observe(&mut self, w: &ObjectWrite) {
        let o = self.entry(w.key);
        o.count += 1;
        o.status_writes += u64::from(w.status);
        o.noop += u64::from(w.noop);
        o.bodies.add(w.bodies);
        let writer = o.writer_index(w.client, 1);
        if let Some(t) = w.time {
            let minute = u32::try_from(t.div_euclid(crate::timefmt::MINUTE_US)).unwrap_or(0);
            o.add_minute(minute, 1, (!w.status).then_some(writer), false);
        }
        o.span.observe(w.time);
        o.samples.offer(w.time, w.audit_id);
        self.prune_if_full();
    }

    /// Records a write to `key` answered 409 Conflict.
    pub fn conflict(&mut self, key: &str, time: Option<Micros>) {
        let o = self.entry(key);
        o.conflicts += 1;
        o.span.observe(time);
        self.prune_if_full();
    }

    fn prune_if_full(&mut self) {
        if self.objects.len() <= MAX_OBJECTS {
            return;
        }
        let mut counts: Vec<u64> = self
            .objects
            .iter()
            .map(|o| o.stats.count + o.stats.conflicts)
            .collect();
        let keep = MAX_OBJECTS / 2;
        counts.select_nth_unstable_by(keep, |a, b| b.cmp(a));
        let cut = counts[keep];
        let before = self.objects.len();
        let mut max_dropped = 0;
        self.objects.retain(|o| {
            let o = &o.stats;
            let k = o.count + o.conflicts > cut;
            if !k {
                max_dropped = max_dropped.max(o.count + o.conflicts);
            }
            k
        });
        self.pruned += (before - self.objects.len()) as u64;
        self.max_pruned_count += max_dropped;
    }

    /// Makes every writer id `c` the id `remap[c]` (of another interner).
    pub fn remap_writers(&mut self, remap: &[u32]) {
        for o in &mut self.objects {
            for (c, _) in &mut o.stats.writers {
                *c = remap[*c as usize];
            }
        }
    }

    /// Merges another table in, remapping writer ids.
    pub fn merge(&mut self, other: &ObjectTable, remap: &[u32]) {
        for o in &other.objects {
            let (key, o) = (o.key(), &o.stats);
            let dst = self.entry(key);
            dst.count += o.count;
            dst.status_writes += o.status_writes;
            dst.noop += o.noop;
            dst.bodies.add(o.bodies);
            dst.conflicts += o.conflicts;
            // `o` folded: a minute split between the two tables may now be in both.
            // (A minute of `o`'s list that lands on `dst`'s folded minutes is caught by
            // `add_minute`.)
            if o.folded.active > 0 && (dst.newest.is_some() || dst.folded.active > 0) {
                dst.folded.approximate = true;
            }
            let index: Vec<u8> = o
                .writers
                .iter()
                .map(|(c, n)| dst.writer_index(remap[*c as usize], *n))
                .collect();
            for m in o.minutes() {
                let writer = index.get(usize::from(m.writer)).copied().unwrap_or(u8::MAX);
                dst.add_minute(m.minute, m.count, m.spec.then_some(writer), m.multi);
            }
            dst.folded.merge(&o.folded);
            dst.span.merge(o.span);
            dst.samples.merge(&o.samples);
            // Prune as we go: a union of two full tables would double the bucket array.
            self.prune_if_full();
        }
        self.pruned += other.pruned;
        self.max_pruned_count += other.max_pruned_count;
        self.prune_if_full();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(t: &mut ObjectTable, key: &str, client: u32, minute: i64) {
        t.observe(&ObjectWrite {
            key,
            client,
            time: Some(minute * crate::timefmt::MINUTE_US),
            status: false,
            noop: false,
            bodies: BodyBytes::default(),
            audit_id: "x",
        });
    }

    #[test]
    fn merge_keeps_writers_per_minute() {
        let mut a = ObjectTable::default();
        let mut b = ObjectTable::default();
        write(&mut a, "k", 0, 1);
        write(&mut b, "k", 0, 1); // b's client 0 is a different client: remapped to 1
        write(&mut b, "k", 0, 2);
        a.merge(&b, &[1]);
        let o = a.get("k").unwrap();
        assert_eq!(o.count, 3);
        assert_eq!(o.multi_writer_minutes(), 1);
        assert_eq!(o.peak_minute(), Some((1, 2)));
        assert_eq!(o.writers.as_slice(), [(0, 1), (1, 2)]);
    }

    #[test]
    fn a_status_writer_does_not_fight_the_spec_writer() {
        let status = |t: &mut ObjectTable, client: u32, minute: i64| {
            t.observe(&ObjectWrite {
                key: "k",
                client,
                time: Some(minute * crate::timefmt::MINUTE_US),
                status: true,
                noop: false,
                bodies: BodyBytes::default(),
                audit_id: "x",
            });
        };
        let mut a = ObjectTable::default();
        status(&mut a, 1, 1); // the status owner first in the minute
        write(&mut a, "k", 0, 1);
        status(&mut a, 1, 1);
        assert_eq!(a.get("k").unwrap().multi_writer_minutes(), 0);
        write(&mut a, "k", 2, 1); // a second spec writer
        assert_eq!(a.get("k").unwrap().multi_writer_minutes(), 1);
        // Across a merge: b's minute 2 holds only a status write, a's a spec write.
        let mut b = ObjectTable::default();
        status(&mut b, 0, 2);
        write(&mut a, "k", 0, 2);
        a.merge(&b, &[1]);
        let o = a.get("k").unwrap();
        assert_eq!(o.multi_writer_minutes(), 1, "minute 2 has one spec writer");
        assert_eq!(o.count, 6);
        assert_eq!(o.status_writes, 3);
    }

    #[test]
    fn long_lived_objects_fold_old_minutes() {
        let mut t = ObjectTable::default();
        // A lease written 6 times a minute for a week: 10,080 minutes, kept in at most 512.
        for m in 0..10_080 {
            for _ in 0..6 {
                write(&mut t, "lease", 0, m);
            }
        }
        assert!(
            !t.get("lease").unwrap().folded.approximate,
            "in time order, one table: exact"
        );
        write(&mut t, "lease", 0, 3); // a late write to a folded minute
        let o = t.get("lease").unwrap();
        assert!(o.folded.approximate);
        assert!(o.minutes().count() <= MAX_MINUTES_PER_OBJECT);
        assert_eq!(o.count, 60_481);
        assert_eq!(
            o.active_minutes(),
            10_081,
            "the late write re-opens a folded minute: counted twice"
        );
        assert_eq!(o.busy_minutes(0), 10_080, "≥5 writes in every whole minute");
        assert_eq!(o.busy_minutes(1), 0);
        assert_eq!(o.peak_minute(), Some((0, 6)));
    }

    #[test]
    fn writes_to_earlier_minutes_land_in_their_minute() {
        let mut t = ObjectTable::default();
        let order = [1, 2, 3, 2, 1, 4, 3, 1];
        for m in order {
            write(&mut t, "k", 0, m);
        }
        let mut want = std::collections::BTreeMap::new();
        for m in order {
            *want.entry(m as u32).or_insert(0u32) += 1;
        }
        let o = t.get("k").unwrap();
        let got: Vec<(u32, u32)> = o.minutes().map(|m| (m.minute, m.count)).collect();
        assert_eq!(got, want.into_iter().collect::<Vec<_>>());
        assert_eq!(o.active_minutes(), 4);
        assert_eq!(o.peak_minute(), Some((1, 3)));
        assert!(!o.folded.approximate, "nothing folded");
    }

    #[test]
    fn keys_longer_than_the_inline_buffer_are_kept_whole() {
        let mut t = ObjectTable::default();
        let long = format!(
            "apps\x1fdeployments\x1fteam\x1f{}",
            "n".repeat(2 * KEY_INLINE)
        );
        let short = &long[..KEY_INLINE];
        write(&mut t, &long, 0, 0);
        write(&mut t, &long, 1, 0);
        write(&mut t, short, 0, 0);
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(&long).unwrap().count, 2);
        assert_eq!(t.get(short).unwrap().count, 1);
        let mut keys: Vec<&str> = t.iter().map(|(k, _)| k).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [short, &long[..]],
            "the short key is a prefix of the long"
        );
    }

    #[test]
    fn pruning_bounds_size_and_reports_error() {
        let mut t = ObjectTable::default();
        write(&mut t, "hot", 0, 0);
        write(&mut t, "hot", 0, 0);
        for i in 0..(MAX_OBJECTS + 10) {
            write(&mut t, &format!("o{i}"), 0, 0);
        }
        assert!(t.objects.len() <= MAX_OBJECTS);
        assert_eq!(t.get("hot").unwrap().count, 2);
        assert_eq!(t.max_pruned_count, 1);
        assert!(t.pruned > 0);
    }
}

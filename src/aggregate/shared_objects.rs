//! Aggregate: one most-written-objects table for all workers of a batch scan. A worker queues
//! its chunk's object writes and conflicts ([`ObjectBatch`]) and hands them to the shared table
//! after the chunk, under one lock; the table applies each input's batches in chunk order,
//! holding back one that comes early until those before it are in. An object's writes then
//! reach its minute list in the input's order whatever the thread count or scheduling: the two
//! halves of a minute that two workers read meet before the minute is folded (tables of their
//! own could only fold halves, and counted a split minute twice), so the minute list can stay
//! short and exact, and the run holds one table of
//! [`MAX_OBJECTS`](super::objects::MAX_OBJECTS) instead of one per worker. What is held back is
//! the writes of the chunks a slower worker has not finished: a few chunks' worth.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use rustc_hash::FxHashMap;

use super::interner::Interner;
use super::objects::{ObjectTable, ObjectWrite};
use super::tables::BodyBytes;
use crate::timefmt::Micros;

/// A byte range of [`ObjectBatch::text`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

/// What a queued item does to its object.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// A successful write.
    Write {
        status: bool,
        noop: bool,
        bodies: BodyBytes,
    },
    /// A write answered 409 Conflict.
    Conflict,
}

impl Span {
    fn of(self, text: &str) -> &str {
        let start = self.start as usize;
        text.get(start..start + self.len as usize).unwrap_or("")
    }
}

#[derive(Debug, Clone, Copy)]
struct Queued {
    key: Span,
    audit_id: Span,
    client: u32,
    time: Option<Micros>,
    change: Change,
}

/// One worker's object writes not yet applied: the keys and auditIDs back to back in one
/// string, reused from chunk to chunk.
#[derive(Debug, Clone, Default)]
pub struct ObjectBatch {
    text: String,
    items: Vec<Queued>,
    /// The worker's client ids → the shared table's (`u32::MAX`: not looked up yet).
    shared_ids: Vec<u32>,
}

impl ObjectBatch {
    fn push_text(&mut self, s: &str) -> Span {
        let start = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.text.push_str(s);
        Span {
            start,
            len: u32::try_from(s.len()).unwrap_or(u32::MAX),
        }
    }

    /// Queues a successful write.
    pub fn write(&mut self, w: &ObjectWrite) {
        let key = self.push_text(w.key);
        let audit_id = self.push_text(w.audit_id);
        self.items.push(Queued {
            key,
            audit_id,
            client: w.client,
            time: w.time,
            change: Change::Write {
                status: w.status,
                noop: w.noop,
                bodies: w.bodies,
            },
        });
    }

    /// Queues a write to `key` answered 409 Conflict.
    pub fn conflict(&mut self, key: &str, time: Option<Micros>) {
        let key = self.push_text(key);
        self.items.push(Queued {
            key,
            audit_id: Span { start: 0, len: 0 },
            client: 0,
            time,
            change: Change::Conflict,
        });
    }

    /// Items queued.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A batch's text and items, its client ids already the shared table's.
#[derive(Debug, Default)]
struct Held {
    text: String,
    items: Vec<Queued>,
}

#[derive(Debug, Default)]
struct Shared {
    table: ObjectTable,
    /// The writers' names: workers intern clients apart, so their ids mean nothing here.
    writers: Interner,
    /// Per input, the chunk whose batch is due next.
    next: FxHashMap<u32, u64>,
    /// Batches that came before their turn, by (input, chunk).
    held: BTreeMap<(u32, u64), Held>,
}

impl Shared {
    fn apply(&mut self, text: &str, items: &[Queued]) {
        for q in items {
            let key = q.key.of(text);
            match q.change {
                Change::Write {
                    status,
                    noop,
                    bodies,
                } => self.table.observe(&ObjectWrite {
                    key,
                    client: q.client,
                    time: q.time,
                    status,
                    noop,
                    audit_id: q.audit_id.of(text),
                    bodies,
                }),
                Change::Conflict => self.table.conflict(key, q.time),
            }
        }
    }

    /// Applies the held batches of `origin` that are now due.
    fn catch_up(&mut self, origin: u32) {
        loop {
            let next = self.next.entry(origin).or_insert(0);
            let Some(held) = self.held.remove(&(origin, *next)) else {
                return;
            };
            *next += 1;
            self.apply(&held.text, &held.items);
        }
    }
}

/// The run's one object table, fed by every worker's batches.
#[derive(Debug, Default)]
pub struct SharedObjects(Mutex<Shared>);

impl SharedObjects {
    /// Takes the batch of chunk `seq` of input `origin` (every chunk must hand one in, empty
    /// or not, for the next to be due) and empties it; `names` is the interner of the worker
    /// whose client ids it holds.
    pub fn apply(&self, origin: u32, seq: u64, batch: &mut ObjectBatch, names: &Interner) {
        // A worker that panicked mid-apply left whole writes behind: the table stays usable.
        let mut shared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let ObjectBatch {
            text,
            items,
            shared_ids,
        } = batch;
        for q in items.iter_mut() {
            if let Change::Write { .. } = q.change {
                let local = q.client as usize;
                if shared_ids.len() <= local {
                    shared_ids.resize(local + 1, u32::MAX);
                }
                if shared_ids[local] == u32::MAX {
                    shared_ids[local] = shared.writers.id(names.name(q.client));
                }
                q.client = shared_ids[local];
            }
        }
        let next = shared.next.entry(origin).or_insert(0);
        if seq == *next {
            *next += 1;
            shared.apply(text, items);
            items.clear();
            text.clear();
            shared.catch_up(origin);
        } else {
            let held = Held {
                text: std::mem::take(text),
                items: std::mem::take(items),
            };
            shared.held.insert((origin, seq), held);
        }
    }

    /// The table, its writer ids made ids of `names` (the merged workers' interner). Batches
    /// still held (a chunk before them never came) are applied in order first.
    #[must_use]
    pub fn into_table(self, names: &mut Interner) -> ObjectTable {
        let mut shared = self.0.into_inner().unwrap_or_else(PoisonError::into_inner);
        for (_, held) in std::mem::take(&mut shared.held) {
            shared.apply(&held.text, &held.items);
        }
        let Shared {
            mut table, writers, ..
        } = shared;
        table.remap_writers(&names.remap(&writers));
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::MINUTE_US;

    fn write(
        key: &'static str,
        client: u32,
        minute: i64,
        id: &'static str,
    ) -> ObjectWrite<'static> {
        ObjectWrite {
            key,
            client,
            time: Some(minute * MINUTE_US),
            status: false,
            noop: false,
            audit_id: id,
            bodies: BodyBytes::default(),
        }
    }

    #[test]
    fn two_workers_halves_of_a_minute_are_counted_as_one_minute() {
        // Worker a knows "ctrl" as id 1, worker b as id 0: the shared table must see one writer.
        let (mut names_a, mut names_b) = (Interner::default(), Interner::default());
        names_a.id("other");
        let ctrl_a = names_a.id("ctrl");
        let ctrl_b = names_b.id("ctrl");
        let shared = SharedObjects::default();
        let (mut a, mut b) = (ObjectBatch::default(), ObjectBatch::default());
        for i in 0..3 {
            a.write(&write("k", ctrl_a, 7, "a"));
            b.write(&write("k", ctrl_b, 7, if i == 0 { "b" } else { "c" }));
        }
        b.conflict("k", Some(7 * MINUTE_US));
        // b's chunk comes first but is the input's second: it waits for a's.
        shared.apply(0, 1, &mut b, &names_b);
        shared.apply(0, 0, &mut a, &names_a);
        assert!(a.is_empty() && b.is_empty());

        let mut merged = Interner::default();
        merged.id("unrelated");
        let table = shared.into_table(&mut merged);
        let o = table.get("k").unwrap();
        assert_eq!(o.count, 6);
        assert_eq!(o.conflicts, 1);
        assert_eq!(o.active_minutes(), 1);
        // 6 writes in the minute: busy at level 5 (which neither half of 3 is).
        assert_eq!(o.busy_minutes(0), 1);
        assert_eq!(o.multi_writer_minutes(), 0);
        assert_eq!(o.writers.as_slice(), [(merged.get("ctrl").unwrap(), 6)]);
        assert_eq!(o.samples.ids(), ["a", "b", "c"]);
    }

    #[test]
    fn a_reused_batch_applies_only_what_was_queued_since() {
        let mut names = Interner::default();
        let c = names.id("ctrl");
        let shared = SharedObjects::default();
        let mut batch = ObjectBatch::default();
        batch.write(&write("first", c, 1, "x"));
        shared.apply(0, 0, &mut batch, &names);
        batch.write(&write("second", c, 2, "y"));
        assert_eq!(batch.len(), 1);
        shared.apply(0, 1, &mut batch, &names);
        let table = shared.into_table(&mut names);
        assert_eq!(table.get("first").unwrap().count, 1);
        assert_eq!(table.get("second").unwrap().count, 1);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn batches_apply_in_chunk_order_and_none_is_lost() {
        let mut names = Interner::default();
        let (early, late, other) = (names.id("early"), names.id("late"), names.id("other"));
        let shared = SharedObjects::default();
        let mut batch = ObjectBatch::default();
        // Chunk 1 of input 0 before chunk 0: held, then applied after it.
        batch.write(&write("k", late, 1, "l"));
        shared.apply(0, 1, &mut batch, &names);
        assert!(batch.is_empty());
        batch.write(&write("k", early, 1, "e"));
        shared.apply(0, 0, &mut batch, &names);
        // Input 1's chunk 0 never comes: its chunk 1 is applied when the table is taken.
        batch.write(&write("lost", other, 1, "o"));
        shared.apply(1, 1, &mut batch, &names);
        let table = shared.into_table(&mut names);
        // Writers are listed in order of first sight: the input's order, not the arrival's.
        assert_eq!(
            table.get("k").unwrap().writers.as_slice(),
            [(early, 1), (late, 1)]
        );
        assert_eq!(table.get("lost").unwrap().count, 1);
    }
}

//! Requests, errors and APF seat time per client and minute, stored in blocks of [`BLOCK`]
//! minutes: the per-minute table the clients' series and episodes are built from.
//!
//! A week-long window has ~10,000 minutes; a `(client, minute) → count` hash map costs ~27 bytes
//! per busy minute, so a few hundred steady clients held over 100 MB per worker. A block of
//! 16 minutes × 3 counters costs ~13 bytes a minute for a steady client and at most one block
//! (~220 bytes) for a minute alone. What bounds it is the number of (client, 16-minute block)
//! pairs — client cardinality × minutes of the window / 16 at most — never the log's length:
//! a week of a big cluster stays in a few MB per worker. The failed short requests (429 and
//! 5xx, the incident timeline's attribution) are kept in sparse blocks of their own, which
//! exist only where a client failed: bounded the same way, and in practice far smaller.

use rustc_hash::FxHashMap;

/// Minutes per block.
pub const BLOCK: i64 = 16;

/// What one client did in one minute.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Minute {
    /// Requests.
    pub requests: u64,
    /// Of which answered ≥ 400.
    pub errors: u64,
    /// APF seat time of its requests, ms (latency × width, as the cost ledger charges it).
    pub seat_ms: u64,
}

/// One block's counters. u32s: 4 billion requests (or seat-ms: 49 days of seats) in a minute
/// from one client is not a real log, and counts saturate rather than wrap.
#[derive(Debug, Default, Clone)]
struct Block {
    requests: [u32; BLOCK as usize],
    errors: [u32; BLOCK as usize],
    seat_ms: [u32; BLOCK as usize],
}

/// How a short request failed, for [`ClientMinutes::add_failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Answered 429.
    Throttled,
    /// Answered 5xx (or a Panic).
    ServerError,
}

/// One count per (client, epoch minute) in blocks of [`BLOCK`] minutes.
#[derive(Debug, Default, Clone)]
struct Sparse(FxHashMap<(u32, i64), [u32; BLOCK as usize]>);

impl Sparse {
    #[inline]
    fn add(&mut self, client: u32, minute: i64) {
        let slot = &mut self
            .0
            .entry((client, minute.div_euclid(BLOCK)))
            .or_default()[minute.rem_euclid(BLOCK) as usize];
        *slot = slot.saturating_add(1);
    }

    fn merge(&mut self, other: &Self, client: &impl Fn(u32) -> u32) {
        for ((c, b), counts) in &other.0 {
            let dst = self.0.entry((client(*c), *b)).or_default();
            for (d, s) in dst.iter_mut().zip(counts) {
                *d = d.saturating_add(*s);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (u32, i64, u64)> + '_ {
        self.0.iter().flat_map(|((c, b), counts)| {
            counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(move |(i, n)| (*c, b * BLOCK + i as i64, u64::from(*n)))
        })
    }
}

/// Requests, errors and seat time per (client, epoch minute); clients are interned ids.
#[derive(Debug, Default, Clone)]
pub struct ClientMinutes {
    blocks: FxHashMap<(u32, i64), Block>,
    throttled: Sparse,
    server_errors: Sparse,
}

fn add_to(slot: &mut u32, n: u64) {
    *slot = slot.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
}

impl ClientMinutes {
    /// Counts one request of `client` in `minute`, failed or not, holding `seat_us` of seats.
    #[inline]
    pub fn add(&mut self, client: u32, minute: i64, failed: bool, seat_us: u64) {
        let b = self
            .blocks
            .entry((client, minute.div_euclid(BLOCK)))
            .or_default();
        let i = minute.rem_euclid(BLOCK) as usize;
        add_to(&mut b.requests[i], 1);
        add_to(&mut b.errors[i], u64::from(failed));
        add_to(&mut b.seat_ms[i], seat_us / 1000);
    }

    /// Adds another worker's counts, its client ids mapped through `client`.
    pub fn merge(&mut self, other: &Self, client: impl Fn(u32) -> u32) {
        for ((c, b), src) in &other.blocks {
            let dst = self.blocks.entry((client(*c), *b)).or_default();
            for (d, s) in [
                (&mut dst.requests, &src.requests),
                (&mut dst.errors, &src.errors),
                (&mut dst.seat_ms, &src.seat_ms),
            ] {
                for (d, s) in d.iter_mut().zip(s) {
                    add_to(d, u64::from(*s));
                }
            }
        }
        self.throttled.merge(&other.throttled, &client);
        self.server_errors.merge(&other.server_errors, &client);
    }

    /// Counts one failed short request of `client` in `minute` (besides [`Self::add`]).
    #[inline]
    pub fn add_failed(&mut self, client: u32, minute: i64, how: Failure) {
        match how {
            Failure::Throttled => self.throttled.add(client, minute),
            Failure::ServerError => self.server_errors.add(client, minute),
        }
    }

    /// Every (client, minute, failed short requests) of one kind with a count > 0, in no
    /// particular order.
    pub fn failed(&self, how: Failure) -> impl Iterator<Item = (u32, i64, u64)> + '_ {
        match how {
            Failure::Throttled => self.throttled.iter(),
            Failure::ServerError => self.server_errors.iter(),
        }
    }

    /// Every (client, minute, requests) with requests > 0, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, i64, u64)> + '_ {
        self.minutes().map(|(c, m, n)| (c, m, n.requests))
    }

    /// Every (client, minute, what it did) with requests > 0, in no particular order.
    pub fn minutes(&self) -> impl Iterator<Item = (u32, i64, Minute)> + '_ {
        self.blocks.iter().flat_map(|((c, b), k)| {
            (0..BLOCK as usize)
                .filter(|&i| k.requests[i] > 0)
                .map(move |i| {
                    (
                        *c,
                        b * BLOCK + i as i64,
                        Minute {
                            requests: u64::from(k.requests[i]),
                            errors: u64::from(k.errors[i]),
                            seat_ms: u64::from(k.seat_ms[i]),
                        },
                    )
                })
        })
    }

    /// Blocks held (for memory accounting in tests and benches).
    #[must_use]
    pub fn blocks(&self) -> usize {
        self.blocks.len() + self.throttled.0.len() + self.server_errors.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(m: &ClientMinutes) -> Vec<(u32, i64, u64)> {
        let mut v: Vec<_> = m.iter().collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn counts_land_in_their_minute_across_block_edges_and_before_1970() {
        let mut m = ClientMinutes::default();
        for minute in [-17, -1, 0, 15, 16, 16, 29_000_000, 29_000_015] {
            m.add(3, minute, false, 0);
        }
        m.add(4, 15, true, 2500);
        assert_eq!(
            sorted(&m),
            [
                (3, -17, 1),
                (3, -1, 1),
                (3, 0, 1),
                (3, 15, 1),
                (3, 16, 2),
                (3, 29_000_000, 1),
                (3, 29_000_015, 1),
                (4, 15, 1)
            ]
        );
        assert_eq!(m.blocks(), 6);
    }

    #[test]
    fn merge_adds_and_remaps_clients() {
        let (mut a, mut b) = (ClientMinutes::default(), ClientMinutes::default());
        a.add(0, 100, false, 0);
        b.add(0, 100, false, 0);
        b.add(1, 100, false, 0);
        b.add(1, 200, false, 0);
        a.merge(&b, |c| c + 10);
        assert_eq!(
            sorted(&a),
            [(0, 100, 1), (10, 100, 1), (11, 100, 1), (11, 200, 1)]
        );
    }

    #[test]
    fn failures_are_kept_apart_by_kind_and_merge() {
        let (mut a, mut b) = (ClientMinutes::default(), ClientMinutes::default());
        a.add_failed(0, 5, Failure::Throttled);
        b.add_failed(0, 5, Failure::Throttled);
        b.add_failed(1, 6, Failure::ServerError);
        a.merge(&b, |c| c + 1);
        let mut t: Vec<_> = a.failed(Failure::Throttled).collect();
        t.sort_unstable();
        assert_eq!(t, [(0, 5, 1), (1, 5, 1)]);
        assert_eq!(
            a.failed(Failure::ServerError).collect::<Vec<_>>(),
            [(2, 6, 1)]
        );
        assert_eq!(a.iter().count(), 0, "failures are not requests");
    }
}

//! The outstanding-request table: a pre-sized slab indexed by the integer request id.
//!
//! Owns: which requests are in flight, their send-side timestamps, their deadlines, and the
//! memory of recently expired ids (to tell a late response from a duplicate).
//! Invariants:
//! - an id is `generation << SLOT_BITS | slot`; generations start at 1 and grow on every reuse,
//!   so a slot reused for a new request never accepts an old request's response;
//! - every issued id ends exactly once: completed by a response, or expired by its deadline;
//! - free slots are reused first-in-first-out, which maximises the time before reuse;
//! - nothing here allocates per request once the table is built (the deadline ring grows to its
//!   steady-state size once).

use std::collections::{HashSet, VecDeque};

/// Bits of the id that index the slot; the rest is the generation.
pub const SLOT_BITS: u32 = 20;
/// The largest in-flight cap the table supports (ids stay below 2^53, exact in any JSON parser).
pub const MAX_IN_FLIGHT: usize = 1 << SLOT_BITS;
/// How many expired ids are remembered to classify a later response as late (not duplicate).
/// Timeouts are the exceptional path; past this many, the oldest are forgotten.
const EXPIRED_MEMORY: usize = 1 << 16;

/// Send-side facts about one request, copied out when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Index of the mix entry.
    pub entry: u16,
    /// Not a warm-up request.
    pub measured: bool,
    /// Scheduled send time (ns since start; equals `written_ns` in closed loop).
    pub scheduled_ns: u64,
    /// Time the batch holding it was handed to the pipe.
    pub written_ns: u64,
    /// Payload as `(offset, len)` into the payload source.
    pub payload: (u32, u32),
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    generation: u32,
    pending: bool,
    sent: Sent,
}

/// What a response id refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// An in-flight request: now completed.
    Completed(Sent),
    /// A request whose deadline had already fired.
    Late,
    /// A request that was already answered.
    Duplicate,
    /// No request ever had this id.
    Unknown,
}

/// The table. Shared by the writer (inserts) and the reader (completes, expires) behind one
/// mutex that each side takes once per batch.
#[derive(Debug)]
pub struct Table {
    slots: Vec<Slot>,
    free: VecDeque<u32>,
    in_flight: usize,
    timeout_ns: u64,
    /// `(id, deadline_ns)` in issue order; deadlines are non-decreasing because every request
    /// gets the same timeout from a non-decreasing write time.
    deadlines: VecDeque<(u64, u64)>,
    expired: HashSet<u64>,
    expired_order: VecDeque<u64>,
}

impl Table {
    /// A table for at most `capacity` requests in flight (clamped to [`MAX_IN_FLIGHT`]).
    pub fn new(capacity: usize, timeout_ns: u64) -> Self {
        let capacity = capacity.clamp(1, MAX_IN_FLIGHT);
        Self {
            slots: vec![Slot::default(); capacity],
            free: (0..capacity as u32).collect(),
            in_flight: 0,
            timeout_ns,
            deadlines: VecDeque::with_capacity(capacity),
            expired: HashSet::new(),
            expired_order: VecDeque::new(),
        }
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Whether another request can be inserted.
    pub fn has_room(&self) -> bool {
        !self.free.is_empty()
    }

    /// Inserts a request; returns its id, or `None` at capacity.
    pub fn insert(&mut self, sent: Sent) -> Option<u64> {
        let slot = self.free.pop_front()?;
        let s = &mut self.slots[slot as usize];
        s.generation = s.generation.checked_add(1).unwrap_or(1);
        s.pending = true;
        s.sent = sent;
        self.in_flight += 1;
        let id = (u64::from(s.generation) << SLOT_BITS) | u64::from(slot);
        self.deadlines
            .push_back((id, sent.written_ns.saturating_add(self.timeout_ns)));
        Some(id)
    }

    /// Resolves a response id.
    pub fn complete(&mut self, id: u64) -> Lookup {
        let slot = (id & ((1 << SLOT_BITS) - 1)) as usize;
        let generation = id >> SLOT_BITS;
        let Some(s) = self.slots.get_mut(slot) else {
            return Lookup::Unknown;
        };
        if generation == 0 || generation > u64::from(s.generation) {
            return Lookup::Unknown;
        }
        if generation == u64::from(s.generation) && s.pending {
            s.pending = false;
            self.in_flight -= 1;
            self.free.push_back(slot as u32);
            return Lookup::Completed(s.sent);
        }
        if self.expired.remove(&id) {
            return Lookup::Late;
        }
        Lookup::Duplicate
    }

    /// Expires every request whose deadline is `<= now_ns`, handing each to `on_expired`.
    pub fn expire(&mut self, now_ns: u64, mut on_expired: impl FnMut(Sent)) {
        while let Some(&(id, deadline)) = self.deadlines.front() {
            let slot = (id & ((1 << SLOT_BITS) - 1)) as usize;
            let s = &mut self.slots[slot];
            let live = s.pending && u64::from(s.generation) == id >> SLOT_BITS;
            if live && deadline > now_ns {
                break;
            }
            self.deadlines.pop_front();
            if live {
                s.pending = false;
                let sent = s.sent;
                self.in_flight -= 1;
                self.free.push_back(slot as u32);
                self.remember_expired(id);
                on_expired(sent);
            }
        }
    }

    /// Ends every request still in flight (the connection is gone), handing each to `on_lost`.
    pub fn abandon(&mut self, mut on_lost: impl FnMut(Sent)) {
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.pending {
                s.pending = false;
                self.free.push_back(i as u32);
                on_lost(s.sent);
            }
        }
        self.in_flight = 0;
        self.deadlines.clear();
    }

    fn remember_expired(&mut self, id: u64) {
        if self.expired_order.len() == EXPIRED_MEMORY {
            if let Some(old) = self.expired_order.pop_front() {
                self.expired.remove(&old);
            }
        }
        self.expired.insert(id);
        self.expired_order.push_back(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(t: u64) -> Sent {
        Sent {
            written_ns: t,
            scheduled_ns: t,
            measured: true,
            ..Sent::default()
        }
    }

    #[test]
    fn complete_once_then_duplicate() {
        let mut t = Table::new(4, 100);
        let id = t.insert(sent(1)).unwrap();
        assert_eq!(t.in_flight(), 1);
        assert_eq!(t.complete(id), Lookup::Completed(sent(1)));
        assert_eq!(t.complete(id), Lookup::Duplicate);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn unknown_ids_are_recognised() {
        let mut t = Table::new(4, 100);
        let id = t.insert(sent(1)).unwrap();
        assert_eq!(
            t.complete(id + (1 << SLOT_BITS)),
            Lookup::Unknown,
            "future generation"
        );
        assert_eq!(t.complete(3), Lookup::Unknown, "generation 0");
        assert_eq!(
            t.complete((1 << SLOT_BITS) | 9),
            Lookup::Unknown,
            "slot past capacity"
        );
        assert_eq!(t.complete(id), Lookup::Completed(sent(1)));
    }

    #[test]
    fn expiry_then_late_then_duplicate() {
        let mut t = Table::new(2, 100);
        let a = t.insert(sent(0)).unwrap();
        let b = t.insert(sent(50)).unwrap();
        assert!(!t.has_room());
        let mut expired = Vec::new();
        t.expire(120, |s| expired.push(s.written_ns));
        assert_eq!(expired, vec![0]);
        assert!(t.has_room());
        assert_eq!(t.complete(a), Lookup::Late);
        assert_eq!(t.complete(a), Lookup::Duplicate);
        assert_eq!(t.complete(b), Lookup::Completed(sent(50)));
        t.expire(1_000, |_| panic!("b completed; nothing left to expire"));
    }

    #[test]
    fn reused_slot_rejects_the_old_generation() {
        let mut t = Table::new(1, 100);
        let a = t.insert(sent(0)).unwrap();
        assert_eq!(t.complete(a), Lookup::Completed(sent(0)));
        let b = t.insert(sent(1)).unwrap();
        assert_ne!(a, b);
        assert_eq!(t.complete(a), Lookup::Duplicate);
        assert_eq!(t.complete(b), Lookup::Completed(sent(1)));
    }

    #[test]
    fn abandon_ends_everything() {
        let mut t = Table::new(8, 100);
        for i in 0..5 {
            t.insert(sent(i)).unwrap();
        }
        let mut n = 0;
        t.abandon(|_| n += 1);
        assert_eq!(n, 5);
        assert_eq!(t.in_flight(), 0);
    }
}

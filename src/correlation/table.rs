//! [`PendingTable`]: the slot array, its free list and every operation on entries.
//!
//! Each operation is a short sequence of transitions from `slot` (see its diagram). Orderings, in
//! one place: a value is *published* by a Release store of OCCUPIED after the write, and *acquired*
//! by the Acquire CAS that takes or claims it; a claim ends with a Release store so the next claimer
//! or taker sees what it did (and so a reader's use of `&T` happens before a later taker moves the
//! value). Handing an empty slot to the next inserter goes through the free list's Release push /
//! Acquire pop. Everything else (`len`, deadlines read by scans) is Relaxed and explained on the spot.

use super::free_list::FreeList;
use super::slot::{Slot, State, Tag};
use super::sync::{Backoff, Ordering};
use super::{Key, FIRST_GENERATION, MAX_CAPACITY};

/// A fixed-capacity, lock-free table of pending requests keyed by proxy-assigned [`Key`]s.
///
/// `Send + Sync` when `T: Send`: a value is only ever touched by one thread at a time (the BUSY claim
/// is a per-slot lock for readers), exactly as for `Mutex<T>`.
pub struct PendingTable<T> {
    slots: Box<[Slot<T>]>,
    free: FreeList,
}

// SAFETY: the table owns its `T`s; they move between threads (insert on one, complete on another),
// hence `T: Send`. Shared `&T` only exists inside a BUSY claim, which excludes every other access to
// that value, so `T: Sync` is not needed. All other state is atomics.
unsafe impl<T: Send> Sync for PendingTable<T> {}

/// The right to read or update one live slot; dropping it puts the slot back to OCCUPIED.
struct Claim<'a, T> {
    slot: &'a Slot<T>,
    /// The BUSY word we installed.
    busy: State,
    deadline_changed: bool,
}

impl<T> Claim<'_, T> {
    fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: a claim exists only while the slot is BUSY for us, so its value is initialised and
        // no one else reads or moves it until the claim is dropped.
        unsafe { self.slot.read(f) }
    }

    fn set_deadline(&mut self, deadline: u64) {
        // Relaxed: published by the Release store when the claim is dropped.
        self.slot.deadline.store(deadline, Ordering::Relaxed);
        self.deadline_changed = true;
    }
}

impl<T> Drop for Claim<'_, T> {
    fn drop(&mut self) {
        // Release: whatever we did under the claim (deadline update, reads of `&T`) happens before
        // the next thread that claims or takes this slot with an Acquire CAS. Runs on unwind too, so
        // a panicking `with` closure cannot leave the slot BUSY forever.
        self.slot
            .store(self.busy.released(self.deadline_changed), Ordering::Release);
    }
}

impl<T> PendingTable<T> {
    /// A table with `cap` slots, clamped to `1..=MAX_CAPACITY`. Allocates once, here.
    pub fn with_capacity(cap: usize) -> Self {
        let cap = cap.clamp(1, MAX_CAPACITY);
        PendingTable {
            slots: (0..cap).map(|_| Slot::new(FIRST_GENERATION)).collect(),
            free: FreeList::full(cap),
        }
    }

    /// How many entries the table can hold at once.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Occupied slots, counted by a linear scan of the state words (momentarily stale under
    /// concurrency). For metrics and shutdown, not per request: backpressure comes from `insert`'s
    /// `Err`. A shared counter would add two atomic read-modify-writes to every insert+complete
    /// (5 instead of 3; measured on a 2-core VM: ~85 instead of ~55 ns per pair).
    pub fn len(&self) -> usize {
        // Relaxed: a statistic; nothing is read through it.
        self.slots
            .iter()
            .filter(|slot| slot.load(Ordering::Relaxed).tag() != Tag::Free)
            .count()
    }

    /// Whether no slot is occupied (same staleness as [`len`](Self::len); stops at the first
    /// occupied slot).
    pub fn is_empty(&self) -> bool {
        // Relaxed: as in `len`.
        self.slots
            .iter()
            .all(|slot| slot.load(Ordering::Relaxed).tag() == Tag::Free)
    }

    /// Stores `value`; `Err(value)` when every slot is in use. `deadline` is an opaque u64 (ms on the
    /// caller's clock).
    pub fn insert(&self, value: T, deadline: u64) -> Result<Key, T> {
        let Some(index) = self.free.pop() else {
            return Err(value);
        };
        let slot = &self.slots[index];
        // Relaxed: the state was last written by the slot's previous taker, which the pop's Acquire
        // ordered before us; while FREE nobody else writes it (every other transition is a CAS from
        // OCCUPIED or BUSY, which fails on FREE).
        let free = slot.load(Ordering::Relaxed);
        debug_assert_eq!(free.tag(), Tag::Free);
        // SAFETY: we popped `index`, so we own the slot exclusively and it holds no value.
        unsafe { slot.write(value) };
        // Relaxed: published by the Release store below.
        slot.deadline.store(deadline, Ordering::Relaxed);
        // Release: publishes the value and deadline to whoever acquires this OCCUPIED word.
        slot.store(free.occupied(), Ordering::Release);
        Ok(Key::new(index, free.generation()))
    }

    /// Removes and returns the entry iff `key` is live (same generation). Stale, unknown or
    /// already-taken keys give `None`. If another thread holds the slot BUSY (`with`,
    /// `set_deadline`, `find`), this spins until it is released.
    pub fn complete(&self, key: Key) -> Option<T> {
        self.take_live(key.index(), key.generation())
    }

    /// Reads a live entry without removing it. The slot is BUSY while `f` runs: keep `f` short, and
    /// do not call back into this table from it.
    pub fn with<R>(&self, key: Key, f: impl FnOnce(&T) -> R) -> Option<R> {
        let claim = self.claim(key.index(), key.generation())?;
        Some(claim.read(f))
    }

    /// Moves a live entry's deadline (e.g. progress extends a timeout). `false` if not live.
    pub fn set_deadline(&self, key: Key, deadline: u64) -> bool {
        match self.claim(key.index(), key.generation()) {
            Some(mut claim) => {
                claim.set_deadline(deadline);
                true
            }
            None => false,
        }
    }

    /// Removes every live entry whose deadline is `<= now`, appending `(key, value)` to `out` in slot
    /// order. One linear sweep that claims nothing (so it never delays a `complete`); an entry
    /// inserted or re-timed during the sweep may be left for the next one. Waits only for a due
    /// slot that is BUSY under a `with`/`find`/`set_deadline`.
    pub fn expire(&self, now: u64, out: &mut Vec<(Key, T)>) {
        for (index, slot) in self.slots.iter().enumerate() {
            // Acquire: pairs with the publish (or last claim release) so the deadline read below is
            // at least this occupant's latest.
            let first = slot.load(Ordering::Acquire);
            let mut state = first;
            let mut backoff = Backoff::new();
            // Only the occupant seen first is examined: a newer one was inserted during the sweep.
            while state.tag() != Tag::Free && state.generation() == first.generation() {
                // Relaxed: see the Acquire load that produced `state`. If the deadline changed
                // after that load, the word changed too (BUSY, bumped epoch) and the CAS fails.
                if slot.deadline.load(Ordering::Relaxed) > now {
                    break;
                }
                if state.tag() == Tag::Busy {
                    backoff.snooze();
                    state = slot.load(Ordering::Acquire);
                    continue;
                }
                // Acquire on success: we are taking the value (as in `take_live`).
                match slot.cas(state, state.vacated(), Ordering::Acquire, Ordering::Acquire) {
                    Ok(()) => {
                        // SAFETY: our CAS moved the slot out of OCCUPIED: the value is initialised,
                        // ordered before us, and ours alone (see `take_live`).
                        let value = unsafe { slot.take() };
                        self.free.push(index);
                        out.push((Key::new(index, state.generation()), value));
                        break;
                    }
                    Err(actual) => state = actual,
                }
            }
        }
    }

    /// Removes every live entry (e.g. the upstream died), appending them to `out` in slot order.
    /// Entries inserted while the sweep runs may or may not be included.
    pub fn drain(&self, out: &mut Vec<(Key, T)>) {
        for (index, slot) in self.slots.iter().enumerate() {
            // Relaxed: only picks the generation to try; the taking CAS acquires.
            let state = slot.load(Ordering::Relaxed);
            if state.tag() == Tag::Free {
                continue;
            }
            if let Some(value) = self.take_live(index, state.generation()) {
                out.push((Key::new(index, state.generation()), value));
            }
        }
    }

    /// First live key (in slot order) whose entry satisfies `pred`. A linear scan that claims each
    /// live slot while `pred` runs; for rare operations such as cancellation.
    pub fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<Key> {
        for (index, slot) in self.slots.iter().enumerate() {
            // Relaxed: only picks the generation to try; the claim acquires.
            let state = slot.load(Ordering::Relaxed);
            if state.tag() == Tag::Free {
                continue;
            }
            if let Some(claim) = self.claim(index, state.generation()) {
                if claim.read(&mut pred) {
                    return Some(Key::new(index, state.generation()));
                }
            }
        }
        None
    }

    /// The earliest deadline among live entries, if any. A linear scan without claims, so under
    /// concurrency it is a hint: sleep until it, then let [`expire`](Self::expire) decide.
    pub fn next_deadline(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter(|slot| slot.load(Ordering::Acquire).tag() != Tag::Free)
            // Relaxed: the Acquire above makes this occupant's deadline (or a newer one) visible.
            .map(|slot| slot.deadline.load(Ordering::Relaxed))
            .min()
    }

    /// Takes the value of slot `index` if it is live in `generation`, spinning while it is BUSY.
    fn take_live(&self, index: usize, generation: u32) -> Option<T> {
        let slot = self.slots.get(index)?;
        let state = Self::live_step(slot, generation, |state| {
            // Acquire on success: pairs with the publish (or the last claim's release), so the value
            // and every earlier reader's use of it happen before we move it out. Only one CAS can
            // leave OCCUPIED in this generation, which makes the winner the value's only taker.
            slot.cas(state, state.vacated(), Ordering::Acquire, Ordering::Relaxed)
        })?;
        debug_assert_eq!(state.generation(), generation);
        // SAFETY: our CAS moved the slot out of OCCUPIED(generation): the value is initialised,
        // ordered before us by the Acquire, and no other thread will read it (tag is FREE now, and
        // the index is not on the free list until we push it).
        let value = unsafe { slot.take() };
        self.free.push(index);
        Some(value)
    }

    /// Claims slot `index` in `generation` (OCCUPIED -> BUSY), spinning while someone else holds it.
    fn claim(&self, index: usize, generation: u32) -> Option<Claim<'_, T>> {
        let slot = self.slots.get(index)?;
        let state = Self::live_step(slot, generation, |state| {
            // Acquire on success: as in `take_live`, we are about to read the value.
            slot.cas(state, state.claimed(), Ordering::Acquire, Ordering::Relaxed)
        })?;
        Some(Claim {
            slot,
            busy: state.claimed(),
            deadline_changed: false,
        })
    }

    /// Applies `transition` (a CAS out of OCCUPIED) to `slot` while it is live in `generation`:
    /// retries when the word moved under it, spins while the slot is BUSY, gives up once the
    /// occupant is gone. Returns the OCCUPIED word the transition succeeded from.
    fn live_step(
        slot: &Slot<T>,
        generation: u32,
        transition: impl Fn(State) -> Result<(), State>,
    ) -> Option<State> {
        let mut backoff = Backoff::new();
        // Relaxed: only a guess at the word; `transition`'s CAS acquires.
        let mut state = slot.load(Ordering::Relaxed);
        loop {
            if state.generation() != generation {
                return None;
            }
            match state.tag() {
                Tag::Free => return None,
                Tag::Occupied => match transition(state) {
                    Ok(()) => return Some(state),
                    Err(actual) => state = actual,
                },
                Tag::Busy => {
                    backoff.snooze();
                    state = slot.load(Ordering::Relaxed);
                }
            }
        }
    }
}

impl<T> Drop for PendingTable<T> {
    fn drop(&mut self) {
        for slot in self.slots.iter() {
            // Relaxed: `&mut self` means every other access has finished and been synchronised with
            // us (that is how we got exclusive access). No claim can be held either: claims borrow
            // the table, and one that unwinds restores OCCUPIED.
            if slot.load(Ordering::Relaxed).tag() != Tag::Free {
                // SAFETY: a non-FREE tag means the cell holds a value, and `&mut self` excludes any
                // other access to it.
                unsafe { slot.drop_value() };
            }
        }
    }
}

impl<T> std::fmt::Debug for PendingTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingTable")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

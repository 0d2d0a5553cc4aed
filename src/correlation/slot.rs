//! One slot of the pending table: its state word, deadline and value cell.
//!
//! State word = `epoch << 33 | generation << 2 | tag`. The transitions (`g` = generation, `e` =
//! epoch):
//!
//! ```text
//!  FREE(g) --insert (owner of the popped index, store)--> OCCUPIED(g, e)
//!  OCCUPIED(g, e) --complete/drain/expire (CAS)--> FREE(g+1)          value read out by the CAS winner
//!  OCCUPIED(g, e) --claim: with/set_deadline/find (CAS)--> BUSY(g, e)
//!  BUSY(g, e) --claim released (claimer, store)--> OCCUPIED(g, e), or OCCUPIED(g, e+1) if the
//!                                                   claimer changed the deadline
//! ```
//!
//! The epoch exists for `expire`: it reads the deadline, then CASes the exact word it loaded, so a
//! `set_deadline` in between (which bumps the epoch) makes the CAS fail instead of expiring the
//! entry under its old deadline. Expiry thus never claims a slot and never makes anyone spin. The
//! epoch has 31 bits; that CAS could only be fooled by 2^31 deadline changes inside its few-ns window.
//!
//! There is no separate WRITING state: a FREE slot is only ever written by the thread that popped its
//! index, and no transition starts from FREE, so FREE already means "not yours" to everyone else.
//! The only stores (not CAS) are made by a thread that owns the slot exclusively at that moment.

use std::mem::MaybeUninit;

use super::sync::{AtomicU64, Ordering, UnsafeCell};
use super::{next_generation, GEN_BITS};

const TAG_BITS: u32 = 2;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;
const EPOCH_SHIFT: u32 = TAG_BITS + GEN_BITS;
const EPOCH_MASK: u64 = u64::MAX >> EPOCH_SHIFT;

/// The slot's tag: what its value cell holds and who may touch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    /// No value; the slot is on the free list or owned by the inserter that popped it.
    Free,
    /// A live value; any thread may try to claim or take it by CAS.
    Occupied,
    /// A live value that one thread is reading or updating; others spin.
    Busy,
}

/// A decoded state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct State(u64);

impl State {
    const fn new(epoch: u64, generation: u32, tag: Tag) -> State {
        let tag = match tag {
            Tag::Free => 0,
            Tag::Occupied => 1,
            Tag::Busy => 2,
        };
        State(((epoch & EPOCH_MASK) << EPOCH_SHIFT) | ((generation as u64) << TAG_BITS) | tag)
    }

    /// An empty slot that will next be issued in `generation`.
    pub(super) const fn free(generation: u32) -> State {
        State::new(0, generation, Tag::Free)
    }

    pub(super) const fn tag(self) -> Tag {
        match self.0 & TAG_MASK {
            0 => Tag::Free,
            1 => Tag::Occupied,
            _ => Tag::Busy,
        }
    }

    pub(super) const fn generation(self) -> u32 {
        // Cannot truncate: the field is GEN_BITS (< 32) wide.
        ((self.0 >> TAG_BITS) & GEN_MASK) as u32
    }

    const fn epoch(self) -> u64 {
        self.0 >> EPOCH_SHIFT
    }

    /// This FREE slot, published with a value.
    pub(super) const fn occupied(self) -> State {
        State::new(0, self.generation(), Tag::Occupied)
    }

    /// This OCCUPIED slot, claimed.
    pub(super) const fn claimed(self) -> State {
        State::new(self.epoch(), self.generation(), Tag::Busy)
    }

    /// This BUSY slot, released; `deadline_changed` bumps the epoch (see the module docs).
    pub(super) const fn released(self, deadline_changed: bool) -> State {
        let epoch = self.epoch() + deadline_changed as u64;
        State::new(epoch, self.generation(), Tag::Occupied)
    }

    /// This slot after its value left: FREE, next generation.
    pub(super) fn vacated(self) -> State {
        State::free(next_generation(self.generation()))
    }
}

#[derive(Debug)]
pub(super) struct Slot<T> {
    state: AtomicU64,
    /// Opaque deadline of the current occupant. Written by the inserter before publishing and by a
    /// claimer while BUSY; read by scans (a stale read only delays or re-checks an expiry).
    pub(super) deadline: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    pub(super) fn new(generation: u32) -> Self {
        Slot {
            state: AtomicU64::new(State::free(generation).0),
            deadline: AtomicU64::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    #[inline]
    pub(super) fn load(&self, order: Ordering) -> State {
        State(self.state.load(order))
    }

    #[inline]
    pub(super) fn store(&self, state: State, order: Ordering) {
        self.state.store(state.0, order);
    }

    /// Strong CAS of the state word; `Err` carries the word actually found.
    #[inline]
    pub(super) fn cas(
        &self,
        current: State,
        new: State,
        success: Ordering,
        failure: Ordering,
    ) -> Result<(), State> {
        self.state
            .compare_exchange(current.0, new.0, success, failure)
            .map(drop)
            .map_err(State)
    }

    /// Puts a value into an empty slot.
    ///
    /// # Safety
    /// The caller owns the slot exclusively (popped its index from the free list) and it holds no value.
    #[inline]
    pub(super) unsafe fn write(&self, value: T) {
        // SAFETY: per the contract nobody else accesses the cell now; writing over an uninitialised
        // MaybeUninit leaks nothing.
        self.value.with_mut(|cell| unsafe { (*cell).write(value) });
    }

    /// Moves the value out, leaving the cell logically uninitialised.
    ///
    /// # Safety
    /// The cell holds a value, and the caller is the one thread entitled to take it (it won the CAS
    /// out of OCCUPIED, or it holds the claim), with that CAS's Acquire ordering it after the write.
    #[inline]
    pub(super) unsafe fn take(&self) -> T {
        // SAFETY: per the contract the value is initialised, visible to us, and no other thread will
        // read it again (its tag no longer says OCCUPIED/BUSY for this generation). `with_mut`
        // because moving out ends the value's life: loom then flags any read overlapping it.
        self.value
            .with_mut(|cell| unsafe { (*cell).assume_init_read() })
    }

    /// Runs `f` on the value in place.
    ///
    /// # Safety
    /// The cell holds a value and the caller holds the slot's claim (BUSY), so no one else reads or
    /// moves it while `f` runs.
    #[inline]
    pub(super) unsafe fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: per the contract the value is initialised and nobody writes or moves it until our
        // claim ends, which is after `f` returns.
        self.value
            .with(|cell| f(unsafe { (*cell).assume_init_ref() }))
    }

    /// Drops the value in place.
    ///
    /// # Safety
    /// The cell holds a value and no other thread can access the slot (the table is being dropped).
    pub(super) unsafe fn drop_value(&self) {
        // SAFETY: per the contract the value is initialised and nobody else can observe it again.
        self.value
            .with_mut(|cell| unsafe { (*cell).assume_init_drop() });
    }
}

//! One slot of the pending table: its state word, deadline and value cell.
//!
//! State word = `generation << TAG_BITS | tag`. The transitions (all on the word, `g` = generation):
//!
//! ```text
//!  FREE(g) --insert (owner of the popped index, store)--> OCCUPIED(g)
//!  OCCUPIED(g) --complete/drain (CAS)--> FREE(g+1)                 value read out by the CAS winner
//!  OCCUPIED(g) --claim: with/set_deadline/find/expire (CAS)--> BUSY(g)
//!  BUSY(g) --claim released (claimer, store)--> OCCUPIED(g)
//!  BUSY(g) --claim takes the value: expire (claimer, store)--> FREE(g+1)
//! ```
//!
//! There is no separate WRITING state: a FREE slot is only ever written by the thread that popped its
//! index, and no transition starts from FREE, so FREE already means "not yours" to everyone else.
//! The only stores (not CAS) are made by a thread that owns the slot exclusively at that moment.

use std::mem::MaybeUninit;

use super::sync::{AtomicU64, Ordering, UnsafeCell};

const TAG_BITS: u32 = 2;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

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

impl Tag {
    const fn bits(self) -> u64 {
        match self {
            Tag::Free => 0,
            Tag::Occupied => 1,
            Tag::Busy => 2,
        }
    }
}

/// Packs a state word.
#[inline]
pub(super) const fn word(generation: u32, tag: Tag) -> u64 {
    ((generation as u64) << TAG_BITS) | tag.bits()
}

/// Unpacks a state word's generation.
#[inline]
pub(super) const fn generation_of(word: u64) -> u32 {
    // Cannot truncate: words are built by `word` from a u32 generation.
    (word >> TAG_BITS) as u32
}

/// Unpacks a state word's tag.
#[inline]
pub(super) const fn tag_of(word: u64) -> Tag {
    match word & TAG_MASK {
        0 => Tag::Free,
        1 => Tag::Occupied,
        _ => Tag::Busy,
    }
}

#[derive(Debug)]
pub(super) struct Slot<T> {
    pub(super) state: AtomicU64,
    /// Opaque deadline of the current occupant. Written by the inserter before publishing and by a
    /// claimer while BUSY; read by scans (a stale read only delays or re-checks an expiry).
    pub(super) deadline: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    pub(super) fn new(generation: u32) -> Self {
        Slot {
            state: AtomicU64::new(word(generation, Tag::Free)),
            deadline: AtomicU64::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The slot's current state word.
    #[inline]
    pub(super) fn load(&self, order: Ordering) -> u64 {
        self.state.load(order)
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
        // read it again (its tag no longer says OCCUPIED/BUSY for this generation).
        self.value
            .with(|cell| unsafe { (*cell).assume_init_read() })
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

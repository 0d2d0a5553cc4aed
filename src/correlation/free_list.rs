//! The free-slot list: a Treiber stack of slot indices with an ABA tag.
//!
//! The head is one `AtomicU64`: the low 32 bits hold `top index + 1` (0 = empty), the high 32 bits a
//! tag bumped by every successful push and pop. Links live in `next` (`index + 1` of the slot below,
//! 0 = bottom).
//!
//! # Invariants
//!
//! * An index is either on the stack or owned by exactly one thread (popped and not yet pushed).
//!   The owner of an index is the only writer of `next[index]`.
//! * The classic ABA (pop reads top A and its link B, A is popped, reused and pushed back over a
//!   different link, then the stale CAS succeeds) needs the head to return to the same 64-bit value:
//!   same top *and* a tag that wrapped through 2^32 operations while one pop sat between its load and
//!   its CAS. A thread descheduled for minutes at exactly that instruction, with the count landing
//!   exactly, is not a realistic schedule.
//! * `next` is atomic because a pop may read a link while the owner of that index rewrites it; such a
//!   pop always fails its CAS (the tag moved), so the value it read is never used.

use super::sync::{AtomicU32, AtomicU64, Ordering};

/// The head word, on its own cache line: it is the one location every insert and complete writes.
#[repr(align(128))]
#[derive(Debug)]
struct PaddedHead(AtomicU64);

const TOP_MASK: u64 = 0xffff_ffff;
const TAG_ONE: u64 = 1 << 32;

#[derive(Debug)]
pub(super) struct FreeList {
    head: PaddedHead,
    next: Box<[AtomicU32]>,
}

impl FreeList {
    /// A stack holding every index of `0..capacity`, lowest on top (so a lightly loaded table keeps
    /// reusing the first few slots, which stay in cache). `capacity` must fit in a `u32` with room for
    /// the +1 encoding; the table caps it far below that.
    pub(super) fn full(capacity: usize) -> Self {
        debug_assert!(capacity > 0 && capacity < u32::MAX as usize);
        let next = (0..capacity)
            .map(|i| {
                let below = if i + 1 < capacity { i as u32 + 2 } else { 0 };
                AtomicU32::new(below)
            })
            .collect();
        FreeList {
            head: PaddedHead(AtomicU64::new(1)),
            next,
        }
    }

    /// Takes a free index; `None` when every slot is in use.
    pub(super) fn pop(&self) -> Option<usize> {
        // Acquire (here and on the CAS): pairs with the Release of the push that put the current top
        // there, so its link write and everything its pusher did with the slot (reading the old
        // value out) happen before we read the link and before our caller writes the slot.
        let mut head = self.head.0.load(Ordering::Acquire);
        loop {
            let top = (head & TOP_MASK) as u32;
            let index = top.checked_sub(1)? as usize;
            // Relaxed: the Acquire above made the pusher's link write visible; a newer value can only
            // come from a later pop+push of `index`, which moved the tag, so our CAS fails then.
            let below = self.next[index].load(Ordering::Relaxed);
            let new = ((head & !TOP_MASK).wrapping_add(TAG_ONE)) | u64::from(below);
            match self
                .head
                .0
                .compare_exchange_weak(head, new, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return Some(index),
                Err(actual) => head = actual,
            }
        }
    }

    /// Returns `index` to the stack. The caller must own it (popped it and not pushed it since).
    pub(super) fn push(&self, index: usize) {
        let top = index as u64 + 1;
        // Relaxed: we only need some recent head to try; the CAS validates it.
        let mut head = self.head.0.load(Ordering::Relaxed);
        loop {
            // Relaxed: published by the Release CAS below, together with our slot accesses.
            self.next[index].store((head & TOP_MASK) as u32, Ordering::Relaxed);
            let new = ((head & !TOP_MASK).wrapping_add(TAG_ONE)) | top;
            // Release on success: everything we did with the slot (including reading its value out)
            // happens before the next popper's Acquire, so its write of a new value cannot race.
            match self
                .head
                .0
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => head = actual,
            }
        }
    }
}

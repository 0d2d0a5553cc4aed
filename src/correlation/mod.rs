//! The pending-request table: which upstream request id belongs to which waiting client request.
//!
//! Every request the gateway forwards upstream gets a proxy-assigned id, a [`Key`], from a
//! [`PendingTable`]; the response (or a timeout, a cancellation, the upstream dying) takes the entry
//! out again. The table is on the hot path of every request, shared by the tasks of a multi-thread
//! runtime, so it is lock-free:
//!
//! * a fixed-capacity slot array allocated once (capacity = the in-flight limit, at most
//!   [`MAX_CAPACITY`]); no allocation after construction;
//! * each slot has one atomic state word (generation + FREE / OCCUPIED / BUSY + a deadline epoch,
//!   see `slot`) and its value in an `UnsafeCell<MaybeUninit<T>>`, plus an atomic deadline;
//! * free slot indices live on a Treiber stack whose head packs an ABA tag (`free_list`).
//!
//! # Invariants
//!
//! * A slot's value is initialised exactly when its tag is OCCUPIED or BUSY.
//! * Only the thread that popped a slot from the free list writes its value; only the thread whose
//!   CAS moved a slot out of OCCUPIED(g) to FREE(g+1) reads the value out; a BUSY claim only reads.
//!   So each inserted value is handed to exactly one of `complete`, `expire`, `drain` or the table's
//!   `Drop`.
//! * A key names (index, generation). Taking an entry bumps the slot's generation, so the old key is
//!   stale from that moment: it never matches the slot's next occupant (see [`GEN_BITS`] for the
//!   wrap horizon).
//!
//! # Blocking
//!
//! `insert`, `complete`, `expire`, `drain` and the scans never take a lock. The one wait is BUSY:
//! [`PendingTable::with`], [`PendingTable::set_deadline`] and [`PendingTable::find`] mark one slot
//! BUSY for the length of a short critical section, and an operation that needs that same slot
//! meanwhile (`complete`, `drain`, another claim, `expire` if the entry is due) spins
//! (`spin_loop`, then `yield_now`) until it is released. Closures given to `with` and `find` must
//! therefore be short and must not call back into the same table (that would spin on their own
//! slot forever). `expire` itself claims nothing, so timeouts never delay responses.
//!
//! Under `--cfg gatekit_loom` the atomics and the cell come from loom (`sync`), so `tests/loom_correlation.rs`
//! model-checks this exact code.

mod free_list;
pub mod model;
mod slot;
mod sync;
mod table;
#[cfg(all(test, not(gatekit_loom)))]
mod tests;

pub use table::PendingTable;

/// Bits of a [`Key`] that hold the slot index. 22 bits = about four million in-flight requests per
/// table, far above any sane in-flight limit, and it leaves [`GEN_BITS`] for the generation.
pub const INDEX_BITS: u32 = 22;

/// Hard cap on a table's capacity, so every index fits in [`INDEX_BITS`].
pub const MAX_CAPACITY: usize = 1 << INDEX_BITS;

/// Bits of a [`Key`] that hold the slot generation: the rest of a JSON-safe integer (< 2^53, the
/// largest range every JSON parser reads exactly, including JavaScript's).
///
/// Generations run 1..=2^31-1 and then wrap to 1 (0 is never used, so no key is ever `0`, which
/// protects upstreams that treat a falsy id as missing). A stale key (say, the late response to a
/// request that timed out) can only be mistaken for a live one if its slot went through a multiple
/// of 2^31-1 occupancies in between and is occupied at that instant. Free slots are reused LIFO, so
/// the hottest slot takes most of the reuse: even with every request of a 100k req/s upstream
/// passing through one slot, a wrap takes about six hours, and the late response would have to
/// arrive within that one occupancy's lifetime.
pub const GEN_BITS: u32 = 53 - INDEX_BITS;

const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Generation of a fresh slot (and after a wrap): never 0, so no key is ever 0.
const FIRST_GENERATION: u32 = 1;
/// Largest generation; the next one after it is [`FIRST_GENERATION`].
const GEN_MAX: u32 = (1 << GEN_BITS) - 1;
/// Keys are below this bound so they survive a round trip through any JSON number parser.
const KEY_LIMIT: u64 = 1 << 53;

/// A proxy-assigned request id: slot index + generation, packed so that it is a JSON-safe integer
/// (< 2^53). Layout: `generation << INDEX_BITS | index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(u64);

impl Key {
    pub(crate) fn new(index: usize, generation: u32) -> Key {
        debug_assert!(index < MAX_CAPACITY && generation <= GEN_MAX);
        Key((u64::from(generation) << INDEX_BITS) | index as u64)
    }

    /// The integer written on the wire as the upstream request id.
    pub fn to_u64(self) -> u64 {
        self.0
    }

    /// Parses a wire id; `None` when it cannot be a key (>= 2^53). A value that passes may still be
    /// unknown to the table, which then answers `None`/`false` for it.
    pub fn from_u64(v: u64) -> Option<Key> {
        (v < KEY_LIMIT).then_some(Key(v))
    }

    /// The slot index this key names.
    pub fn index(self) -> usize {
        (self.0 & INDEX_MASK) as usize
    }

    /// The slot generation this key names.
    pub fn generation(self) -> u32 {
        // Cannot truncate: keys are < 2^53, so the shifted value has at most GEN_BITS bits.
        (self.0 >> INDEX_BITS) as u32
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The generation a slot gets when its current occupant leaves: wraps within [`GEN_BITS`], skipping 0.
fn next_generation(generation: u32) -> u32 {
    if generation >= GEN_MAX {
        FIRST_GENERATION
    } else {
        generation + 1
    }
}

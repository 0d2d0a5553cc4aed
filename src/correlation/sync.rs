//! Synchronisation primitives of the correlation table, swapped for loom's under `--cfg gatekit_loom`.
//!
//! The std build re-exports `std::sync::atomic` and wraps `std::cell::UnsafeCell` in loom's
//! closure-based API (`with` / `with_mut`), so the table is written once against that API and loom can
//! track every access to a slot's value. [`Backoff`] is the only waiting the table ever does.
//!
//! The cfg is `gatekit_loom`, not the customary `loom`: tokio itself reacts to `--cfg loom` by
//! compiling out its net, process and signal drivers, which the rest of gatekit needs.

#[cfg(gatekit_loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(gatekit_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};

#[cfg(not(gatekit_loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// `std::cell::UnsafeCell` with loom's access API. Zero cost: both methods inline to a pointer.
#[cfg(not(gatekit_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(gatekit_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared pointer to the contents; the caller upholds aliasing rules.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with an exclusive pointer to the contents; the caller upholds aliasing rules.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Spins on a contended slot, politely: a few rounds of exponentially more `spin_loop` hints (the
/// holder is inside a short critical section on another core), then `yield_now` so a holder that the
/// OS descheduled on our core can run. Under loom every round is a `yield_now`, which is what lets
/// loom explore spin loops without running forever.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
}

/// Spin rounds before yielding: 2^0 + .. + 2^6 = 127 hints, roughly a microsecond, longer than any
/// `with`/`set_deadline` critical section should take.
#[cfg(not(gatekit_loom))]
const SPIN_LIMIT: u32 = 6;

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { step: 0 }
    }

    /// Waits a little before the caller looks at the slot again.
    pub(crate) fn snooze(&mut self) {
        #[cfg(gatekit_loom)]
        {
            self.step = self.step.saturating_add(1);
            loom::thread::yield_now();
        }
        #[cfg(not(gatekit_loom))]
        {
            if self.step <= SPIN_LIMIT {
                for _ in 0..(1u32 << self.step) {
                    std::hint::spin_loop();
                }
                self.step += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

//! [`DelayHeap`]: one timer structure per session for every delayed answer (a min-heap of
//! deadlines and a single `Sleep`), so ten thousand delayed calls cost ten thousand heap entries,
//! not ten thousand tasks or timers.
//!
//! Invariants: entries come out in deadline order, and entries with equal deadlines come out in
//! insertion order (serial mode relies on FIFO); [`DelayHeap::expired`] is cancel-safe because an
//! entry only leaves the heap after the sleep has completed, in the same poll.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::pin::Pin;

use tokio::time::{sleep_until, Instant, Sleep};

struct Entry<T> {
    at: Instant,
    seq: u64,
    value: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Values waiting for their deadline.
pub struct DelayHeap<T> {
    heap: BinaryHeap<Reverse<Entry<T>>>,
    seq: u64,
    sleep: Pin<Box<Sleep>>,
}

impl<T> std::fmt::Debug for DelayHeap<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayHeap")
            .field("len", &self.heap.len())
            .finish()
    }
}

impl<T> Default for DelayHeap<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> DelayHeap<T> {
    /// An empty heap.
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
            sleep: Box::pin(sleep_until(Instant::now())),
        }
    }

    /// Schedules `value` for `at`.
    pub fn insert(&mut self, at: Instant, value: T) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            value,
        }));
    }

    /// Number of waiting values.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Removes and returns the earliest value if its deadline is `<= now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.heap.peek()?.0.at <= now {
            self.heap.pop().map(|Reverse(e)| e.value)
        } else {
            None
        }
    }

    /// Waits until the earliest value is due and returns it; pending forever while empty (guard
    /// the `select!` branch with `!is_empty()`).
    pub async fn expired(&mut self) -> T {
        loop {
            let Some(Reverse(first)) = self.heap.peek() else {
                std::future::pending::<()>().await;
                continue;
            };
            let at = first.at;
            if let Some(v) = self.pop_due(Instant::now()) {
                return v;
            }
            if self.sleep.deadline() != at {
                self.sleep.as_mut().reset(at);
            }
            self.sleep.as_mut().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn fires_in_deadline_then_insertion_order() {
        let mut h = DelayHeap::new();
        let t0 = Instant::now();
        h.insert(t0 + Duration::from_millis(30), "c");
        h.insert(t0 + Duration::from_millis(10), "a");
        h.insert(t0 + Duration::from_millis(20), "b1");
        h.insert(t0 + Duration::from_millis(20), "b2");
        let mut got = Vec::new();
        while !h.is_empty() {
            got.push((h.expired().await, t0.elapsed().as_millis()));
        }
        assert_eq!(got, [("a", 10), ("b1", 20), ("b2", 20), ("c", 30)]);
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_wait_loses_nothing_and_earlier_insert_wins() {
        let mut h = DelayHeap::new();
        let t0 = Instant::now();
        h.insert(t0 + Duration::from_millis(100), 1);
        let timed_out = tokio::time::timeout(Duration::from_millis(10), h.expired()).await;
        assert!(timed_out.is_err());
        assert_eq!(h.len(), 1);
        h.insert(t0 + Duration::from_millis(50), 2);
        assert_eq!(h.expired().await, 2);
        assert_eq!(t0.elapsed().as_millis(), 50);
        assert_eq!(h.pop_due(Instant::now()), None);
        assert_eq!(h.expired().await, 1);
    }
}

//! One stdio connection to a target: a writer task and a reader task multiplexing one pipe by id.
//!
//! Owns: the shared [`State`] (outstanding table, answers queued for the target, phase flags)
//! and the [`Clock`]. The tasks live in [`crate::writer`] (scheduler + batched writes) and
//! [`crate::reader`] (line cutting, verification, recording).
//! Invariants:
//! - the state mutex is taken once per batch by each side and never held across `.await`;
//! - a request's id is in the table before its bytes are written, so no response can outrun it;
//! - the read buffer never holds more than [`MAX_LINE_BYTES`] of one line (longer lines are
//!   counted as oversized and discarded up to the next newline);
//! - nothing is allocated per request on either side once the buffers have reached size.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::slab::Table;

pub use crate::reader::{run_reader, ReaderConfig, ReaderEnd, MAX_LINE_BYTES};
pub use crate::writer::{run_writer, WriterConfig, WriterStats};

/// Nanoseconds since the run's start.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    t0: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self { t0: Instant::now() }
    }

    /// Nanoseconds since the start.
    pub fn now_ns(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64
    }

    /// The instant `ns` after the start.
    pub fn instant(&self, ns: u64) -> Instant {
        self.t0 + Duration::from_nanos(ns)
    }
}

/// What the writer and reader share.
#[derive(Debug)]
pub struct State {
    /// Outstanding requests.
    pub table: Table,
    /// Answers to server→client requests, written by the writer with its next batch.
    pub outbox: Vec<u8>,
    /// The writer will issue no more requests.
    pub issuing_done: bool,
    /// The runner asked the writer to close the target's stdin.
    pub close: bool,
    /// The target's output ended; nothing more can be answered.
    pub peer_closed: bool,
    /// The writer is waiting for a slot to free up (closed loop, or open loop at the cap).
    pub wants_room: bool,
    drained_signalled: bool,
}

/// The shared state plus its wake-ups.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    /// Wakes the writer: slots freed, answers queued, or close requested.
    pub writer_wake: Notify,
    /// Wakes the runner: issuing is done and nothing is in flight (or the target is gone).
    pub drained: Notify,
    /// Stops the reader (after the shutdown grace).
    pub stop_reader: Notify,
}

impl Shared {
    /// Shared state around `table`.
    pub fn new(table: Table) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                table,
                outbox: Vec::new(),
                issuing_done: false,
                close: false,
                peer_closed: false,
                wants_room: false,
                drained_signalled: false,
            }),
            writer_wake: Notify::new(),
            drained: Notify::new(),
            stop_reader: Notify::new(),
        })
    }

    /// Locks the state. A poisoned lock means a panic elsewhere already failed the run; the
    /// counters are still the best record of it, so keep going.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the writer to close the target's stdin.
    pub fn request_close(&self) {
        self.lock().close = true;
        self.writer_wake.notify_one();
    }

    /// Wakes the runner once issuing is done and nothing is in flight, or the target is gone.
    pub fn signal_drained_if_done(&self, st: &mut State) {
        let done = (st.issuing_done && st.table.in_flight() == 0) || st.peer_closed;
        if done && !st.drained_signalled {
            st.drained_signalled = true;
            self.drained.notify_one();
        }
    }
}

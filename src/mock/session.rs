//! One MCP session: the event loop that reads lines, dispatches them, fires delayed answers,
//! relays task events and client replies, and hands each turn's output to the writer in one piece.
//!
//! Invariants:
//! - The loop is the single owner of output order: everything written (answers, notifications,
//!   server->client requests, faults) is queued here, in the order it was decided.
//! - Handling a line never awaits; the only awaits are the `select!` itself, the stall gate and
//!   handing a turn's output to the writer (bounded channel = backpressure on reading).
//! - Every request gets at most one answer unless a fault asks for more; an answer to a request
//!   the client cancelled first is suppressed.
//! - After input EOF, no new work starts; the loop ends when in-flight work is done or after
//!   `--drain-timeout`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use serde_json::value::RawValue;
use tokio::io::AsyncRead;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval, sleep_until, Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::behaviour::Behaviour;
use super::lines::LineReader;
use super::rng::Rng;
use super::stall::StallGate;
use super::stats::Stats;
use super::tasks::{self, ClientReply, Event, TaskCtx, TaskKind, TASK_EVENTS};
use super::timers::DelayHeap;
use super::wire;
use super::writer::Out;

/// Cancelled ids remembered for answer suppression. Ids of requests that already finished are
/// never looked up again, so when the set fills it is simply cleared.
pub(crate) const MAX_TRACKED_CANCELS: usize = 65_536;

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Input reached EOF and all in-flight work finished.
    InputClosed,
    /// Input reached EOF and in-flight work was abandoned after `--drain-timeout`.
    DrainTimedOut,
    /// A crash fault: the process should exit with this code.
    Crash {
        /// Exit code.
        code: i32,
    },
    /// The `eof_no_newline` fault wrote its last bytes; the process should exit 0.
    EofNoNewline,
}

/// What the client declared in `initialize.capabilities` (the parts server->client requests need).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientCaps {
    /// `sampling` declared.
    pub sampling: bool,
    /// `elicitation` declared.
    pub elicitation: bool,
    /// `roots` declared.
    pub roots: bool,
}

/// A delayed answer waiting in the timer heap.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Raw request id (for cancellation).
    pub id: Bytes,
    /// What to write when due.
    pub out: Out,
}

/// What woke the loop.
enum Wake {
    Read(std::io::Result<usize>),
    Due(Pending),
    Task(Event),
    Tick,
    TasksDone,
    DrainTimeout,
}

/// Session state; see the module docs for the invariants.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) b: Arc<Behaviour>,
    /// Output of the current turn not yet handed to the writer.
    pub(crate) out: BytesMut,
    /// Reused buffer for building one call's answer.
    pub(crate) scratch: BytesMut,
    /// Special output items of this turn, in order, before `out`'s remaining bytes.
    queued: Vec<Out>,
    writer: mpsc::Sender<Out>,
    pub(crate) timers: DelayHeap<Pending>,
    /// Serial mode: when the one worker is free again.
    pub(crate) serial_free_at: Instant,
    pub(crate) rng: Rng,
    /// `initialize` received.
    pub(crate) initialized: bool,
    pub(crate) caps: ClientCaps,
    /// tools/call requests seen by this session.
    pub(crate) calls: u64,
    pub(crate) next_client_id: u64,
    pub(crate) client_pending: HashMap<u64, oneshot::Sender<ClientReply>>,
    pub(crate) cancelled: HashSet<Bytes>,
    events_tx: mpsc::Sender<Event>,
    events_rx: mpsc::Receiver<Event>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    pub(crate) stall: Arc<StallGate>,
    /// Set by a fault that ends the session.
    pub(crate) end: Option<SessionEnd>,
    pub(crate) input_open: bool,
    ticks: u64,
}

async fn tick(t: &mut Option<Interval>) {
    match t {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl Session {
    pub(crate) fn new(b: Arc<Behaviour>, writer: mpsc::Sender<Out>, stall: Arc<StallGate>) -> Self {
        let session_no = b
            .stats
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (events_tx, events_rx) = mpsc::channel(TASK_EVENTS);
        Self {
            rng: Rng::new(b.args.seed.wrapping_add(session_no)),
            b,
            out: BytesMut::with_capacity(64 * 1024),
            scratch: BytesMut::with_capacity(4096),
            queued: Vec::new(),
            writer,
            timers: DelayHeap::new(),
            serial_free_at: Instant::now(),
            initialized: false,
            caps: ClientCaps::default(),
            calls: 0,
            next_client_id: 0,
            client_pending: HashMap::new(),
            cancelled: HashSet::new(),
            events_tx,
            events_rx,
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            stall,
            end: None,
            input_open: true,
            ticks: 0,
        }
    }

    /// Runs the session until input EOF (plus drain) or a fault ends it.
    pub(crate) async fn run<R: AsyncRead + Unpin>(mut self, mut r: R) -> SessionEnd {
        let mut lines = LineReader::new(self.b.args.max_line_bytes);
        let mut ticker = self.b.args.notify_every.filter(|d| !d.is_zero()).map(|d| {
            let mut i = interval(d);
            i.set_missed_tick_behavior(MissedTickBehavior::Delay);
            i
        });
        let mut drain_deadline: Option<Instant> = None;
        let end = loop {
            let wake = tokio::select! {
                // Cancel-safe: read_buf only appends; partial lines stay in `lines`.
                res = lines.fill(&mut r), if self.input_open => Wake::Read(res),
                // Cancel-safe: an entry leaves the heap only once it is due, in the same poll.
                p = self.timers.expired(), if !self.timers.is_empty() => Wake::Due(p),
                // Cancel-safe: mpsc::Receiver::recv. The session holds a sender, so never None.
                Some(e) = self.events_rx.recv() => Wake::Task(e),
                // Cancel-safe: Interval::tick; ticks start once the client initialized.
                _ = tick(&mut ticker), if self.initialized => Wake::Tick,
                // Cancel-safe: waiting holds no state.
                _ = self.tracker.wait(), if !self.input_open && !self.tracker.is_empty() => Wake::TasksDone,
                // Cancel-safe: a sleep.
                _ = sleep_until(drain_deadline.unwrap_or_else(Instant::now)), if drain_deadline.is_some() => Wake::DrainTimeout,
            };
            // Nothing is handled while a stall lasts; what woke us waits with us.
            self.stall.wait_clear().await;
            match wake {
                Wake::Read(Ok(n)) if n > 0 => {
                    self.b.record(lines.tail(n));
                    let discarded = lines.drain(|line| self.handle_line(line));
                    for _ in 0..discarded {
                        Stats::bump(&self.b.stats.oversize_lines);
                    }
                }
                Wake::Read(res) => {
                    if let Err(e) = res {
                        tracing::warn!(error = %e, "input read failed; treating as EOF");
                    }
                    lines.finish(|line| self.handle_line(line));
                    self.input_closed();
                    drain_deadline = Some(Instant::now() + self.b.args.drain_timeout);
                }
                Wake::Due(p) => {
                    self.emit_answer(p.id, p.out);
                    let now = Instant::now();
                    while let Some(p) = self.timers.pop_due(now) {
                        self.emit_answer(p.id, p.out);
                    }
                }
                Wake::Task(e) => {
                    self.handle_event(e);
                    while let Ok(e) = self.events_rx.try_recv() {
                        self.handle_event(e);
                    }
                }
                Wake::Tick => {
                    self.ticks += 1;
                    let params = format!(
                        r#"{{"level":"info","logger":"gatekit-mock","data":{{"tick":{}}}}}"#,
                        self.ticks
                    );
                    wire::notification(&mut self.out, "notifications/message", params.as_bytes());
                }
                Wake::TasksDone => {}
                Wake::DrainTimeout => {
                    tracing::warn!(
                        delayed = self.timers.len(),
                        tasks = self.tracker.len(),
                        "drain timeout after input EOF; abandoning in-flight calls"
                    );
                    break SessionEnd::DrainTimedOut;
                }
            }
            self.flush_turn().await;
            if let Some(end) = self.end.take() {
                break end;
            }
            if !self.input_open
                && self.timers.is_empty()
                && self.tracker.is_empty()
                && self.events_rx.is_empty()
            {
                break SessionEnd::InputClosed;
            }
        };
        self.cancel.cancel();
        self.flush_turn().await;
        end
    }

    /// Input is gone: no new work, and no client reply can arrive any more.
    fn input_closed(&mut self) {
        self.input_open = false;
        self.tracker.close();
        // Dropping the reply senders tells waiting tasks at once.
        self.client_pending.clear();
    }

    /// Hands this turn's output to the writer.
    async fn flush_turn(&mut self) {
        if !self.out.is_empty() {
            self.queued.push(Out::Bytes(self.out.split().freeze()));
        }
        for item in self.queued.drain(..) {
            // A closed writer (after a final/close fault) discards, like a closed pipe would.
            if self.writer.send(item).await.is_err() {
                break;
            }
        }
    }

    /// Queues a special output item after everything written so far.
    pub(crate) fn push_special(&mut self, item: Out) {
        if !self.out.is_empty() {
            self.queued.push(Out::Bytes(self.out.split().freeze()));
        }
        if matches!(item, Out::Final(_)) {
            self.end = Some(SessionEnd::EofNoNewline);
        }
        self.queued.push(item);
    }

    /// Writes an answer unless its request was cancelled first.
    pub(crate) fn emit_answer(&mut self, id: Bytes, out: Out) {
        if !self.cancelled.is_empty() && self.cancelled.remove(&id) {
            Stats::bump(&self.b.stats.cancelled_answers);
            return;
        }
        Stats::bump(&self.b.stats.answers);
        match out {
            Out::Bytes(b) => self.out.extend_from_slice(&b),
            special => self.push_special(special),
        }
    }

    /// Spawns a conversation task for a tools/call.
    pub(crate) fn spawn_task(&mut self, id: &RawValue, start_at: Instant, kind: TaskKind) {
        let ctx = TaskCtx {
            events: self.events_tx.clone(),
            b: self.b.clone(),
            id: Bytes::copy_from_slice(id.get().as_bytes()),
            start_at,
        };
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                // Cancel-safe: the task's partial progress is abandoned on purpose.
                _ = cancel.cancelled() => {}
                _ = tasks::run(ctx, kind) => {}
            }
        });
    }

    fn handle_event(&mut self, e: Event) {
        match e {
            Event::Notify(b) => self.out.extend_from_slice(&b),
            Event::Answer { id, out } => self.emit_answer(id, out),
            Event::ClientRequest {
                method,
                params,
                reply,
            } => {
                if !self.input_open {
                    return; // dropping `reply` tells the task
                }
                let id = self.next_client_id;
                self.next_client_id += 1;
                self.client_pending.insert(id, reply);
                Stats::bump(&self.b.stats.client_requests);
                wire::request(&mut self.out, id, method, params.as_bytes());
            }
        }
    }
}

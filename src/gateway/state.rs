//! The state one gateway session shares between its tasks: upstream handles, the pending tables,
//! the client's sink, the negotiated session, counters and the clock.
//!
//! Invariants:
//! - a pending entry exists for exactly as long as a request is awaiting its answer; whoever takes
//!   it out of the table (response, timeout, cancellation, upstream exit) answers it, exactly once;
//! - every pending entry holds one permit of its upstream's in-flight semaphore, returned when the
//!   entry is taken out, so the table can never be full when an insert happens;
//! - no lock here is ever held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::stats::Stats;
use crate::config::UpstreamConfig;
use crate::correlation::{Key, PendingTable};
use crate::framing::writer::{FrameTx, OutFrame};

/// How many recently expired upstream ids are remembered to tell a late response from an unknown one.
pub const LATE_MEMORY: usize = 4096;
/// Capacity of the table of server→client requests awaiting the client's answer.
pub const SERVER_REQUEST_CAPACITY: usize = 4096;

/// Milliseconds since the session started, on tokio's clock (so paused-time tests control it).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    /// Starts the clock now.
    pub fn start() -> Self {
        Clock {
            epoch: Instant::now(),
        }
    }
    /// Milliseconds since start.
    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
    /// The deadline `d` from now, in clock milliseconds (at least 1 ms away).
    pub fn deadline(&self, d: Duration) -> u64 {
        self.now_ms().saturating_add((d.as_millis() as u64).max(1))
    }
}

/// Why a request the gateway made itself did not get an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the limit.
    Timeout(Duration),
    /// The upstream is not running (or went away while the request was pending).
    Unavailable(String),
    /// The answer was larger than `max_message_bytes`.
    Oversize(usize),
    /// The answer was not valid JSON-RPC (the text says why).
    Invalid(String),
}

/// Where a response goes once it arrives.
#[derive(Debug)]
pub enum Origin {
    /// The client asked; its reply goes to the client's sink (directly or into a batch).
    Client(Reply),
    /// The gateway asked (initialize, aggregated lists, fan-outs): the raw response frame.
    Internal(oneshot::Sender<Result<Bytes, Failure>>),
}

/// How a reply to the client is delivered.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Written to the client as its own line.
    Direct,
    /// Collected into the batch the request came in.
    Batch(Arc<BatchCollector>),
}

/// A pending upstream request.
#[derive(Debug)]
pub struct Pending {
    /// Who gets the answer.
    pub origin: Origin,
    /// The client's id bytes exactly as sent (empty for internal requests).
    pub client_id: Bytes,
    /// The client's progress token bytes exactly as sent, if it asked for progress.
    pub progress_token: Option<Bytes>,
    /// The latest the deadline may be pushed to by progress notifications.
    pub hard_deadline: u64,
}

/// A server→client request forwarded to the client, awaiting the client's answer.
#[derive(Debug)]
pub struct ServerRequest {
    /// Index of the upstream that asked.
    pub upstream: usize,
    /// The upstream's id bytes exactly as sent.
    pub upstream_id: Bytes,
}

/// Lifecycle of one upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpState {
    /// Not spawned yet, or between restarts.
    Starting,
    /// Process up, not initialized (the client has not sent `initialize` yet).
    Connected,
    /// Initialized: requests are routed to it.
    Ready,
    /// Gone for good (exited and restart disabled or exhausted, or failed to initialize).
    Failed(String),
}

/// What an upstream said about itself in its `initialize` result.
#[derive(Debug, Clone, Default)]
pub struct UpstreamInfo {
    /// Its `capabilities` object.
    pub capabilities: serde_json::Value,
    /// Its `instructions`, if any.
    pub instructions: Option<String>,
}

impl UpstreamInfo {
    /// Whether the upstream declared the server capability `name` (`tools`, `logging`, …).
    pub fn has(&self, name: &str) -> bool {
        self.capabilities.get(name).is_some_and(|v| !v.is_null())
    }
}

/// One configured upstream and everything routed to it.
#[derive(Debug)]
pub struct Upstream {
    /// Position in the config (and in [`Shared::upstreams`]).
    pub idx: usize,
    /// Its config.
    pub cfg: UpstreamConfig,
    /// Requests awaiting its answer, keyed by the upstream id the gateway assigned.
    pub table: PendingTable<Pending>,
    /// One permit per free table slot: acquiring one is how a full upstream applies backpressure.
    pub permits: Semaphore,
    /// Its request timeout.
    pub timeout: Duration,
    /// The current incarnation's writer, if one is running.
    link: RwLock<Option<FrameTx>>,
    /// Its lifecycle state.
    pub state: watch::Sender<UpState>,
    /// Its `initialize` result, once it is ready.
    info: RwLock<Option<Arc<UpstreamInfo>>>,
    /// Upstream ids recently taken out by timeout or cancellation.
    late: Mutex<VecDeque<u64>>,
    /// Set when a write to it waited out a whole request timeout (it stopped reading its input).
    pub stalled: AtomicBool,
}

impl Upstream {
    /// A new, not yet started upstream.
    pub fn new(idx: usize, cfg: UpstreamConfig, timeout: Duration, max_in_flight: usize) -> Self {
        let table = PendingTable::with_capacity(max_in_flight);
        let permits = Semaphore::new(table.capacity());
        Upstream {
            idx,
            cfg,
            table,
            permits,
            timeout,
            link: RwLock::new(None),
            state: watch::Sender::new(UpState::Starting),
            info: RwLock::new(None),
            late: Mutex::new(VecDeque::with_capacity(64)),
            stalled: AtomicBool::new(false),
        }
    }

    /// The upstream's configured name.
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// A sender to the current incarnation, if one is running.
    pub fn link(&self) -> Option<FrameTx> {
        self.link.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Installs (or clears) the current incarnation's writer.
    pub fn set_link(&self, tx: Option<FrameTx>) {
        *self.link.write().unwrap_or_else(|e| e.into_inner()) = tx;
    }

    /// Its `initialize` result, once ready.
    pub fn info(&self) -> Option<Arc<UpstreamInfo>> {
        self.info.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records its `initialize` result.
    pub fn set_info(&self, info: Option<Arc<UpstreamInfo>>) {
        *self.info.write().unwrap_or_else(|e| e.into_inner()) = info;
    }

    /// Whether requests can be routed to it now.
    pub fn is_ready(&self) -> bool {
        matches!(*self.state.borrow(), UpState::Ready)
    }

    /// A short text for errors saying why it is not ready.
    pub fn unavailable_reason(&self) -> String {
        match &*self.state.borrow() {
            UpState::Starting => "starting or restarting".to_owned(),
            UpState::Connected => "not initialized".to_owned(),
            UpState::Ready => "ready".to_owned(),
            UpState::Failed(why) => why.clone(),
        }
    }

    /// Takes a pending entry out and returns its permit.
    pub fn take(&self, key: Key) -> Option<Pending> {
        let p = self.table.complete(key)?;
        self.permits.add_permits(1);
        Some(p)
    }

    /// Remembers an id taken out by timeout or cancellation, so a late answer is classified as late.
    pub fn remember_late(&self, key: Key) {
        let mut late = self.late.lock().unwrap_or_else(|e| e.into_inner());
        if late.len() == LATE_MEMORY {
            late.pop_front();
        }
        late.push_back(key.to_u64());
    }

    /// Whether `id` was recently taken out by timeout or cancellation.
    pub fn was_late(&self, id: u64) -> bool {
        self.late
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id)
    }
}

/// The client's side of the session, fixed by its `initialize`.
#[derive(Debug, Clone)]
pub struct ClientSession {
    /// The negotiated protocol version.
    pub protocol_version: String,
    /// The `initialize` params sent to every upstream (client version, capabilities, clientInfo).
    pub upstream_init_params: Bytes,
    /// Client capability `roots`.
    pub roots: bool,
    /// Client capability `sampling`.
    pub sampling: bool,
    /// Client capability `elicitation`.
    pub elicitation: bool,
}

impl ClientSession {
    /// Whether the client can receive the server→client request `method`.
    pub fn accepts(&self, method: &str) -> bool {
        match method {
            "sampling/createMessage" => self.sampling,
            "elicitation/create" => self.elicitation,
            "roots/list" => self.roots,
            "ping" => true,
            _ => false,
        }
    }
}

/// Everything the session's tasks share.
#[derive(Debug)]
pub struct Shared {
    /// Upstreams in config order (enabled ones only).
    pub upstreams: Vec<Arc<Upstream>>,
    /// Upstream index by name.
    pub by_name: HashMap<String, usize>,
    /// The client's sink.
    pub client_tx: FrameTx,
    /// Server→client requests awaiting the client's answer.
    pub reverse: PendingTable<ServerRequest>,
    /// The client's session, once its `initialize` arrived.
    pub session: watch::Sender<Option<Arc<ClientSession>>>,
    /// Whether the client sent `notifications/initialized`.
    pub client_initialized: watch::Sender<bool>,
    /// Set once the gateway answered `initialize` (successfully or not).
    pub init_done: watch::Sender<bool>,
    /// Counters.
    pub stats: Stats,
    /// The session clock.
    pub clock: Clock,
    /// Frame limit for every reader.
    pub max_message_bytes: usize,
    /// Upstream initialize timeout.
    pub connection_timeout: Duration,
    /// Cancelled when the gateway shuts down (stops upstreams and background tasks).
    pub cancel: CancellationToken,
    /// Cancelled when the session cannot go on (e.g. no upstream could start): the gateway exits 1.
    pub fatal: CancellationToken,
    /// Tracks every task the session spawns.
    pub tracker: TaskTracker,
}

impl Shared {
    /// The upstream called `name`, if configured and enabled.
    pub fn upstream(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.by_name.get(name).map(|&i| &self.upstreams[i])
    }

    /// Whether the client finished the handshake (`notifications/initialized`).
    pub fn client_initialized(&self) -> bool {
        *self.client_initialized.borrow()
    }

    /// Delivers a reply to the client, directly or into its batch. Waits when the client's sink is
    /// full (backpressure); a closed sink means the client is gone, and the reply is dropped.
    pub async fn deliver(&self, reply: &Reply, frame: OutFrame) {
        match reply {
            Reply::Direct => {
                let _ = self.client_tx.send(frame).await;
            }
            Reply::Batch(batch) => {
                if let Some(done) = batch.add(frame) {
                    let _ = self.client_tx.send(done).await;
                }
            }
        }
    }

    /// Delivers a batch's share of the work being done: call once when every element was dispatched.
    pub async fn seal(&self, batch: &Arc<BatchCollector>) {
        if let Some(done) = batch.seal() {
            let _ = self.client_tx.send(done).await;
        }
    }
}

/// Collects the responses to one JSON-RPC batch and releases them as one array.
///
/// `remaining` starts at 1 (the dispatcher's seal) and grows by one per request element; each
/// response and the seal take one away, and whoever takes the last emits the array.
#[derive(Debug)]
pub struct BatchCollector {
    inner: Mutex<BatchInner>,
}

#[derive(Debug)]
struct BatchInner {
    remaining: usize,
    responses: Vec<Bytes>,
}

impl Default for BatchCollector {
    fn default() -> Self {
        BatchCollector {
            inner: Mutex::new(BatchInner {
                remaining: 1,
                responses: Vec::new(),
            }),
        }
    }
}

impl BatchCollector {
    /// Announces one more response to wait for.
    pub fn expect_one(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remaining += 1;
    }

    fn add(&self, frame: OutFrame) -> Option<OutFrame> {
        let bytes = match frame {
            OutFrame::One(b) => b,
            OutFrame::Spliced(parts) => {
                let mut v = Vec::with_capacity(parts.iter().map(Bytes::len).sum());
                for p in &parts {
                    v.extend_from_slice(p);
                }
                Bytes::from(v)
            }
        };
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.responses.push(bytes);
        inner.remaining = inner.remaining.saturating_sub(1);
        Self::finish(&mut inner)
    }

    fn seal(&self) -> Option<OutFrame> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.remaining = inner.remaining.saturating_sub(1);
        Self::finish(&mut inner)
    }

    fn finish(inner: &mut BatchInner) -> Option<OutFrame> {
        if inner.remaining > 0 || inner.responses.is_empty() {
            return None;
        }
        let responses = std::mem::take(&mut inner.responses);
        let mut parts = Vec::with_capacity(responses.len() * 2 + 1);
        for (i, r) in responses.into_iter().enumerate() {
            parts.push(Bytes::from_static(if i == 0 { b"[" } else { b"," }));
            parts.push(r);
        }
        parts.push(Bytes::from_static(b"]"));
        Some(OutFrame::Spliced(parts))
    }
}

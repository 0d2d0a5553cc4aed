//! One stdio connection to a target: a writer task and a reader task multiplexing one pipe by id.
//!
//! Owns: the shared [`State`] (outstanding table, answers queued for the target, phase flags),
//! the [`Clock`], and the two tasks. The writer is also the scheduler: it wakes when requests are
//! due (open loop) or slots free up (closed loop), serializes every due request from its
//! template into one buffer and hands the buffer to the pipe in one write. The reader cuts lines
//! with `memchr`, classifies and verifies each one, completes it in the table, and records.
//! Invariants:
//! - the state mutex is taken once per batch by each side and never held across `.await`;
//! - a request's id is in the table before its bytes are written, so no response can outrun it;
//! - the read buffer never holds more than [`MAX_LINE_BYTES`] of one line (longer lines are
//!   counted as oversized and discarded up to the next newline);
//! - nothing is allocated per request on either side once the buffers have reached size.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::Notify;

use crate::mix::{PayloadSource, Template};
use crate::schedule::{Arrivals, LoadModel, Plan};
use crate::slab::{Lookup, Sent, Table};
use crate::stats::{new_histogram, RunStats};
use crate::timer::PreciseTimer;
use crate::verify::{answer_server_request, check_result, Body, Incoming, ResponseId, Verdict};

/// Bytes requested per read. Large enough that a burst of small responses is one syscall.
const READ_CHUNK: usize = 256 * 1024;
/// Longest line accepted from a target (the mock's largest payload is 16 MiB, base64-expanded
/// and wrapped in JSON it stays below this).
pub const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;
/// A write batch is flushed once it reaches this size, so one huge backlog cannot build an
/// unbounded buffer; the rest follows in the next write, immediately.
const WRITE_BATCH_BYTES: usize = 1024 * 1024;

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

    fn signal_drained_if_done(&self, st: &mut State) {
        let done = (st.issuing_done && st.table.in_flight() == 0) || st.peer_closed;
        if done && !st.drained_signalled {
            st.drained_signalled = true;
            self.drained.notify_one();
        }
    }
}

/// What the writer needs.
#[derive(Debug)]
pub struct WriterConfig {
    /// Open or closed loop.
    pub model: LoadModel,
    /// Stop conditions and warm-up.
    pub plan: Plan,
    /// One template per mix entry.
    pub templates: Arc<Vec<Template>>,
    /// The mix (for the weighted pick).
    pub mix: crate::mix::Mix,
    /// Payload bytes.
    pub payload: Arc<PayloadSource>,
    /// Seed for picks and payload draws.
    pub seed: u64,
}

/// What the writer observed.
#[derive(Debug)]
pub struct WriterStats {
    /// Written minus scheduled, per measured request (open loop).
    pub backlog: hdrhistogram::Histogram<u64>,
    /// Sends delayed by the in-flight cap.
    pub capped_sends: u64,
    /// Requests written.
    pub sent: u64,
    /// Measured requests written.
    pub measured_sent: u64,
    /// Highest in-flight count.
    pub max_in_flight: u64,
    /// Set when the target stopped reading (broken pipe) before the plan was done.
    pub write_error: Option<String>,
}

/// Runs the writer until the runner asks it to close; then drops stdin (EOF for the target).
pub async fn run_writer(
    mut stdin: ChildStdin,
    shared: Arc<Shared>,
    cfg: WriterConfig,
    clock: Clock,
) -> WriterStats {
    let mut stats = WriterStats {
        backlog: new_histogram(),
        capped_sends: 0,
        sent: 0,
        measured_sent: 0,
        max_in_flight: 0,
        write_error: None,
    };
    let mut timer = PreciseTimer::new().ok();
    let mut arrivals = match cfg.model {
        LoadModel::Open { rate, poisson } => Some(Arrivals::new(rate, poisson, cfg.seed)),
        LoadModel::Closed { .. } => None,
    };
    let concurrency = match cfg.model {
        LoadModel::Closed { concurrency } => concurrency as usize,
        LoadModel::Open { .. } => usize::MAX,
    };
    let mut rng = crate::rng::Rng::new(cfg.seed, 0x3117);
    let mut wbuf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut issuing = true;
    // The latest time a due request found the table full: every request scheduled before it
    // waited for the cap.
    let mut last_full_ns = 0u64;
    loop {
        let now = clock.now_ns();
        let mut next_due = None;
        let close = {
            let mut st = shared.lock();
            if !st.outbox.is_empty() {
                wbuf.extend_from_slice(&st.outbox);
                st.outbox.clear();
            }
            if issuing && !st.close && !st.peer_closed {
                while wbuf.len() < WRITE_BATCH_BYTES {
                    let scheduled = match arrivals.as_ref() {
                        Some(a) => a.peek(),
                        None => now,
                    };
                    if !cfg.plan.may_issue(scheduled, stats.measured_sent) {
                        issuing = false;
                        break;
                    }
                    if scheduled > now {
                        next_due = Some(scheduled);
                        break;
                    }
                    if st.table.in_flight() >= concurrency {
                        break;
                    }
                    if !st.table.has_room() {
                        last_full_ns = now;
                        break;
                    }
                    let entry = cfg.mix.pick(&mut rng);
                    let tpl = &cfg.templates[entry];
                    let payload = if tpl.carries_payload {
                        cfg.payload.draw(&mut rng)
                    } else {
                        (0, 0)
                    };
                    let measured = cfg.plan.is_measured(scheduled);
                    let sent = Sent {
                        entry: entry as u16,
                        measured,
                        scheduled_ns: scheduled,
                        written_ns: now,
                        payload,
                    };
                    let Some(id) = st.table.insert(sent) else {
                        break;
                    };
                    tpl.write(&mut wbuf, id, cfg.payload.slice(payload.0, payload.1));
                    stats.sent += 1;
                    if measured {
                        stats.measured_sent += 1;
                        if arrivals.is_some() {
                            stats.backlog.saturating_record(now - scheduled);
                            if last_full_ns >= scheduled {
                                stats.capped_sends += 1;
                            }
                        }
                    }
                    if let Some(a) = arrivals.as_mut() {
                        a.advance();
                    }
                }
                stats.max_in_flight = stats.max_in_flight.max(st.table.in_flight() as u64);
                if !issuing {
                    st.issuing_done = true;
                    shared.signal_drained_if_done(&mut st);
                }
            }
            st.close || st.peer_closed
        };
        if !wbuf.is_empty() {
            if let Err(e) = stdin.write_all(&wbuf).await {
                stats.write_error = Some(e.to_string());
                let mut st = shared.lock();
                st.issuing_done = true;
                shared.signal_drained_if_done(&mut st);
                issuing = false;
            }
            wbuf.clear();
            continue;
        }
        if close {
            break;
        }
        match (next_due, timer.as_mut()) {
            (Some(t), Some(timer)) => {
                // Cancel safety: both futures are cancel-safe (see PreciseTimer::sleep_until;
                // a lost Notify wake-up is re-checked at the top of the loop).
                tokio::select! {
                    r = timer.sleep_until(clock.instant(t)) => {
                        if r.is_err() {
                            tokio::time::sleep_until(clock.instant(t).into()).await;
                        }
                    }
                    () = shared.writer_wake.notified() => {}
                }
            }
            (Some(t), None) => {
                tokio::select! {
                    () = tokio::time::sleep_until(clock.instant(t).into()) => {}
                    () = shared.writer_wake.notified() => {}
                }
            }
            // Closed loop, at the cap, or done issuing: only a freed slot, an answer to send,
            // or a close request can make progress.
            (None, _) => shared.writer_wake.notified().await,
        }
    }
    let _ = stdin.shutdown().await;
    drop(stdin);
    stats
}

/// What the reader needs to verify and record.
#[derive(Debug)]
pub struct ReaderConfig {
    /// One template per mix entry (whether it is a tool call, whether to verify the echo).
    pub templates: Arc<Vec<Template>>,
    /// Tool-call flag per entry.
    pub is_tool: Vec<bool>,
    /// Payload bytes, to compare echoes against.
    pub payload: Arc<PayloadSource>,
    /// Whether corrected latency is recorded (open loop).
    pub open_loop: bool,
    /// Warm-up end (ns), for the measured window.
    pub warmup_ns: u64,
    /// How often deadlines are checked.
    pub sweep_every: Duration,
}

/// Why the reader stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderEnd {
    /// The target closed its stdout.
    Eof,
    /// The runner stopped it.
    Stopped,
    /// A read failed.
    Error(String),
}

/// Runs the reader until EOF or stop; returns its statistics. `buf` holds bytes already read
/// (by the handshake) and not yet consumed.
pub async fn run_reader(
    mut stdout: ChildStdout,
    mut buf: BytesMut,
    shared: Arc<Shared>,
    cfg: ReaderConfig,
    clock: Clock,
) -> (RunStats, ReaderEnd) {
    let mut r = Reader {
        stats: RunStats::new(cfg.templates.len()),
        cfg,
        last_measured_end_ns: 0,
        freed: 0,
        answered: false,
    };
    // Bytes at the front of `buf` already searched for a newline (none yet: leftovers from the
    // handshake may hold complete lines, which the first read's scan will find).
    let mut scanned = 0usize;
    let mut discarding = false;
    if !buf.is_empty() {
        let now = clock.now_ns();
        let mut st = shared.lock();
        r.cut_lines(&mut buf, &mut scanned, &mut discarding, now, &mut st);
        r.after_batch(&shared, &mut st);
    }
    let mut sweep = tokio::time::interval(r.cfg.sweep_every);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let end = loop {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        // Cancel safety: `read_buf` either appends to `buf` and returns, or reads nothing, so no
        // bytes are lost when another branch wins; partial lines stay in `buf`.
        tokio::select! {
            biased;
            res = stdout.read_buf(&mut buf) => match res {
                Ok(0) => break ReaderEnd::Eof,
                Ok(_) => {
                    let now = clock.now_ns();
                    let mut st = shared.lock();
                    r.cut_lines(&mut buf, &mut scanned, &mut discarding, now, &mut st);
                    r.after_batch(&shared, &mut st);
                }
                Err(e) => break ReaderEnd::Error(e.to_string()),
            },
            _ = sweep.tick() => {
                let now = clock.now_ns();
                let mut st = shared.lock();
                r.expire(now, &mut st);
                r.after_batch(&shared, &mut st);
            }
            () = shared.stop_reader.notified() => break ReaderEnd::Stopped,
        }
    };
    if !buf.is_empty() && !discarding {
        // A last line without its newline: the target cut a message short.
        r.stats.errors.malformed += 1;
    }
    let now = clock.now_ns();
    let mut st = shared.lock();
    let stats = &mut r.stats;
    let mut lost_measured = false;
    st.table.abandon(|sent| {
        stats.errors.unanswered += 1;
        if sent.measured {
            stats.entries[usize::from(sent.entry)].ended += 1;
            lost_measured = true;
        }
    });
    if lost_measured {
        r.last_measured_end_ns = r.last_measured_end_ns.max(now);
    }
    st.peer_closed = true;
    shared.signal_drained_if_done(&mut st);
    shared.writer_wake.notify_one();
    drop(st);
    r.stats.measured_window_ns = r.last_measured_end_ns.saturating_sub(r.cfg.warmup_ns);
    (r.stats, end)
}

struct Reader {
    stats: RunStats,
    cfg: ReaderConfig,
    last_measured_end_ns: u64,
    freed: u32,
    answered: bool,
}

impl Reader {
    /// Handles every complete line in `buf` and drops it; keeps a partial last line.
    fn cut_lines(
        &mut self,
        buf: &mut BytesMut,
        scanned: &mut usize,
        discarding: &mut bool,
        now: u64,
        st: &mut State,
    ) {
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[*scanned..]) {
            let end = *scanned + i;
            if *discarding {
                *discarding = false;
            } else {
                self.line(&buf[start..end], now, st);
            }
            start = end + 1;
            *scanned = start;
        }
        buf.advance(start);
        *scanned = buf.len();
        if *discarding || buf.len() > MAX_LINE_BYTES {
            if !*discarding {
                self.stats.errors.oversized += 1;
            }
            // The rest of an oversized line is dropped as it arrives, up to its newline.
            buf.clear();
            *scanned = 0;
            *discarding = true;
        }
    }

    fn line(&mut self, line: &[u8], now: u64, st: &mut State) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let errors = &mut self.stats.errors;
        match Incoming::parse(line) {
            Incoming::Response {
                id: ResponseId::Load(id),
                body,
            } => match st.table.complete(id) {
                Lookup::Completed(sent) => {
                    self.freed += 1;
                    self.completed(sent, body, now);
                }
                Lookup::Late => errors.late += 1,
                Lookup::Duplicate => errors.duplicate += 1,
                Lookup::Unknown => errors.unknown_id += 1,
            },
            Incoming::Response {
                id: ResponseId::Foreign(_),
                ..
            } => errors.unknown_id += 1,
            Incoming::Request { id, method } => {
                if !st.peer_closed {
                    answer_server_request(&mut st.outbox, id, &method);
                    self.answered = true;
                }
                if method == "ping" {
                    self.stats.server.ping += 1;
                } else {
                    self.stats.server.other_requests += 1;
                }
            }
            Incoming::Notification { method } => {
                let n = &mut self.stats.server.notifications;
                match n.get_mut(method.as_ref()) {
                    Some(c) => *c += 1,
                    None => {
                        n.insert(method.into_owned(), 1);
                    }
                }
            }
            Incoming::Malformed => errors.malformed += 1,
        }
    }

    fn completed(&mut self, sent: Sent, body: Body<'_>, now: u64) {
        let e = usize::from(sent.entry);
        let tpl = &self.cfg.templates[e];
        let errors = &mut self.stats.errors;
        let ok = match body {
            Body::Result(r) => {
                let expected = tpl
                    .verify_echo
                    .then(|| self.cfg.payload.slice(sent.payload.0, sent.payload.1));
                match check_result(r, self.cfg.is_tool[e], expected) {
                    Verdict::Ok => true,
                    Verdict::ToolError => {
                        errors.tool_error += 1;
                        false
                    }
                    Verdict::Mismatch => {
                        errors.mismatched_payload += 1;
                        false
                    }
                    Verdict::Invalid => {
                        errors.invalid_response += 1;
                        false
                    }
                }
            }
            Body::Error(code) => {
                errors.rpc_error += 1;
                if let Some(code) = code {
                    *self.stats.rpc_error_codes.entry(code).or_default() += 1;
                }
                false
            }
            Body::Invalid => {
                errors.invalid_response += 1;
                false
            }
        };
        if !sent.measured {
            self.stats.warmup_ended += 1;
            return;
        }
        let es = &mut self.stats.entries[e];
        es.ended += 1;
        if ok {
            es.ok += 1;
        }
        // Every measured response has a latency, whatever its verdict; errors are counted apart.
        es.uncorrected
            .saturating_record(now.saturating_sub(sent.written_ns).max(1));
        if self.cfg.open_loop {
            es.corrected
                .saturating_record(now.saturating_sub(sent.scheduled_ns).max(1));
        }
        self.last_measured_end_ns = self.last_measured_end_ns.max(now);
    }

    fn expire(&mut self, now: u64, st: &mut State) {
        let stats = &mut self.stats;
        let mut freed = 0;
        let mut measured_expired = false;
        st.table.expire(now, |sent| {
            freed += 1;
            stats.errors.timeout += 1;
            if sent.measured {
                stats.entries[usize::from(sent.entry)].ended += 1;
                measured_expired = true;
            } else {
                stats.warmup_ended += 1;
            }
        });
        self.freed += freed;
        if measured_expired {
            self.last_measured_end_ns = self.last_measured_end_ns.max(now);
        }
    }

    fn after_batch(&mut self, shared: &Shared, st: &mut State) {
        if self.freed > 0 || self.answered {
            self.freed = 0;
            self.answered = false;
            shared.writer_wake.notify_one();
        }
        shared.signal_drained_if_done(st);
    }
}

//! The reader task: cut lines, classify, verify, complete, record.
//!
//! Owns: the read buffer, the per-run [`RunStats`] while the run lasts, deadline sweeps, and the
//! answers to server→client requests (queued for the writer).
//! Invariants: one timestamp per read batch (all its responses arrived together); the state
//! lock is taken once per batch or sweep and released before the next `.await`; the buffer
//! never holds more than [`MAX_LINE_BYTES`] of one line — longer lines are counted as oversized
//! and discarded up to the next newline; partial lines stay in the buffer across reads.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::process::ChildStdout;

use crate::conn::{Clock, Shared, State};
use crate::mix::{PayloadSource, Template};
use crate::slab::{Lookup, Sent};
use crate::stats::RunStats;
use crate::verify::{answer_server_request, check_result, Body, Incoming, ResponseId, Verdict};

/// Bytes requested per read. Large enough that a burst of small responses is one syscall.
const READ_CHUNK: usize = 256 * 1024;
/// Longest line accepted from a target (the mock's largest payload is 16 MiB; base64-expanded
/// and wrapped in JSON it stays below this).
pub const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;

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
        let wake = (self.freed > 0 && st.wants_room) || self.answered;
        self.freed = 0;
        self.answered = false;
        if wake {
            shared.writer_wake.notify_one();
        }
        shared.signal_drained_if_done(st);
    }
}

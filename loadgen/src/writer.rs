//! The writer task: scheduler and batched writer in one.
//!
//! Owns: deciding when each request is sent (open loop: at its scheduled time, from
//! [`Arrivals`]; closed loop: whenever fewer than N are in flight), serializing every due request
//! from its template into one buffer, and handing that buffer to the pipe in one write.
//! Invariants: a request's id is in the table before its bytes are written, so no response can
//! outrun it; scheduled times never move, so time spent waiting (timer slack, a full pipe, the
//! in-flight cap) shows up as backlog and in corrected latency, never hidden; the state lock is
//! released before every `.await`.

use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;

use crate::conn::{Clock, Shared};
use crate::mix::{PayloadSource, Template};
use crate::schedule::{Arrivals, LoadModel, Plan};
use crate::slab::Sent;
use crate::stats::new_histogram;
use crate::timer::PreciseTimer;

/// A write batch is flushed once it reaches this size, so one huge backlog cannot build an
/// unbounded buffer; the rest follows in the next write, immediately.
const WRITE_BATCH_BYTES: usize = 1024 * 1024;

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
            let mut blocked = false;
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
                        blocked = true;
                        break;
                    }
                    if !st.table.has_room() {
                        last_full_ns = now;
                        blocked = true;
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
            // Only a writer blocked on room wants to hear about every freed slot; an open-loop
            // writer sleeping on its timer would just wake up and go back to sleep.
            st.wants_room = blocked;
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

//! Upstream supervision: one task per configured upstream owns its incarnations.
//!
//! An incarnation = one connection (normally a child process): its writer task, its reader task,
//! its stderr drain, and its `initialize` handshake (with the client's protocol version and
//! capabilities, once the client's `initialize` has arrived; never twice per incarnation). When an
//! incarnation ends (EOF, exit, unreadable stream), every request pending on it fails at once, and
//! the upstream is restarted with exponential backoff if `restart_on_failure` allows and
//! `max_restart_attempts` is not used up. Timeouts never end an incarnation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncRead;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

use super::handshake;
use super::inbound;
use super::route::fail;
use super::state::{Failure, Shared, UpState, Upstream};
use super::stats::Stats;
use crate::framing::codec::{Frame, LineCodec};
use crate::framing::writer::{frame_channel, run_writer, OutFrame, WriterStats};
use crate::jsonrpc::error::notification_frame;
use crate::transport::child::{SIGTERM_GRACE, STDIN_CLOSE_GRACE};
use crate::transport::{Connection, Connector};

/// First restart delay; doubles per consecutive failure.
pub const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// Longest restart delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// An incarnation that lived this long resets the restart-attempt count.
pub const STABLE_RUN: Duration = Duration::from_secs(30);
/// Longest stderr line logged as is (longer ones are cut).
pub const STDERR_LINE_MAX: usize = 8 * 1024;
/// Stderr lines logged per second per upstream; the rest are counted, not logged.
pub const STDERR_LINES_PER_SEC: u32 = 200;
/// Read buffer for upstream stdout.
pub const READ_BUFFER: usize = 64 * 1024;

/// How an incarnation ended.
#[derive(Debug)]
enum Ended {
    /// The gateway is shutting down.
    Shutdown,
    /// The upstream went away (or never came up); the text says why.
    Lost(String),
}

/// Supervises `up` until the session is cancelled or restarts are used up.
pub async fn supervise(shared: Arc<Shared>, up: Arc<Upstream>, connector: Arc<dyn Connector>) {
    let mut attempts: u32 = 0;
    let mut incarnation: u64 = 0;
    loop {
        let started = Instant::now();
        let ended = match connector.connect(&up.cfg) {
            Ok(conn) => run_incarnation(&shared, &up, conn, incarnation).await,
            Err(e) => Ended::Lost(format!("failed to start: {e}")),
        };
        incarnation += 1;
        let why = match ended {
            Ended::Shutdown => "gateway shutting down".to_owned(),
            Ended::Lost(why) => why,
        };
        up.set_link(None);
        up.set_info(None);
        fail_all_pending(&shared, &up, &why).await;
        if shared.cancel.is_cancelled() {
            up.state
                .send_replace(UpState::Failed("gateway shutting down".to_owned()));
            return;
        }
        tracing::warn!(upstream = up.name(), "upstream ended: {why}");
        if started.elapsed() >= STABLE_RUN {
            attempts = 0;
        }
        if !up.cfg.restart_on_failure || attempts >= up.cfg.max_restart_attempts {
            let reason = if up.cfg.restart_on_failure {
                format!("{why}; gave up after {attempts} restart attempts")
            } else {
                format!("{why}; restart_on_failure is off")
            };
            tracing::error!(upstream = up.name(), "upstream failed for good: {reason}");
            up.state.send_replace(UpState::Failed(reason));
            return;
        }
        up.state.send_replace(UpState::Starting);
        let backoff = BACKOFF_BASE
            .saturating_mul(1u32 << attempts.min(16))
            .min(BACKOFF_MAX);
        attempts += 1;
        Stats::bump(&shared.stats.upstream_restarts);
        tokio::select! {
            // Cancel-safe: both branches only wait.
            _ = tokio::time::sleep(backoff) => {}
            _ = shared.cancel.cancelled() => {
                up.state.send_replace(UpState::Failed("gateway shutting down".to_owned()));
                return;
            }
        }
    }
}

async fn run_incarnation(
    shared: &Arc<Shared>,
    up: &Arc<Upstream>,
    conn: Connection,
    n: u64,
) -> Ended {
    let Connection {
        reader,
        writer,
        stderr,
        mut process,
    } = conn;
    let (tx, rx) = frame_channel();
    let writer_task =
        shared
            .tracker
            .spawn(run_writer(rx, writer, Arc::new(WriterStats::default())));
    let stderr_task = stderr.map(|s| {
        shared
            .tracker
            .spawn(drain_stderr(shared.clone(), up.clone(), s))
    });
    let mut reader_task = shared
        .tracker
        .spawn(read_upstream(shared.clone(), up.clone(), reader));
    up.set_link(Some(tx));
    up.state.send_replace(UpState::Connected);
    let sent_initialized = AtomicBool::new(false);

    // Phase 1: the handshake, once the client's initialize has arrived.
    let outcome = tokio::select! {
        // Cancel-safe: a JoinHandle can be polled again; the handshake future is dropped only
        // when the incarnation ends anyway.
        r = &mut reader_task => Some(Ended::Lost(reader_end_text(r))),
        _ = shared.cancel.cancelled() => Some(Ended::Shutdown),
        r = handshake::initialize_upstream(shared, up) => match r {
            Ok(info) => {
                up.set_info(Some(Arc::new(info)));
                up.state.send_replace(UpState::Ready);
                tracing::info!(upstream = up.name(), incarnation = n, "upstream ready");
                if shared.client_initialized() {
                    send_initialized_once(up, &sent_initialized).await;
                }
                // Anyone joining after the client got its initialize answer (a restart, or a slow
                // start) changes what the client sees.
                if *shared.init_done.borrow() {
                    announce_lists_changed(shared, up).await;
                }
                None
            }
            Err(why) => Some(Ended::Lost(format!("initialize failed: {why}"))),
        },
    };

    // Phase 2: running until EOF, exit or shutdown.
    let ended = match outcome {
        Some(e) => e,
        None => {
            let mut initialized_rx = shared.client_initialized.subscribe();
            loop {
                if shared.client_initialized() {
                    send_initialized_once(up, &sent_initialized).await;
                }
                tokio::select! {
                    // Cancel-safe: JoinHandle and watch/cancel waits can be re-polled.
                    r = &mut reader_task => break Ended::Lost(reader_end_text(r)),
                    _ = shared.cancel.cancelled() => break Ended::Shutdown,
                    changed = initialized_rx.changed() => {
                        if changed.is_err() {
                            break Ended::Shutdown;
                        }
                    }
                }
            }
        }
    };

    // Stop: close its stdin (the writer ends once the link is gone and queued frames are written),
    // then SIGTERM / SIGKILL its process group, and reap it.
    up.set_link(None);
    up.state.send_replace(UpState::Starting);
    let _ = tokio::time::timeout(STDIN_CLOSE_GRACE, writer_task).await;
    if let Some(p) = process.as_mut() {
        match p.stop(STDIN_CLOSE_GRACE, SIGTERM_GRACE).await {
            Ok(status) => tracing::info!(upstream = up.name(), "upstream process exited: {status}"),
            Err(e) => tracing::warn!(upstream = up.name(), "could not reap upstream process: {e}"),
        }
    }
    reader_task.abort();
    if let Some(t) = stderr_task {
        // Bounded: the pipe closes when the process group is gone.
        if tokio::time::timeout(Duration::from_millis(500), t)
            .await
            .is_err()
        {
            tracing::debug!(upstream = up.name(), "stderr drain did not finish");
        }
    }
    ended
}

fn reader_end_text(r: Result<ReaderEnd, tokio::task::JoinError>) -> String {
    match r {
        Ok(ReaderEnd::Eof) => "closed its stdout".to_owned(),
        Ok(ReaderEnd::Io(e)) => format!("read error: {e}"),
        Err(e) => format!("reader stopped: {e}"),
    }
}

/// Sends `notifications/initialized` to this incarnation at most once.
async fn send_initialized_once(up: &Upstream, sent: &AtomicBool) {
    if sent.swap(true, Ordering::AcqRel) {
        return;
    }
    if let Some(tx) = up.link() {
        let frame = notification_frame("notifications/initialized", None);
        let _ = tx.send(OutFrame::One(frame)).await;
    }
}

/// After a restart the upstream's tools, prompts and resources may differ: tell the client.
async fn announce_lists_changed(shared: &Shared, up: &Upstream) {
    let Some(info) = up.info() else { return };
    for (cap, method) in [
        ("tools", "notifications/tools/list_changed"),
        ("prompts", "notifications/prompts/list_changed"),
        ("resources", "notifications/resources/list_changed"),
    ] {
        if info.has(cap) {
            let _ = shared
                .client_tx
                .send(OutFrame::One(notification_frame(method, None)))
                .await;
        }
    }
}

/// Fails every request pending on `up`, and cancels server→client requests it had open.
async fn fail_all_pending(shared: &Shared, up: &Upstream, why: &str) {
    let mut drained = Vec::new();
    up.table.drain(&mut drained);
    for (_, p) in drained {
        up.permits.add_permits(1);
        Stats::bump(&shared.stats.upstream_failed_requests);
        fail(shared, up, p, Failure::Unavailable(why.to_owned())).await;
    }
    while let Some(key) = shared.reverse.find(|r| r.upstream == up.idx) {
        if shared.reverse.complete(key).is_some() {
            let params =
                serde_json::json!({ "requestId": key.to_u64(), "reason": "upstream went away" });
            let frame = notification_frame(
                "notifications/cancelled",
                Some(params.to_string().as_bytes()),
            );
            let _ = shared.client_tx.send(OutFrame::One(frame)).await;
        }
    }
}

/// How an upstream's reader ended.
#[derive(Debug)]
pub enum ReaderEnd {
    /// The upstream closed its stdout.
    Eof,
    /// Reading failed.
    Io(std::io::Error),
}

async fn read_upstream(
    shared: Arc<Shared>,
    up: Arc<Upstream>,
    reader: impl AsyncRead + Unpin,
) -> ReaderEnd {
    let mut frames = FramedRead::with_capacity(
        reader,
        LineCodec::new(shared.max_message_bytes),
        READ_BUFFER,
    );
    loop {
        match next_frame(&mut frames).await {
            None => return ReaderEnd::Eof,
            Some(Err(e)) => return ReaderEnd::Io(e),
            Some(Ok(Frame::Line(line))) => inbound::on_line(&shared, &up, line).await,
            Some(Ok(Frame::Oversize { prefix, len })) => {
                inbound::on_oversize(&shared, &up, &prefix, len).await
            }
        }
    }
}

/// Logs an upstream's stderr line by line, bounded in line length and rate.
async fn drain_stderr(shared: Arc<Shared>, up: Arc<Upstream>, stderr: impl AsyncRead + Unpin) {
    let mut frames = FramedRead::new(stderr, LineCodec::new(STDERR_LINE_MAX));
    let mut window = Instant::now();
    let mut in_window: u32 = 0;
    while let Some(Ok(frame)) = next_frame(&mut frames).await {
        if window.elapsed() >= Duration::from_secs(1) {
            window = Instant::now();
            in_window = 0;
        }
        in_window += 1;
        if in_window > STDERR_LINES_PER_SEC {
            Stats::bump(&shared.stats.stderr_lines_suppressed);
            continue;
        }
        match frame {
            Frame::Line(line) => {
                tracing::info!(target: "gatekit::upstream_stderr", upstream = up.name(), "{}", String::from_utf8_lossy(&line));
            }
            Frame::Oversize { prefix, len } => {
                tracing::info!(
                    target: "gatekit::upstream_stderr",
                    upstream = up.name(),
                    "{}… [{len} bytes, cut]",
                    String::from_utf8_lossy(&prefix)
                );
            }
        }
    }
}

/// The next decoded frame. Cancel-safe: partial frames stay in the codec's buffer.
pub async fn next_frame<R, D>(frames: &mut FramedRead<R, D>) -> Option<Result<D::Item, D::Error>>
where
    R: AsyncRead + Unpin,
    D: tokio_util::codec::Decoder,
{
    use futures_core::Stream;
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *frames).poll_next(cx)).await
}

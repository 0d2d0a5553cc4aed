//! The public entry points: [`serve`] and [`serve_session`] run one MCP session over any
//! `AsyncRead`/`AsyncWrite` pair (real pipes in the binary, `tokio::io::duplex` in benches and
//! tests).
//!
//! Invariants: the session loop and its writer run inside the caller's task (no spawn, so no
//! `'static` bound on the streams); the writer is the only thing that touches `w`; once the
//! session has ended the writer gets at most [`EXIT_FLUSH_TIMEOUT`] to deliver what is queued.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use super::behaviour::Behaviour;
use super::session::{Session, SessionEnd};
use super::stall::StallGate;
use super::writer::{self, WRITER_QUEUE};

/// How long queued output may take to drain after the session ended; bounds exit when the client
/// stopped reading.
pub const EXIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one MCP session: reads newline-delimited JSON-RPC from `r`, writes to `w`, until `r`
/// reaches EOF and in-flight calls finish (bounded by `--drain-timeout`), or a fault ends it.
pub async fn serve<R, W>(behaviour: Arc<Behaviour>, r: R, w: W) -> io::Result<()>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    serve_session(behaviour, r, w).await.map(|_| ())
}

/// Like [`serve`], but says how the session ended, so a process can turn crash faults into exit
/// codes.
pub async fn serve_session<R, W>(behaviour: Arc<Behaviour>, r: R, w: W) -> io::Result<SessionEnd>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let args = &behaviour.args;
    let stall = Arc::new(StallGate::new(
        args.stall,
        args.stall_once_after
            .map(|after| (after, args.stall_once_for)),
    ));
    let (tx, rx) = mpsc::channel(WRITER_QUEUE);
    let session = Session::new(behaviour.clone(), tx, stall.clone());
    let session_fut = session.run(r);
    let writer_fut = writer::run(w, rx, stall);
    tokio::pin!(session_fut, writer_fut);

    let mut writer_done = false;
    let end = loop {
        tokio::select! {
            // Cancel-safe: both futures are pinned outside the loop and polled again next turn.
            end = &mut session_fut => break end,
            res = &mut writer_fut, if !writer_done => {
                writer_done = true;
                res?;
            }
        }
    };
    if !writer_done {
        // The session dropped its sender, so the writer finishes once its queue is written.
        match tokio::time::timeout(EXIT_FLUSH_TIMEOUT, &mut writer_fut).await {
            Ok(res) => res?,
            Err(_) => tracing::warn!("client is not reading; dropping unwritten output at exit"),
        }
    }
    Ok(end)
}

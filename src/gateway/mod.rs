//! The gateway: one MCP client session in front of any number of upstream MCP servers.
//!
//! Tasks of a session (all spawned here or by the supervisors, all tracked):
//! - the **client reader** (this task): frames from the client → [`client`] dispatch;
//! - the **client writer**: the only writer of the client's stdout, batching;
//! - per upstream a **supervisor** ([`upstream`]) owning its incarnations, each with a reader
//!   ([`inbound`]), a writer and a stderr drain;
//! - one **sweeper** ([`timeouts`]) for every deadline;
//! - short-lived fan-out tasks ([`aggregate`], [`handshake`]).
//!
//! Shutdown (stdin EOF, a signal, or a fatal startup failure): stop reading the client, let
//! in-flight requests finish within `shutdown_grace`, then stop every upstream (close stdin,
//! SIGTERM, SIGKILL), fail what is left, flush the client's stdout, and report.

pub mod aggregate;
pub mod client;
pub mod handshake;
pub mod inbound;
pub mod namespace;
pub mod route;
pub mod state;
pub mod stats;
pub mod timeouts;
pub mod upstream;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::correlation::PendingTable;
use crate::framing::writer::{frame_channel, run_writer, WriterStats};
use crate::transport::Connector;
use client::ClientExit;
use state::{Clock, Shared, Upstream, SERVER_REQUEST_CAPACITY};
pub use stats::StatsSnapshot;

/// How often the drain phase checks whether in-flight work is done.
const DRAIN_POLL: Duration = Duration::from_millis(5);
/// Longest wait for the session's tasks after upstreams were told to stop.
const TASKS_GRACE: Duration = Duration::from_secs(10);

/// How a session ended.
#[derive(Debug)]
pub struct RunReport {
    /// What ended it.
    pub reason: String,
    /// Process exit code: 0, or 1 when the session could not start (no upstream came up).
    pub exit_code: i32,
    /// Requests still pending when the grace period ran out (they were failed).
    pub abandoned: usize,
    /// The counters at the end.
    pub stats: StatsSnapshot,
}

/// Runs one gateway session over the client's byte streams until EOF, `shutdown`, or a fatal
/// startup failure.
pub async fn run<R, W, S>(
    config: &Config,
    connector: Arc<dyn Connector>,
    client_r: R,
    client_w: W,
    shutdown: S,
) -> RunReport
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
    S: Future<Output = ()>,
{
    let proxy = &config.proxy;
    let upstreams: Vec<Arc<Upstream>> = config
        .enabled_upstreams()
        .enumerate()
        .map(|(idx, u)| {
            let timeout = u.effective_request_timeout(proxy);
            let max = u.effective_max_in_flight(proxy);
            Arc::new(Upstream::new(idx, u.clone(), timeout, max))
        })
        .collect();
    let by_name: HashMap<String, usize> = upstreams
        .iter()
        .map(|u| (u.name().to_owned(), u.idx))
        .collect();
    let (client_tx, client_rx) = frame_channel();
    let shared = Arc::new(Shared {
        upstreams,
        by_name,
        client_tx,
        reverse: PendingTable::with_capacity(SERVER_REQUEST_CAPACITY),
        session: watch::Sender::new(None),
        client_initialized: watch::Sender::new(false),
        init_done: watch::Sender::new(false),
        stats: Default::default(),
        clock: Clock::start(),
        max_message_bytes: proxy.max_message_bytes,
        connection_timeout: proxy.connection_timeout,
        cancel: CancellationToken::new(),
        fatal: CancellationToken::new(),
        tracker: TaskTracker::new(),
    });
    let writer_stats = Arc::new(WriterStats::default());
    let client_writer = tokio::spawn(run_writer(client_rx, client_w, writer_stats));
    let supervisors: Vec<_> = shared
        .upstreams
        .iter()
        .map(|up| {
            tokio::spawn(upstream::supervise(
                shared.clone(),
                up.clone(),
                connector.clone(),
            ))
        })
        .collect();
    let sweeper = tokio::spawn(timeouts::run_sweeper(shared.clone()));

    let stop = CancellationToken::new();
    let reader = client::run_client_reader(shared.clone(), client_r, stop.clone());
    tokio::pin!(reader);
    tokio::pin!(shutdown);
    let exit = tokio::select! {
        // Cancel-safe: the reader future is polled to completion or dropped at shutdown, and
        // partial frames only live in its codec.
        e = &mut reader => e,
        _ = &mut shutdown => {
            stop.cancel();
            reader.await
        }
    };
    let fatal = shared.fatal.is_cancelled();
    let reason = match exit {
        ClientExit::Eof => "client closed stdin".to_owned(),
        ClientExit::Io(e) => format!("client read error: {e}"),
        ClientExit::Stopped if fatal => "no upstream could be started".to_owned(),
        ClientExit::Stopped => "shutdown signal".to_owned(),
    };
    tracing::info!("session ending: {reason}");

    // Drain: in-flight requests get up to the grace period to finish.
    let deadline = tokio::time::Instant::now() + proxy.shutdown_grace;
    while in_flight(&shared) > 0 && tokio::time::Instant::now() < deadline && !fatal {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let abandoned = in_flight(&shared);
    if abandoned > 0 {
        tracing::warn!(
            abandoned,
            "grace period over; failing requests still in flight"
        );
    }
    shared.cancel.cancel();
    for s in supervisors {
        let _ = s.await;
    }
    let _ = sweeper.await;
    shared.tracker.close();
    if tokio::time::timeout(TASKS_GRACE, shared.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some session tasks did not finish in time");
    }
    let stats = shared.stats.snapshot();
    drop(shared);
    match tokio::time::timeout(TASKS_GRACE, client_writer).await {
        Ok(Ok(Ok(_))) => {}
        Ok(Ok(Err(e))) => tracing::debug!("client stdout closed: {e}"),
        Ok(Err(e)) => tracing::error!("client writer failed: {e}"),
        Err(_) => tracing::warn!("client writer did not finish in time"),
    }
    let json = serde_json::to_string(&stats).unwrap_or_default();
    tracing::info!(target: "gatekit::stats", "gatekit stats: {json}");
    RunReport {
        reason,
        exit_code: if fatal { 1 } else { 0 },
        abandoned,
        stats,
    }
}

fn in_flight(shared: &Shared) -> usize {
    shared
        .upstreams
        .iter()
        .map(|u| u.table.len())
        .sum::<usize>()
        + shared.reverse.len()
}

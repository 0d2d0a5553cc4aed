//! Shutdown signals: SIGTERM and SIGINT end the session gracefully (see [`crate::gateway::run`]).

/// Completes on the first SIGTERM or SIGINT. If the handlers cannot be installed, never completes
/// (stdin EOF still ends the session).
pub async fn signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        // Cancel-safe: signal streams can be polled again.
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

//! The mock as a process on stdio: takes ownership of fd 0 and fd 1 as non-blocking pipes
//! (`tokio::io::stdout()` is blocking-pool backed and far slower per flushed message), falls back
//! to file-backed I/O when they are not pipes, and runs the process-wide behaviours (SIGTERM
//! handling, stderr flood).
//!
//! Invariants: nothing else in the process writes to fd 1 (the library never prints), so owning
//! it is sound; dropping the writer closes fd 1, which is what `close_stdout` relies on.

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;
use tokio::signal::unix::{signal, SignalKind};

use super::behaviour::Behaviour;
use super::server::serve_session;
use super::session::SessionEnd;
use super::tasks::write_stderr;

/// The stderr flood writes in this many slices per second.
const FLOOD_TICKS_PER_SEC: u64 = 100;

type Reader = Pin<Box<dyn AsyncRead + Send>>;
type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// Takes ownership of a standard descriptor.
fn take_fd(fd: i32) -> File {
    // SAFETY: fds 0 and 1 are open for the whole process (the OS sets them up before main), and
    // this module is their only owner: the mock never uses std's stdin/stdout handles, which
    // borrow the descriptors without owning them.
    File::from(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn is_pipe(f: &File) -> bool {
    f.metadata().is_ok_and(|m| m.file_type().is_fifo())
}

fn stdin() -> io::Result<Reader> {
    let f = take_fd(0);
    Ok(if is_pipe(&f) {
        Box::pin(pipe::Receiver::from_file(f)?)
    } else {
        Box::pin(tokio::fs::File::from_std(f))
    })
}

fn stdout() -> io::Result<Writer> {
    let f = take_fd(1);
    Ok(if is_pipe(&f) {
        Box::pin(pipe::Sender::from_file(f)?)
    } else {
        Box::pin(tokio::fs::File::from_std(f))
    })
}

/// Floods stderr at `bytes_per_sec` until the process ends.
async fn flood_stderr(bytes_per_sec: u64) {
    let per_tick = usize::try_from(bytes_per_sec / FLOOD_TICKS_PER_SEC)
        .unwrap_or(usize::MAX)
        .max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / FLOOD_TICKS_PER_SEC));
    loop {
        tick.tick().await;
        write_stderr(per_tick).await;
    }
}

/// Runs one session on the process's stdin/stdout. Call inside a tokio runtime; the caller maps
/// the result to an exit code ([`SessionEnd::Crash`] carries its own).
pub async fn run(behaviour: Arc<Behaviour>) -> io::Result<SessionEnd> {
    if behaviour.args.ignore_sigterm {
        // Registering a handler replaces the default "terminate" action for the process.
        let mut term = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            while term.recv().await.is_some() {
                tracing::warn!("SIGTERM received and ignored (--ignore-sigterm)");
            }
        });
    }
    if let Some(rate) = behaviour.args.stderr_flood {
        tokio::spawn(flood_stderr(rate));
    }
    serve_session(behaviour, stdin()?, stdout()?).await
}

//! The gateway's own stdin/stdout.
//!
//! `tokio::io::stdout()` is backed by the blocking thread pool (one hand-off per write, measured ~90×
//! slower per flushed message), so when fd 0/1 are pipes — the normal case for an MCP client that
//! launched us — they are driven as non-blocking pipes through tokio's reactor. Anything else (a
//! terminal, a regular file, a socket) falls back to `tokio::io`.

use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

/// Boxed reader half of a byte transport.
pub type BoxRead = Pin<Box<dyn AsyncRead + Send>>;
/// Boxed writer half of a byte transport.
pub type BoxWrite = Pin<Box<dyn AsyncWrite + Send>>;

/// Returns the gateway's own stdin and stdout as async byte streams.
///
/// Must be called from within a tokio runtime.
pub fn own_stdio() -> io::Result<(BoxRead, BoxWrite)> {
    let reader: BoxRead = match dup_fd(io::stdin().as_fd()).and_then(pipe::Receiver::from_owned_fd)
    {
        Ok(rx) => Box::pin(rx),
        Err(_) => Box::pin(tokio::io::stdin()),
    };
    let writer: BoxWrite = match dup_fd(io::stdout().as_fd()).and_then(pipe::Sender::from_owned_fd)
    {
        Ok(tx) => Box::pin(tx),
        Err(_) => Box::pin(tokio::io::stdout()),
    };
    Ok((reader, writer))
}

fn dup_fd(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<std::os::fd::OwnedFd> {
    fd.try_clone_to_owned()
}

//! How the gateway obtains a byte connection to an upstream.
//!
//! Production uses [`ProcessConnector`] (a child process per upstream incarnation); tests and the
//! in-process end-to-end bench plug in duplex pipes to an in-process mock server, so the whole
//! gateway runs under paused tokio time.

use std::fmt;
use std::io;

use super::child::{ChildPipes, ChildProcess};
use super::stdio::{BoxRead, BoxWrite};
use crate::config::UpstreamConfig;

/// One live byte connection to an upstream.
pub struct Connection {
    /// Upstream → gateway protocol bytes.
    pub reader: BoxRead,
    /// Gateway → upstream protocol bytes; dropping it closes the upstream's stdin.
    pub writer: BoxWrite,
    /// The upstream's log stream, if it has one.
    pub stderr: Option<BoxRead>,
    /// The process behind the connection, if any.
    pub process: Option<ChildProcess>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("process", &self.process)
            .finish_non_exhaustive()
    }
}

/// Opens connections to upstreams.
pub trait Connector: Send + Sync + 'static {
    /// Opens a new connection (a new incarnation) for `cfg`.
    fn connect(&self, cfg: &UpstreamConfig) -> io::Result<Connection>;
}

/// Spawns each upstream as a child process (its own process group, piped stdio).
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessConnector;

impl Connector for ProcessConnector {
    fn connect(&self, cfg: &UpstreamConfig) -> io::Result<Connection> {
        let (
            process,
            ChildPipes {
                stdin,
                stdout,
                stderr,
            },
        ) = ChildProcess::spawn(cfg)?;
        Ok(Connection {
            reader: Box::pin(stdout),
            writer: Box::pin(stdin),
            stderr: Some(Box::pin(stderr)),
            process: Some(process),
        })
    }
}

//! Byte transports: the gateway's own stdio (the client that launched us) and upstream connections
//! (child processes spoken to over pipes, or in-process duplex pipes for tests and benches).
//!
//! Transports only move bytes; framing, routing and correlation live elsewhere.

pub mod child;
pub mod connector;
pub mod stdio;

pub use connector::{Connection, Connector, ProcessConnector};

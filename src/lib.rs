//! gatekit: a lean, concurrent, zero-copy MCP gateway.
//!
//! The pipeline, in the order a message travels through it:
//!
//! 1. [`transport`] reads bytes from the client (our own stdio) or from an upstream child process.
//! 2. [`framing`] cuts newline-delimited frames as [`bytes::Bytes`] without copying, with a mandatory
//!    size limit, and batches writes through one writer task per sink.
//! 3. [`jsonrpc`] scans the JSON-RPC envelope (kind, id span, method, `params.name`/`uri`,
//!    progress token) without building a DOM, and writes every error frame the gateway emits.
//! 4. [`gateway`] routes: answers locally, routes by `server__name` prefix, or fans out and merges.
//! 5. [`correlation`] holds pending requests in a lock-free slot table; upstream ids are
//!    proxy-assigned integers (slot + generation), client ids are restored byte for byte.
//! 6. The response travels back the same way, its id spliced back in.
//!
//! [`config`] loads the Gatekit-compatible YAML, [`mock`] is the behaviour-driven MCP server used by
//! tests, benches and the load generator, and [`observe`] holds logging and metrics.

pub mod cli;
pub mod config;
pub mod correlation;
pub mod error;
pub mod framing;
pub mod gateway;
pub mod jsonrpc;
pub mod mock;
pub mod observe;
pub mod shutdown;
pub mod transport;

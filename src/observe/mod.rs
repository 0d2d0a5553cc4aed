//! Observability: the gateway's own log (more — metrics, the loop-lag probe — joins it here).
//!
//! Nothing in this module writes to stdout: in stdio mode stdout is the MCP protocol channel.

pub mod logging;

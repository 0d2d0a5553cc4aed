//! `gatekit-mock`: a real, fast MCP server whose behaviour is set by flags, shared by the
//! gateway's integration tests, the criterion benches (in-process over `tokio::io::duplex`) and
//! the load generator (over one stdio pipe).
//!
//! How a line travels: [`lines`] cuts it from a `BytesMut` with `memchr`; [`dispatch`] parses it
//! into borrowed [`wire`] structs (ids, params and arguments stay `&RawValue`, no DOM) and routes
//! it to [`methods`] or [`tools`] (answers built by [`answers`]) inside the [`session`] loop; the
//! answer is appended to the turn's output at once, or
//! parked on the session's [`timers`] heap (service time, serial queue, lateness), or produced by
//! a [`tasks`] task (progress, sampling, elicitation, roots); at the end of each turn the output
//! goes to the [`writer`], which drains its queue and writes it with one flush.
//!
//! Faults ([`faults`], flags in [`args`]) compose with all of this: they change what is written
//! or when, never how the rest of the session works. Counters live in [`stats`]; [`stdio`] runs a
//! session as a process.
//!
//! Public API: [`serve`] / [`serve_session`] and [`Behaviour`] (built from [`MockArgs`]).

pub mod answers;
pub mod args;
pub mod behaviour;
pub mod catalog;
pub mod dispatch;
pub mod faults;
pub mod lines;
pub mod methods;
pub mod rng;
pub mod server;
pub mod session;
pub mod spec;
pub mod stall;
pub mod stats;
pub mod stdio;
pub mod tasks;
pub mod timers;
pub mod tools;
pub mod wire;
pub mod writer;

pub use args::MockArgs;
pub use behaviour::{Behaviour, BehaviourError};
pub use server::{serve, serve_session};
pub use session::SessionEnd;
pub use spec::{ServiceTime, StallSpec};
pub use stats::{Stats, StatsSnapshot};

//! gatekit-loadgen: an MCP load generator that measures honestly and verifies every response.
//!
//! A run, in order: [`target`] spawns a fresh target process; [`handshake`] does `initialize`,
//! `notifications/initialized` and `tools/list` and resolves the mix's tool names; then
//! [`conn`] runs one writer task (the scheduler of [`schedule`]: open loop with a
//! scheduled time per request, or closed loop with N in flight; requests serialized from
//! [`mix`] templates into one buffer per batch, ids from the [`slab`]) and one reader task
//! (lines cut with `memchr`, classified and checked by [`verify`], recorded in [`stats`]).
//! [`compare`] runs several targets interleaved over rounds, [`report`] renders the table and the
//! versioned JSON, [`check`] evaluates `--check` thresholds, [`bench`] is the built-in
//! direct-vs-gateway scenario, and [`prom`]/[`scrape`] sample a gateway's Prometheus endpoint.
//!
//! Measurement rules (see the project's BENCHMARKS.md): open-loop latency is measured from the
//! scheduled send time (corrected) and from the actual write (uncorrected), both kept; at the
//! in-flight cap sends wait and the wait is reported; warm-up is excluded from latency and
//! throughput but never from error counts.

pub mod app;
pub mod bench;
pub mod check;
pub mod cli;
pub mod compare;
pub mod conn;
pub mod handshake;
pub mod mix;
pub mod prom;
pub mod reader;
pub mod report;
pub mod rng;
pub mod run;
pub mod schedule;
pub mod scrape;
pub mod server;
pub mod slab;
pub mod stats;
pub mod table;
pub mod target;
pub mod timer;
pub mod verify;
pub mod writer;

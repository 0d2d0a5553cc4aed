//! Counters for everything the gateway drops, rejects or recovers from.
//!
//! Bad input never crashes the gateway; it is answered or counted here. The counters are plain
//! relaxed atomics (no ordering is derived from them) and are logged as one JSON line at exit.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Gateway-wide counters.
        #[derive(Debug, Default)]
        pub struct Stats { $($(#[$doc])* pub $name: AtomicU64,)* }

        /// A point-in-time copy of [`Stats`].
        #[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
        pub struct StatsSnapshot { $($(#[$doc])* pub $name: u64,)* }

        impl Stats {
            /// Copies every counter.
            pub fn snapshot(&self) -> StatsSnapshot {
                StatsSnapshot { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Requests forwarded to an upstream on the client's behalf.
    requests_forwarded,
    /// Responses returned to the client from upstreams.
    responses_returned,
    /// Client lines that were not JSON (answered with -32700).
    client_parse_errors,
    /// Client messages that were JSON but not JSON-RPC (answered with -32600).
    client_invalid_requests,
    /// Oversize client lines answered with -32600 (id recovered).
    client_oversize_answered,
    /// Oversize client lines dropped (no id recoverable).
    client_oversize_dropped,
    /// Client responses whose id matched no forwarded server→client request.
    client_unknown_responses,
    /// Client notifications dropped (unroutable or malformed).
    client_notifications_dropped,
    /// Upstream lines that were not valid JSON-RPC (never forwarded).
    upstream_garbage,
    /// Oversize upstream lines (discarded; the pending request, if recoverable, was failed).
    upstream_oversize,
    /// Upstream responses whose id matched no pending request.
    upstream_unknown_responses,
    /// Upstream responses that arrived after their request timed out or was cancelled.
    upstream_late_responses,
    /// Upstream notifications dropped (e.g. progress for a finished request).
    upstream_notifications_dropped,
    /// Requests that timed out.
    timeouts,
    /// Requests cancelled by the client.
    cancelled,
    /// Requests failed because their upstream went away.
    upstream_failed_requests,
    /// Upstream restarts.
    upstream_restarts,
    /// Server→client requests forwarded to the client.
    server_requests_forwarded,
    /// Server→client requests refused because the client lacks the capability.
    server_requests_refused,
    /// Upstream stderr lines not logged because of the rate limit.
    stderr_lines_suppressed,
}

impl Stats {
    /// Adds one to a counter.
    #[inline]
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

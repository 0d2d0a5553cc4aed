//! Process-wide counters of what the mock saw and did, reported as one JSON line at exit so tests
//! (and the gateway's integration tests) can assert on traffic they cannot see on stdout.
//!
//! Invariant: counters only ever increase; they use relaxed atomics because each one is
//! independent and only read once traffic has stopped.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

macro_rules! counters {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {
        /// Live counters, shared by every session of one [`super::Behaviour`].
        #[derive(Debug, Default)]
        pub struct Stats {
            $($(#[$doc])* pub $field: AtomicU64,)*
        }

        /// A point-in-time copy of [`Stats`], serialisable as the exit line's JSON.
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
        pub struct StatsSnapshot {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl Stats {
            /// Copies every counter.
            pub fn snapshot(&self) -> StatsSnapshot {
                StatsSnapshot { $($field: self.$field.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Sessions started.
    sessions,
    /// Requests received (any method, including tools/call).
    requests,
    /// Notifications received.
    notifications,
    /// tools/call requests received.
    calls,
    /// Answers written (results and errors to the client's requests).
    answers,
    /// `initialize` received on an already initialized session.
    double_inits,
    /// Responses received from the client to our server->client requests.
    client_responses,
    /// Responses whose id matched no pending server->client request.
    unknown_response_ids,
    /// Server->client requests sent.
    client_requests,
    /// Lines that were not JSON-RPC (answered with -32700 where an answer is allowed).
    parse_errors,
    /// Input lines longer than --max-line-bytes, discarded.
    oversize_lines,
    /// Requests deliberately never answered (tool never, --drop-rate, --drop-id).
    dropped,
    /// notifications/cancelled received.
    cancels,
    /// Answers suppressed because the client cancelled the request first.
    cancelled_answers,
    /// Faults injected on purpose (garbage lines, duplicates, unknown ids, ...).
    faults,
}

impl Stats {
    /// Adds one to a counter.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl StatsSnapshot {
    /// Compact JSON for the `gatekit-mock stats: {...}` exit line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reflects_bumps_and_serialises() {
        let s = Stats::default();
        Stats::bump(&s.calls);
        Stats::bump(&s.calls);
        Stats::bump(&s.double_inits);
        let snap = s.snapshot();
        assert_eq!(snap.calls, 2);
        assert_eq!(snap.double_inits, 1);
        let v: serde_json::Value = serde_json::from_str(&snap.to_json()).expect("json");
        assert_eq!(v["calls"], 2);
        assert_eq!(v["double_inits"], 1);
        assert_eq!(v["answers"], 0);
    }
}

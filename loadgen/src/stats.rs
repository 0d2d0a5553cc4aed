//! Measurements of one run: HdrHistograms and counters, mergeable across rounds.
//!
//! Owns: [`RunStats`] (what the reader and the writer observed) and the percentile summary.
//! Invariants: histograms are in nanoseconds with 3 significant figures; values above
//! [`MAX_TRACKED_NS`] saturate rather than being dropped; warm-up requests never reach a
//! histogram or an outcome counter; merging two `RunStats` is the same as having run both.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency tracked: one hour. Anything slower is a hang and saturates here.
pub const MAX_TRACKED_NS: u64 = 3_600 * 1_000_000_000;
/// Significant figures of every histogram (the HdrHistogram convention for latency).
const SIGFIGS: u8 = 3;

/// A latency histogram in nanoseconds.
pub fn new_histogram() -> Histogram<u64> {
    // The bounds are constants known to be valid, so construction cannot fail at run time.
    Histogram::new_with_bounds(1, MAX_TRACKED_NS, SIGFIGS)
        .expect("constant histogram bounds are valid")
}

/// Ways a request or response can go wrong; each is counted separately.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    /// JSON-RPC error responses.
    pub rpc_error: u64,
    /// `tools/call` results with `isError: true`.
    pub tool_error: u64,
    /// Responses with both or neither of `result` / `error`, or a result of the wrong shape.
    pub invalid_response: u64,
    /// Echoed text differs from the payload sent.
    pub mismatched_payload: u64,
    /// No response within `--timeout`.
    pub timeout: u64,
    /// Responses that arrived after their request timed out.
    pub late: u64,
    /// Second (or later) responses to one request.
    pub duplicate: u64,
    /// Responses whose id no request had.
    pub unknown_id: u64,
    /// Lines that are not JSON-RPC.
    pub malformed: u64,
    /// Lines over the line limit (discarded).
    pub oversized: u64,
    /// Requests still in flight when the target closed its output.
    pub unanswered: u64,
}

impl ErrorCounts {
    /// Sum of all kinds.
    pub fn total(&self) -> u64 {
        self.rpc_error
            + self.tool_error
            + self.invalid_response
            + self.mismatched_payload
            + self.timeout
            + self.late
            + self.duplicate
            + self.unknown_id
            + self.malformed
            + self.oversized
            + self.unanswered
    }

    /// The count of a kind by its report name.
    pub fn get(&self, kind: &str) -> Option<u64> {
        Some(match kind {
            "rpc_error" | "rpc_errors" => self.rpc_error,
            "tool_error" | "tool_errors" => self.tool_error,
            "invalid_response" | "invalid" => self.invalid_response,
            "mismatched_payload" | "mismatches" | "mismatched" => self.mismatched_payload,
            "timeout" | "timeouts" => self.timeout,
            "late" => self.late,
            "duplicate" | "duplicates" => self.duplicate,
            "unknown_id" | "unknown_ids" => self.unknown_id,
            "malformed" => self.malformed,
            "oversized" => self.oversized,
            "unanswered" => self.unanswered,
            "errors" | "total" => self.total(),
            _ => return None,
        })
    }

    fn add(&mut self, o: &Self) {
        self.rpc_error += o.rpc_error;
        self.tool_error += o.tool_error;
        self.invalid_response += o.invalid_response;
        self.mismatched_payload += o.mismatched_payload;
        self.timeout += o.timeout;
        self.late += o.late;
        self.duplicate += o.duplicate;
        self.unknown_id += o.unknown_id;
        self.malformed += o.malformed;
        self.oversized += o.oversized;
        self.unanswered += o.unanswered;
    }
}

/// Latencies and outcomes of one mix entry.
#[derive(Debug, Clone)]
pub struct EntryStats {
    /// Response time minus scheduled time (open loop only).
    pub corrected: Histogram<u64>,
    /// Response time minus actual write time.
    pub uncorrected: Histogram<u64>,
    /// Measured requests that ended (any outcome).
    pub ended: u64,
    /// Measured requests answered and verified.
    pub ok: u64,
}

impl EntryStats {
    fn new() -> Self {
        Self {
            corrected: new_histogram(),
            uncorrected: new_histogram(),
            ended: 0,
            ok: 0,
        }
    }
}

/// Traffic the target started: requests (answered) and notifications.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerTraffic {
    /// `ping` requests answered with `{}`.
    pub ping: u64,
    /// Other requests answered with -32601.
    pub other_requests: u64,
    /// Notifications, by method.
    pub notifications: BTreeMap<String, u64>,
}

/// Everything measured in one run.
#[derive(Debug, Clone)]
pub struct RunStats {
    /// Per mix entry, in mix order.
    pub entries: Vec<EntryStats>,
    /// Error counts by kind (measured requests; response-level anomalies after warm-up).
    pub errors: ErrorCounts,
    /// JSON-RPC error responses by code.
    pub rpc_error_codes: BTreeMap<i64, u64>,
    /// Written minus scheduled time per request (open loop only).
    pub backlog: Histogram<u64>,
    /// Sends that had to wait for the in-flight cap.
    pub capped_sends: u64,
    /// Requests written (warm-up included).
    pub sent: u64,
    /// Measured requests written.
    pub measured_sent: u64,
    /// Warm-up requests that ended (not in any statistic).
    pub warmup_ended: u64,
    /// Server-initiated traffic.
    pub server: ServerTraffic,
    /// Measured wall time: from the end of warm-up to the last measured request's end (ns).
    pub measured_window_ns: u64,
    /// Highest in-flight count observed by the writer.
    pub max_in_flight: u64,
}

impl RunStats {
    /// Empty statistics for `entries` mix entries.
    pub fn new(entries: usize) -> Self {
        Self {
            entries: (0..entries).map(|_| EntryStats::new()).collect(),
            errors: ErrorCounts::default(),
            rpc_error_codes: BTreeMap::new(),
            backlog: new_histogram(),
            capped_sends: 0,
            sent: 0,
            measured_sent: 0,
            warmup_ended: 0,
            server: ServerTraffic::default(),
            measured_window_ns: 0,
            max_in_flight: 0,
        }
    }

    /// Measured requests answered and verified.
    pub fn ok(&self) -> u64 {
        self.entries.iter().map(|e| e.ok).sum()
    }

    /// Verified responses per second over the measured window.
    pub fn throughput(&self) -> f64 {
        if self.measured_window_ns == 0 {
            return 0.0;
        }
        self.ok() as f64 * 1e9 / self.measured_window_ns as f64
    }

    /// Overall corrected and uncorrected histograms (sum over entries).
    pub fn overall(&self) -> (Histogram<u64>, Histogram<u64>) {
        let mut c = new_histogram();
        let mut u = new_histogram();
        for e in &self.entries {
            // Same bounds everywhere, so adding cannot fail.
            let _ = c.add(&e.corrected);
            let _ = u.add(&e.uncorrected);
        }
        (c, u)
    }

    /// Adds another run's statistics (same mix) into this one.
    pub fn merge(&mut self, o: &Self) {
        for (a, b) in self.entries.iter_mut().zip(&o.entries) {
            let _ = a.corrected.add(&b.corrected);
            let _ = a.uncorrected.add(&b.uncorrected);
            a.ended += b.ended;
            a.ok += b.ok;
        }
        self.errors.add(&o.errors);
        for (k, v) in &o.rpc_error_codes {
            *self.rpc_error_codes.entry(*k).or_default() += v;
        }
        let _ = self.backlog.add(&o.backlog);
        self.capped_sends += o.capped_sends;
        self.sent += o.sent;
        self.measured_sent += o.measured_sent;
        self.warmup_ended += o.warmup_ended;
        self.server.ping += o.server.ping;
        self.server.other_requests += o.server.other_requests;
        for (k, v) in &o.server.notifications {
            *self.server.notifications.entry(k.clone()).or_default() += v;
        }
        self.measured_window_ns += o.measured_window_ns;
        self.max_in_flight = self.max_in_flight.max(o.max_in_flight);
    }
}

/// Percentiles of one histogram, in microseconds (the unit people read latency tables in).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Number of recorded values.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Maximum.
    pub max_us: f64,
}

impl Percentiles {
    /// Summarises `h`; `None` when it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        if h.is_empty() {
            return None;
        }
        let us = |ns: u64| ns as f64 / 1e3;
        Some(Self {
            count: h.len(),
            mean_us: h.mean() / 1e3,
            p50_us: us(h.value_at_quantile(0.50)),
            p90_us: us(h.value_at_quantile(0.90)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
        })
    }

    /// A percentile by name (`p50`, `p90`, `p99`, `p99.9`/`p999`, `max`, `mean`), in µs.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "p50" => self.p50_us,
            "p90" => self.p90_us,
            "p99" => self.p99_us,
            "p99.9" | "p999" => self.p999_us,
            "max" => self.max_us,
            "mean" => self.mean_us,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_histograms_and_counts() {
        let mut a = RunStats::new(1);
        let mut b = RunStats::new(1);
        a.entries[0].uncorrected.record(1_000).unwrap();
        a.entries[0].ok = 1;
        b.entries[0].uncorrected.record(3_000).unwrap();
        b.entries[0].ok = 1;
        b.errors.duplicate = 2;
        b.rpc_error_codes.insert(-32601, 1);
        a.measured_window_ns = 1_000_000_000;
        b.measured_window_ns = 1_000_000_000;
        a.merge(&b);
        assert_eq!(a.ok(), 2);
        assert_eq!(a.errors.total(), 2);
        assert_eq!(a.rpc_error_codes[&-32601], 1);
        assert!((a.throughput() - 1.0).abs() < 1e-9);
        let p = Percentiles::of(&a.overall().1).unwrap();
        assert_eq!(p.count, 2);
        assert!((p.max_us - 3.0).abs() < 0.01);
        assert!(Percentiles::of(&a.overall().0).is_none());
    }

    #[test]
    fn huge_values_saturate() {
        let mut h = new_histogram();
        h.saturating_record(u64::MAX);
        assert!(h.max() >= MAX_TRACKED_NS / 2);
    }
}

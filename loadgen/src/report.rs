//! The report: the versioned JSON shape (`gatekit-loadgen-report/v1`).
//!
//! Owns: every type that is serialized into the JSON report (the checked-in schema
//! `schemas/loadgen-report.v1.json` describes exactly these) and the summary of a
//! [`RunStats`]; the text rendering is in [`crate::table`]. Invariants: durations are
//! microseconds (`*_us`) or seconds (`*_s`), as the field name says; a field is added to the
//! schema in the same change that adds it here; a breaking change bumps [`SCHEMA`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::stats::{ErrorCounts, Percentiles, RunStats, ServerTraffic};

/// The report's schema identifier.
pub const SCHEMA: &str = "gatekit-loadgen-report/v1";

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Which program wrote it.
    pub generator: Generator,
    /// `run`, `compare` or `bench`.
    pub command: String,
    /// When the invocation started (ms since the Unix epoch).
    pub started_unix_ms: u64,
    /// One per load scenario (`run`/`compare` have one; `bench` several).
    pub scenarios: Vec<ScenarioReport>,
    /// `--check` outcomes.
    pub checks: Vec<CheckOutcome>,
    /// All checks passed (true when there are none).
    pub passed: bool,
}

/// Program name and version.
#[derive(Debug, Clone, Serialize)]
pub struct Generator {
    /// `gatekit-loadgen`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

impl Default for Generator {
    fn default() -> Self {
        Self {
            name: "gatekit-loadgen",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The offered load, as configured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadDescription {
    /// `open` or `closed`.
    pub model: &'static str,
    /// Open loop: requests per second.
    pub rate: Option<f64>,
    /// Open loop: Poisson arrivals.
    pub poisson: bool,
    /// Closed loop: requests in flight.
    pub concurrency: Option<u32>,
    /// Measured duration (s), if bounded by time.
    pub duration_s: Option<f64>,
    /// Measured requests, if bounded by count.
    pub requests: Option<u64>,
    /// Warm-up (s), excluded from latency and throughput.
    pub warmup_s: f64,
    /// In-flight cap.
    pub max_in_flight: u64,
    /// Per-request timeout (s).
    pub timeout_s: f64,
    /// Seed.
    pub seed: u64,
    /// Payload size bounds.
    pub payload: PayloadDescription,
    /// The mix.
    pub mix: Vec<MixDescription>,
    /// Rounds (each runs every target once, on a fresh process).
    pub rounds: u32,
}

/// Payload size bounds in bytes.
#[derive(Debug, Clone, Serialize)]
pub struct PayloadDescription {
    /// Smallest.
    pub min_bytes: u32,
    /// Largest.
    pub max_bytes: u32,
}

/// One mix entry.
#[derive(Debug, Clone, Serialize)]
pub struct MixDescription {
    /// `tools/call:echo`, `ping`, ...
    pub call: String,
    /// Weight.
    pub weight: u32,
}

/// One scenario: its load, every target's aggregate, every run, and the ratios.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// Offered load.
    pub load: LoadDescription,
    /// Per target, merged over rounds, in the order given (the first is the baseline).
    pub targets: Vec<TargetReport>,
    /// Per round, the runs in the order they ran.
    pub rounds: Vec<RoundReport>,
    /// Each non-first target against the first.
    pub ratios: Vec<RatioReport>,
}

/// A target merged over all rounds.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// Name.
    pub name: String,
    /// Spec as given.
    pub spec: String,
    /// Merged statistics.
    pub summary: RunSummary,
    /// Throughput per round.
    pub throughput_spread: Spread,
}

/// Min / median / max over rounds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `xs` (zeros when empty).
    pub fn of(xs: &[f64]) -> Self {
        let mut v = xs.to_vec();
        v.sort_by(f64::total_cmp);
        let (Some(&min), Some(&max)) = (v.first(), v.last()) else {
            return Self {
                min: 0.0,
                median: 0.0,
                max: 0.0,
            };
        };
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Self { min, median, max }
    }
}

/// One round.
#[derive(Debug, Clone, Serialize)]
pub struct RoundReport {
    /// 1-based.
    pub round: u32,
    /// Runs in execution order.
    pub runs: Vec<RunRecord>,
}

/// One run of one target.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// Target name.
    pub target: String,
    /// 0-based position within the round.
    pub position: u32,
    /// When it started (ms since the epoch).
    pub started_unix_ms: u64,
    /// Wall time including spawn, handshake and shutdown (s).
    pub wall_s: f64,
    /// What the target said in `initialize`.
    pub server: ServerDescription,
    /// Tool names as the target listed them, per mix entry (null for plain methods).
    pub resolved_tools: Vec<Option<String>>,
    /// How the target exited.
    pub exit_status: String,
    /// Why reading stopped: `eof`, `stopped`, or an error text.
    pub reader_end: String,
    /// Set if writing to the target failed.
    pub write_error: Option<String>,
    /// Statistics.
    pub summary: RunSummary,
}

/// `serverInfo` and the negotiated version.
#[derive(Debug, Clone, Serialize)]
pub struct ServerDescription {
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
    /// Negotiated `protocolVersion`.
    pub protocol_version: String,
}

/// Statistics of one run or of a target merged over rounds.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Requests written (warm-up included).
    pub requests_sent: u64,
    /// Measured requests written.
    pub measured_requests: u64,
    /// Measured requests answered and verified.
    pub ok: u64,
    /// `ok` per second of measured window.
    pub throughput_rps: f64,
    /// Measured window (s): end of warm-up to the last measured request's end.
    pub measured_window_s: f64,
    /// Overall latency.
    pub latency: LatencyReport,
    /// Per mix entry.
    pub methods: Vec<MethodReport>,
    /// Error counts by kind (every request, warm-up included: correctness is never warmed up).
    pub errors: ErrorsReport,
    /// JSON-RPC error responses by code.
    pub rpc_error_codes: BTreeMap<String, u64>,
    /// Scheduled-vs-written lag (open loop only).
    pub backlog: Option<BacklogReport>,
    /// Highest number of requests in flight.
    pub max_in_flight: u64,
    /// Warm-up requests that ended (in no statistic but `errors`).
    pub warmup_requests: u64,
    /// Requests and notifications the target sent.
    pub server_traffic: ServerTraffic,
    /// Gateway metrics sampled during the run (for merged targets: the worst run).
    pub gateway_metrics: Option<GatewayMetricsReport>,
}

/// Corrected (from scheduled time; open loop only) and uncorrected (from write time).
#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    /// Null in closed loop.
    pub corrected: Option<Percentiles>,
    /// Null if nothing was answered.
    pub uncorrected: Option<Percentiles>,
}

impl LatencyReport {
    /// The headline histogram: corrected in open loop, else uncorrected.
    pub fn headline(&self) -> Option<&Percentiles> {
        self.corrected.as_ref().or(self.uncorrected.as_ref())
    }
}

/// One mix entry's statistics.
#[derive(Debug, Clone, Serialize)]
pub struct MethodReport {
    /// Label (`tools/call:echo`).
    pub name: String,
    /// Measured requests that ended.
    pub ended: u64,
    /// Of which verified.
    pub ok: u64,
    /// Latency.
    pub latency: LatencyReport,
}

/// Error counts plus their total.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorsReport {
    /// Sum of all kinds.
    pub total: u64,
    /// By kind.
    #[serde(flatten)]
    pub kinds: ErrorCounts,
}

/// The client-side send backlog.
#[derive(Debug, Clone, Serialize)]
pub struct BacklogReport {
    /// Mean written-minus-scheduled lag (µs).
    pub mean_lag_us: f64,
    /// 99th percentile lag (µs).
    pub p99_lag_us: f64,
    /// Maximum lag (µs).
    pub max_lag_us: f64,
    /// Sends that waited for the in-flight cap.
    pub capped_sends: u64,
}

/// Gateway health next to the client latencies.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayMetricsReport {
    /// The endpoint.
    pub url: String,
    /// Worst loop-lag p99 over the samples (s).
    pub loop_lag_p99_max_s: Option<f64>,
    /// Highest in-flight gauge.
    pub in_flight_max: Option<f64>,
    /// Successful samples.
    pub samples: u64,
    /// Failed scrapes.
    pub failed_scrapes: u64,
    /// The last scrape error.
    pub last_error: Option<String>,
    /// The samples (absent in merged summaries).
    pub points: Vec<crate::prom::MetricsPoint>,
}

/// A target against the baseline (the first target).
#[derive(Debug, Clone, Serialize)]
pub struct RatioReport {
    /// This target.
    pub target: String,
    /// The first target.
    pub baseline: String,
    /// `corrected` (open loop) or `uncorrected` (closed loop).
    pub latency_basis: &'static str,
    /// Throughput of target / baseline.
    pub throughput: Option<f64>,
    /// p50 of target / baseline.
    pub p50: Option<f64>,
    /// p99 of target / baseline.
    pub p99: Option<f64>,
    /// p50 of target minus baseline (µs).
    pub added_p50_us: Option<f64>,
    /// p99 of target minus baseline (µs).
    pub added_p99_us: Option<f64>,
}

/// One evaluated `--check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    /// The expression as given.
    pub check: String,
    /// Scenario it was evaluated in.
    pub scenario: String,
    /// Target it was evaluated on.
    pub target: String,
    /// Measured value, in `unit`; null if it could not be measured.
    pub value: Option<f64>,
    /// `count`, `rps`, `us` or `ratio`.
    pub unit: &'static str,
    /// Whether it held.
    pub passed: bool,
}

/// Summarises merged or single-run statistics.
pub fn summarize(stats: &RunStats, labels: &[String], open_loop: bool) -> RunSummary {
    let (c, u) = stats.overall();
    let latency =
        |c: &hdrhistogram::Histogram<u64>, u: &hdrhistogram::Histogram<u64>| LatencyReport {
            corrected: if open_loop { Percentiles::of(c) } else { None },
            uncorrected: Percentiles::of(u),
        };
    RunSummary {
        requests_sent: stats.sent,
        measured_requests: stats.measured_sent,
        ok: stats.ok(),
        throughput_rps: stats.throughput(),
        measured_window_s: stats.measured_window_ns as f64 / 1e9,
        latency: latency(&c, &u),
        methods: stats
            .entries
            .iter()
            .zip(labels)
            .map(|(e, name)| MethodReport {
                name: name.clone(),
                ended: e.ended,
                ok: e.ok,
                latency: latency(&e.corrected, &e.uncorrected),
            })
            .collect(),
        errors: ErrorsReport {
            total: stats.errors.total(),
            kinds: stats.errors.clone(),
        },
        rpc_error_codes: stats
            .rpc_error_codes
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        backlog: (open_loop && !stats.backlog.is_empty()).then(|| BacklogReport {
            mean_lag_us: stats.backlog.mean() / 1e3,
            p99_lag_us: stats.backlog.value_at_quantile(0.99) as f64 / 1e3,
            max_lag_us: stats.backlog.max() as f64 / 1e3,
            capped_sends: stats.capped_sends,
        }),
        max_in_flight: stats.max_in_flight,
        warmup_requests: stats.warmup_ended,
        server_traffic: stats.server.clone(),
        gateway_metrics: None,
    }
}

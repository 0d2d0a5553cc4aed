//! Command-line surface (clap derive): parsing only, plus conversion to run configurations.
//!
//! Owns: every flag of `run`, `compare`, `bench` and the hidden `__test-server`, and the
//! translation of load flags into a [`RunConfig`]. Invariants: conflicting load flags are usage
//! errors (exit 2), never silently resolved; defaults are oha-like (closed loop, 16 in flight,
//! 10 s) and written into the report, so a report always says what load it measured.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::mix::{Mix, PayloadSize};
use crate::run::{RunConfig, DEFAULT_OPEN_MAX_IN_FLIGHT};
use crate::schedule::{LoadModel, Plan};
use crate::slab::MAX_IN_FLIGHT;
use crate::target::NamedTarget;

/// Closed-loop concurrency when neither `--rate` nor `--concurrency` is given.
const DEFAULT_CONCURRENCY: u32 = 16;
/// Measured duration when neither `--duration` nor `--requests` is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// gatekit-loadgen: an open/closed-loop MCP load generator that verifies every response and
/// compares targets side by side.
#[derive(Debug, Parser)]
#[command(name = "gatekit-loadgen", version)]
pub struct Cli {
    /// Runtime flavour for the load generator itself.
    #[arg(long, global = true, value_enum, default_value_t = RuntimeKind::CurrentThread)]
    pub runtime: RuntimeKind,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The tokio runtime the load generator runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    /// One thread: reader and writer interleave without cross-thread wake-ups (fastest on 2 cores).
    CurrentThread,
    /// Two worker threads.
    MultiThread,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load one target.
    Run(RunArgs),
    /// Load several targets interleaved over rounds and compare them to the first.
    Compare(CompareArgs),
    /// The built-in scenario: gatekit-mock direct vs behind gatekit-gateway.
    Bench(BenchArgs),
    /// A tiny stdio MCP echo server with fault switches, for the load generator's own tests.
    #[command(name = "__test-server", hide = true)]
    TestServer(crate::server::ServerArgs),
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// `stdio:CMD ARGS…` (or `NAME=stdio:…`); `http://…/mcp` is parsed but not yet supported.
    #[arg(long)]
    pub target: String,
    /// Load.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// `NAME=SPEC`, repeated; the first is the baseline.
    #[arg(long = "target", required = true, value_name = "NAME=SPEC")]
    pub targets: Vec<String>,
    /// Rounds; each runs every target once, in rotated order, on a fresh process.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
    /// Load.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Short phases and one round (a smoke run, not a measurement).
    #[arg(long)]
    pub quick: bool,
    /// gatekit-mock binary (default: next to this executable).
    #[arg(long)]
    pub mock: Option<PathBuf>,
    /// gatekit-gateway binary (default: next to this executable).
    #[arg(long)]
    pub gateway: Option<PathBuf>,
    /// Rounds per phase.
    #[arg(long)]
    pub rounds: Option<u32>,
    /// Measured duration per phase.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// The gateway's Prometheus endpoint, sampled during its runs.
    #[arg(long, value_name = "URL")]
    pub gateway_metrics: Option<String>,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Load flags shared by `run` and `compare`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Open loop at this many requests per second.
    #[arg(long, conflicts_with = "concurrency")]
    pub rate: Option<f64>,
    /// Poisson arrivals instead of a fixed interval (open loop).
    #[arg(long, requires = "rate")]
    pub poisson: bool,
    /// Closed loop with this many requests in flight (default 16 when no --rate).
    #[arg(long, short = 'c')]
    pub concurrency: Option<u32>,
    /// Measured duration (default 10s when no --requests), e.g. 10s, 500ms.
    #[arg(long, short = 'z', value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Measured requests.
    #[arg(long, short = 'n')]
    pub requests: Option<u64>,
    /// Warm-up before measuring (excluded from latency and throughput).
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub warmup: Duration,
    /// Weighted mix, e.g. tools/call:echo=80,tools/list=10,ping=10.
    #[arg(long, default_value = "tools/call:echo=100")]
    pub mix: String,
    /// Payload bytes of the echo argument: a size (300, 4KiB) or a range (300..4096).
    #[arg(long, default_value = "300")]
    pub payload: String,
    /// Open-loop in-flight cap; at the cap sends wait (and the wait counts as latency).
    #[arg(long, conflicts_with = "concurrency")]
    pub max_in_flight: Option<usize>,
    /// Seed for arrivals, mix and payloads.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Per-request timeout.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// Tool-name prefix `[NAME=]PREFIX` (e.g. gateway=mock__); default: detected from tools/list.
    #[arg(long = "tool-prefix", value_name = "[NAME=]PREFIX")]
    pub tool_prefix: Vec<String>,
    /// `[NAME=]URL` of a gateway's Prometheus endpoint, sampled every second (without NAME:
    /// every target but the first, or the only one).
    #[arg(long, value_name = "[NAME=]URL")]
    pub gateway_metrics: Option<String>,
}

/// Output flags.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write the JSON report here (`-` for stdout, instead of the table).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Threshold, repeatable: errors=0, ratio.throughput>=0.6, p99<=50ms, ...; a failure exits 3.
    #[arg(long = "check", value_name = "EXPR")]
    pub checks: Vec<String>,
}

/// A usage error found after parsing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl LoadArgs {
    /// The run configuration these flags describe.
    pub fn to_config(&self) -> Result<RunConfig, UsageError> {
        let u = |s: String| UsageError(s);
        let model = match (self.rate, self.concurrency) {
            (Some(r), _) if !(r.is_finite() && r > 0.0) => {
                return Err(u("--rate must be positive".into()))
            }
            (Some(rate), _) => LoadModel::Open {
                rate,
                poisson: self.poisson,
            },
            (None, Some(0)) => return Err(u("--concurrency must be at least 1".into())),
            (None, Some(c)) if c as usize > MAX_IN_FLIGHT => {
                return Err(u(format!("--concurrency is limited to {MAX_IN_FLIGHT}")))
            }
            (None, c) => LoadModel::Closed {
                concurrency: c.unwrap_or(DEFAULT_CONCURRENCY),
            },
        };
        let max_in_flight = self.max_in_flight.unwrap_or(DEFAULT_OPEN_MAX_IN_FLIGHT);
        if max_in_flight == 0 || max_in_flight > MAX_IN_FLIGHT {
            return Err(u(format!("--max-in-flight must be in 1..={MAX_IN_FLIGHT}")));
        }
        let measure = match (self.duration, self.requests) {
            (None, None) => Some(DEFAULT_DURATION),
            (d, _) => d,
        };
        if self.requests == Some(0) || measure.is_some_and(|d| d.is_zero()) {
            return Err(u("--duration and --requests must be positive".into()));
        }
        if self.timeout.is_zero() {
            return Err(u("--timeout must be positive".into()));
        }
        Ok(RunConfig {
            model,
            plan: Plan {
                warmup_ns: self.warmup.as_nanos() as u64,
                measure_ns: measure.map(|d| d.as_nanos() as u64),
                measured_requests: self.requests,
            },
            mix: Mix::parse(&self.mix).map_err(|e| u(e.to_string()))?,
            payload: PayloadSize::parse(&self.payload).map_err(|e| u(e.to_string()))?,
            max_in_flight,
            seed: self.seed,
            timeout: self.timeout,
        })
    }

    /// Applies `--tool-prefix` and `--gateway-metrics` to the targets.
    pub fn apply_to_targets(&self, targets: &mut [NamedTarget]) -> Result<(), UsageError> {
        if let Some(m) = &self.gateway_metrics {
            match m.split_once('=').filter(|(n, _)| !n.contains(':')) {
                Some((name, url)) => {
                    let t = targets.iter_mut().find(|t| t.name == name).ok_or_else(|| {
                        UsageError(format!("--gateway-metrics {m}: no target named `{name}`"))
                    })?;
                    t.metrics_url = Some(url.to_string());
                }
                None => {
                    // The baseline is the direct server; the gateway(s) come after it.
                    let skip = usize::from(targets.len() > 1);
                    targets
                        .iter_mut()
                        .skip(skip)
                        .for_each(|t| t.metrics_url = Some(m.clone()));
                }
            }
        }
        for p in &self.tool_prefix {
            match p.split_once('=') {
                Some((name, prefix)) => {
                    let t = targets.iter_mut().find(|t| t.name == name).ok_or_else(|| {
                        UsageError(format!("--tool-prefix {p}: no target named `{name}`"))
                    })?;
                    t.tool_prefix = Some(prefix.to_string());
                }
                None => targets
                    .iter_mut()
                    .for_each(|t| t.tool_prefix = Some(p.clone())),
            }
        }
        Ok(())
    }
}

/// Parses `10s`, `500ms`, `250us`, `2m`, `1h`, or bare seconds (`1.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let units: [(&str, f64); 7] = [
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ];
    let (num, mult) = units
        .iter()
        .find_map(|(u, m)| s.strip_suffix(u).map(|n| (n, *m)))
        .unwrap_or((s, 1.0));
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("bad duration `{s}` (e.g. 10s, 500ms, 250us)"))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("bad duration `{s}`"));
    }
    Duration::try_from_secs_f64(v * mult).map_err(|e| format!("bad duration `{s}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn load_flags_become_a_config() {
        let cli = Cli::parse_from([
            "x",
            "run",
            "--target",
            "stdio:m",
            "--rate",
            "100",
            "--poisson",
            "-n",
            "50",
            "--warmup",
            "1s",
        ]);
        let Command::Run(r) = cli.command else {
            panic!("run")
        };
        let c = r.load.to_config().unwrap();
        assert_eq!(
            c.model,
            LoadModel::Open {
                rate: 100.0,
                poisson: true
            }
        );
        assert_eq!(
            c.plan,
            Plan {
                warmup_ns: 1_000_000_000,
                measure_ns: None,
                measured_requests: Some(50)
            }
        );
        let cli = Cli::parse_from(["x", "run", "--target", "stdio:m"]);
        let Command::Run(r) = cli.command else {
            panic!("run")
        };
        let c = r.load.to_config().unwrap();
        assert_eq!(
            c.model,
            LoadModel::Closed {
                concurrency: DEFAULT_CONCURRENCY
            }
        );
        assert_eq!(c.plan.measure_ns, Some(DEFAULT_DURATION.as_nanos() as u64));
        assert!(
            Cli::try_parse_from(["x", "run", "--target", "stdio:m", "--rate", "1", "-c", "2"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["x", "run", "--target", "stdio:m", "--poisson"]).is_err());
    }
}

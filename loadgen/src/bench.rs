//! The built-in benchmark: gatekit-mock direct vs the same mock behind gatekit-gateway.
//!
//! Owns: locating the sibling binaries, the generated gateway config (a temp file removed on
//! drop), and the three phases — latency floor (open loop, low rate), open loop at a high rate,
//! and closed-loop saturation. Invariants: both targets get the identical load in every phase;
//! the gateway's tools are detected by namespace (`mock__echo`), the direct mock's are plain.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::compare::Scenario;
use crate::mix::{Mix, PayloadSize};
use crate::run::{RunConfig, DEFAULT_OPEN_MAX_IN_FLIGHT};
use crate::schedule::{LoadModel, Plan};
use crate::target::{NamedTarget, TargetSpec};

/// Open-loop rate of the latency-floor phase.
pub const LOW_RATE: f64 = 1_000.0;
/// Open-loop rate of the high-rate phase.
pub const HIGH_RATE: f64 = 20_000.0;
/// In-flight requests of the saturation phase.
pub const SATURATION_CONCURRENCY: u32 = 64;
const PHASE: Duration = Duration::from_secs(3);
const WARMUP: Duration = Duration::from_secs(1);
const ROUNDS: u32 = 2;
const QUICK_PHASE: Duration = Duration::from_secs(1);
const QUICK_WARMUP: Duration = Duration::from_millis(250);

/// Bench set-up failures.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A binary is missing.
    #[error("{what} not found at {path} (build it first: cargo build --release --bins)")]
    Missing {
        /// Which binary.
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The config could not be written.
    #[error("cannot write the gateway config {path}: {source}")]
    Config {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The generated gateway config; deleted when dropped.
#[derive(Debug)]
pub struct TempConfig {
    /// Its path.
    pub path: PathBuf,
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What to bench.
#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    /// Short phases, one round.
    pub quick: bool,
    /// Mock binary override.
    pub mock: Option<PathBuf>,
    /// Gateway binary override.
    pub gateway: Option<PathBuf>,
    /// Rounds override.
    pub rounds: Option<u32>,
    /// Phase duration override.
    pub duration: Option<Duration>,
    /// Gateway metrics endpoint.
    pub gateway_metrics: Option<String>,
}

/// The gateway config that puts `mock` behind the gateway as upstream `mock`.
pub fn gateway_yaml(mock: &Path) -> String {
    // A JSON string is a valid YAML flow scalar, so any path quotes correctly.
    let cmd = serde_json::Value::String(mock.display().to_string());
    format!("proxy:\n  transport: stdio\n  upstreams:\n    - name: mock\n      command: [{cmd}]\n")
}

/// Builds the three phases; the returned config must outlive the runs.
pub fn scenarios(
    opts: &BenchOptions,
    exe_dir: &Path,
) -> Result<(Vec<Scenario>, TempConfig), BenchError> {
    let find = |over: &Option<PathBuf>, name: &'static str| -> Result<PathBuf, BenchError> {
        let path = over.clone().unwrap_or_else(|| exe_dir.join(name));
        let path = std::fs::canonicalize(&path).map_err(|_| BenchError::Missing {
            what: name,
            path: path.clone(),
        })?;
        Ok(path)
    };
    let mock = find(&opts.mock, "gatekit-mock")?;
    let gateway = find(&opts.gateway, "gatekit-gateway")?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let path = std::env::temp_dir().join(format!(
        "gatekit-loadgen-{}-{nanos}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, gateway_yaml(&mock)).map_err(|source| BenchError::Config {
        path: path.clone(),
        source,
    })?;
    let config = TempConfig { path };

    let stdio = |name: &str, program: &Path, args: Vec<String>| {
        let spec_text = std::iter::once(format!("stdio:{}", program.display()))
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        NamedTarget {
            name: name.to_string(),
            spec_text,
            spec: TargetSpec::Stdio {
                program: program.display().to_string(),
                args,
            },
            tool_prefix: None,
            metrics_url: None,
        }
    };
    let mut gw = stdio(
        "gateway",
        &gateway,
        vec!["--config".into(), config.path.display().to_string()],
    );
    // Only the gateway exposes metrics; the direct mock's runs are not sampled.
    gw.metrics_url = opts.gateway_metrics.clone();
    let targets = vec![stdio("direct", &mock, Vec::new()), gw];
    let (phase, warmup, rounds) = if opts.quick {
        (QUICK_PHASE, QUICK_WARMUP, 1)
    } else {
        (PHASE, WARMUP, ROUNDS)
    };
    let phase = opts.duration.unwrap_or(phase);
    let rounds = opts.rounds.unwrap_or(rounds);
    let cfg = |model| RunConfig {
        model,
        plan: Plan {
            warmup_ns: warmup.as_nanos() as u64,
            measure_ns: Some(phase.as_nanos() as u64),
            measured_requests: None,
        },
        // A constant, known-valid mix.
        mix: Mix::parse("tools/call:echo=100")
            .unwrap_or_else(|_| unreachable!("constant mix parses")),
        payload: PayloadSize::Fixed(300),
        max_in_flight: DEFAULT_OPEN_MAX_IN_FLIGHT,
        seed: 1,
        timeout: Duration::from_secs(10),
    };
    let phases = [
        (
            format!("latency-floor-{LOW_RATE}rps"),
            LoadModel::Open {
                rate: LOW_RATE,
                poisson: false,
            },
        ),
        (
            format!("open-{HIGH_RATE}rps"),
            LoadModel::Open {
                rate: HIGH_RATE,
                poisson: false,
            },
        ),
        (
            format!("closed-c{SATURATION_CONCURRENCY}"),
            LoadModel::Closed {
                concurrency: SATURATION_CONCURRENCY,
            },
        ),
    ];
    let scenarios = phases
        .into_iter()
        .map(|(name, model)| Scenario {
            name,
            targets: targets.clone(),
            cfg: cfg(model),
            rounds,
        })
        .collect();
    Ok((scenarios, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quotes_the_mock_path() {
        let y = gateway_yaml(Path::new("/opt/my tools/gatekit-mock"));
        assert!(
            y.contains(r#"command: ["/opt/my tools/gatekit-mock"]"#),
            "{y}"
        );
        assert!(y.starts_with("proxy:\n  transport: stdio\n  upstreams:\n    - name: mock\n"));
    }

    #[test]
    fn missing_binaries_are_reported() {
        let dir = std::env::temp_dir().join("gatekit-loadgen-no-such-dir");
        let err = scenarios(&BenchOptions::default(), &dir)
            .unwrap_err()
            .to_string();
        assert!(err.contains("gatekit-mock not found"), "{err}");
    }
}

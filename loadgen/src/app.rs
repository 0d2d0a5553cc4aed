//! Executing a parsed command: build scenarios, run them, report, check, choose the exit code.
//!
//! Owns: the flow shared by `run`, `compare` and `bench`, and the exit-code contract:
//! 0 success, 1 a run could not be carried out (spawn, handshake, I/O), 2 usage, 3 a `--check`
//! failed. Invariants: the table goes to `out` and progress to `err` (the caller decides what
//! they are); the JSON report is written even when checks fail, so CI can keep it.

use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::bench::{scenarios as bench_scenarios, BenchError, BenchOptions};
use crate::check::{evaluate, Check, CheckError};
use crate::cli::{Command, LoadArgs, OutputArgs, UsageError};
use crate::compare::{run_scenario, Progress, Scenario};
use crate::report::{Generator, Report, SCHEMA};
use crate::run::RunError;
use crate::table::{render_checks, render_scenario};
use crate::target::{NamedTarget, TargetError};

/// Exit code when a `--check` fails.
pub const EXIT_CHECK_FAILED: u8 = 3;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad flags (exit 2).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Bad check expression (exit 2).
    #[error(transparent)]
    Check(#[from] CheckError),
    /// Bad target (exit 2).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A run failed (exit 1).
    #[error(transparent)]
    Run(#[from] RunError),
    /// Bench set-up failed (exit 1).
    #[error(transparent)]
    Bench(#[from] BenchError),
    /// Output failed (exit 1).
    #[error("writing {what}: {source}")]
    Io {
        /// What was being written.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// The test server failed (exit 1).
    #[error("test server: {0}")]
    Server(std::io::Error),
}

impl AppError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Check(_) | Self::Target(_) => 2,
            _ => 1,
        }
    }
}

/// Runs `cmd`; returns the exit code (0 or [`EXIT_CHECK_FAILED`]).
pub async fn execute(
    cmd: Command,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, AppError> {
    let (command, scenarios, output, _config) = match cmd {
        Command::TestServer(a) => {
            crate::server::serve(a).await.map_err(AppError::Server)?;
            return Ok(0);
        }
        Command::Run(a) => {
            let mut t = vec![NamedTarget::parse(&a.target, "target")?];
            let s = scenario("run", &a.load, &mut t, 1)?;
            ("run", vec![s], a.out, None)
        }
        Command::Compare(a) => {
            let mut t = a
                .targets
                .iter()
                .enumerate()
                .map(|(i, s)| NamedTarget::parse(s, &format!("t{}", i + 1)))
                .collect::<Result<Vec<_>, _>>()?;
            let mut names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
            names.sort_unstable();
            if names.windows(2).any(|w| w[0] == w[1]) {
                return Err(UsageError(
                    "compare: target names must be unique (use NAME=SPEC)".into(),
                )
                .into());
            }
            if a.rounds == 0 {
                return Err(UsageError("--rounds must be at least 1".into()).into());
            }
            let s = scenario("compare", &a.load, &mut t, a.rounds)?;
            ("compare", vec![s], a.out, None)
        }
        Command::Bench(a) => {
            let exe = std::env::current_exe().map_err(|source| AppError::Io {
                what: "own path".into(),
                source,
            })?;
            let dir = exe.parent().unwrap_or(Path::new("."));
            let opts = BenchOptions {
                quick: a.quick,
                mock: a.mock,
                gateway: a.gateway,
                rounds: a.rounds,
                duration: a.duration,
                gateway_metrics: a.gateway_metrics,
            };
            let (s, cfg) = bench_scenarios(&opts, dir)?;
            ("bench", s, a.out, Some(cfg))
        }
    };
    let checks = output
        .checks
        .iter()
        .map(|c| Check::parse(c))
        .collect::<Result<Vec<_>, _>>()?;
    if checks.iter().any(Check::is_ratio) && scenarios.iter().any(|s| s.targets.len() < 2) {
        return Err(UsageError(
            "ratio.* and added.* checks need compare with at least two targets".into(),
        )
        .into());
    }
    for s in &scenarios {
        for t in &s.targets {
            t.ensure_supported()?;
        }
    }

    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut reports = Vec::new();
    for s in &scenarios {
        let mut progress = |p: Progress<'_>| {
            let _ = match p {
                Progress::Starting {
                    scenario,
                    round,
                    target,
                } => {
                    write!(err, "[{scenario}] round {round}: {target} ... ")
                }
                Progress::Finished {
                    throughput, errors, ..
                } => {
                    writeln!(err, "{throughput:.0} req/s, {errors} errors")
                }
            };
        };
        reports.push(run_scenario(s, &mut progress).await?);
    }
    let mut report = Report {
        schema: SCHEMA,
        generator: Generator::default(),
        command: command.to_string(),
        started_unix_ms,
        scenarios: reports,
        checks: Vec::new(),
        passed: true,
    };
    report.checks = evaluate(&checks, &report);
    report.passed = report.checks.iter().all(|c| c.passed);
    emit(&report, &output, out)?;
    Ok(if report.passed { 0 } else { EXIT_CHECK_FAILED })
}

fn scenario(
    name: &str,
    load: &LoadArgs,
    targets: &mut [NamedTarget],
    rounds: u32,
) -> Result<Scenario, AppError> {
    let cfg = load.to_config()?;
    load.apply_to_targets(targets)?;
    Ok(Scenario {
        name: name.to_string(),
        targets: targets.to_vec(),
        cfg,
        rounds,
    })
}

fn emit(report: &Report, output: &OutputArgs, out: &mut dyn Write) -> Result<(), AppError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| AppError::Io { what, source }
    };
    let json = serde_json::to_string_pretty(report).map_err(|e| AppError::Io {
        what: "report".into(),
        source: e.into(),
    })?;
    let json_to_stdout = output.json.as_deref() == Some(Path::new("-"));
    if json_to_stdout {
        writeln!(out, "{json}").map_err(io("stdout"))?;
    } else {
        for s in &report.scenarios {
            writeln!(out, "{}", render_scenario(s)).map_err(io("stdout"))?;
        }
        if !report.checks.is_empty() {
            write!(out, "{}", render_checks(&report.checks)).map_err(io("stdout"))?;
        }
        if let Some(path) = &output.json {
            std::fs::write(path, json + "\n").map_err(io(&path.display().to_string()))?;
        }
    }
    Ok(())
}

//! Scenarios: every target run interleaved over rounds, merged, and compared to the first.
//!
//! Owns: [`Scenario`] and [`run_scenario`]. Round `r` runs the targets rotated by `r` (two
//! targets: A B, then B A, …), each on a fresh spawn, so slow drift of a shared machine hits
//! every target alike. Invariants: a target's aggregate is the merge of its runs' histograms and
//! counters (never an average of percentiles); ratios are always against the first target and
//! use corrected latency in open loop, uncorrected in closed loop.

use std::time::Duration;

use crate::report::{
    summarize, GatewayMetricsReport, LoadDescription, MixDescription, PayloadDescription,
    RatioReport, RoundReport, RunRecord, ScenarioReport, ServerDescription, Spread, TargetReport,
};
use crate::run::{run_target, RunConfig, RunError};
use crate::schedule::LoadModel;
use crate::stats::RunStats;
use crate::target::NamedTarget;

/// Targets, load and rounds.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name in reports.
    pub name: String,
    /// Targets; the first is the baseline.
    pub targets: Vec<NamedTarget>,
    /// The load of every run.
    pub cfg: RunConfig,
    /// Rounds.
    pub rounds: u32,
}

impl Scenario {
    /// The load as reported.
    pub fn describe(&self) -> LoadDescription {
        let c = &self.cfg;
        let (model, rate, poisson, concurrency) = match c.model {
            LoadModel::Open { rate, poisson } => ("open", Some(rate), poisson, None),
            LoadModel::Closed { concurrency } => ("closed", None, false, Some(concurrency)),
        };
        let secs = |ns: u64| Duration::from_nanos(ns).as_secs_f64();
        LoadDescription {
            model,
            rate,
            poisson,
            concurrency,
            duration_s: c.plan.measure_ns.map(secs),
            requests: c.plan.measured_requests,
            warmup_s: secs(c.plan.warmup_ns),
            max_in_flight: c.capacity() as u64,
            timeout_s: c.timeout.as_secs_f64(),
            seed: c.seed,
            payload: PayloadDescription {
                min_bytes: c.payload.min(),
                max_bytes: c.payload.max(),
            },
            mix: c
                .mix
                .entries()
                .iter()
                .map(|e| MixDescription {
                    call: e.call.label(),
                    weight: e.weight,
                })
                .collect(),
            rounds: self.rounds,
        }
    }
}

/// Progress events, for the command line to print.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A run is starting.
    Starting {
        /// Scenario name.
        scenario: &'a str,
        /// 1-based round.
        round: u32,
        /// Target name.
        target: &'a str,
    },
    /// A run ended.
    Finished {
        /// Target name.
        target: &'a str,
        /// Verified responses per second.
        throughput: f64,
        /// Errors of all kinds.
        errors: u64,
    },
}

/// Runs every round of `s`.
pub async fn run_scenario(
    s: &Scenario,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ScenarioReport, RunError> {
    let labels: Vec<String> = s.cfg.mix.entries().iter().map(|e| e.call.label()).collect();
    let open = s.cfg.model.is_open();
    let n = s.targets.len();
    let mut merged: Vec<RunStats> = (0..n).map(|_| RunStats::new(labels.len())).collect();
    let mut throughputs: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut worst_metrics: Vec<Option<GatewayMetricsReport>> = vec![None; n];
    let mut rounds = Vec::new();
    for round in 0..s.rounds.max(1) {
        let mut runs = Vec::new();
        for pos in 0..n {
            let ti = (pos + round as usize) % n;
            let t = &s.targets[ti];
            progress(Progress::Starting {
                scenario: &s.name,
                round: round + 1,
                target: &t.name,
            });
            let out = run_target(t, &s.cfg).await?;
            let mut summary = summarize(&out.stats, &labels, open);
            summary.gateway_metrics = out.metrics.as_ref().map(|m| GatewayMetricsReport {
                url: m.url.clone(),
                loop_lag_p99_max_s: m.loop_lag_p99_max(),
                in_flight_max: m.in_flight_max(),
                samples: m.points.len() as u64,
                failed_scrapes: m.failed_scrapes,
                last_error: m.last_error.clone(),
                points: m.points.clone(),
            });
            if let Some(g) = &summary.gateway_metrics {
                let worse = worst_metrics[ti].as_ref().is_none_or(|w| {
                    g.loop_lag_p99_max_s.unwrap_or(0.0) > w.loop_lag_p99_max_s.unwrap_or(0.0)
                });
                if worse {
                    worst_metrics[ti] = Some(GatewayMetricsReport {
                        points: Vec::new(),
                        ..g.clone()
                    });
                }
            }
            progress(Progress::Finished {
                target: &t.name,
                throughput: summary.throughput_rps,
                errors: summary.errors.total,
            });
            throughputs[ti].push(summary.throughput_rps);
            merged[ti].merge(&out.stats);
            runs.push(RunRecord {
                target: t.name.clone(),
                position: pos as u32,
                started_unix_ms: out.started_unix_ms,
                wall_s: out.wall.as_secs_f64(),
                server: ServerDescription {
                    name: out.server.name.clone(),
                    version: out.server.version.clone(),
                    protocol_version: out.server.protocol_version.clone(),
                },
                resolved_tools: out.resolved_tools.clone(),
                exit_status: out.exit_status.clone(),
                reader_end: match &out.reader_end {
                    crate::conn::ReaderEnd::Eof => "eof".to_string(),
                    crate::conn::ReaderEnd::Stopped => "stopped".to_string(),
                    crate::conn::ReaderEnd::Error(e) => e.clone(),
                },
                write_error: out.write_error.clone(),
                summary,
            });
        }
        rounds.push(RoundReport {
            round: round + 1,
            runs,
        });
    }
    let targets: Vec<TargetReport> = s
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut summary = summarize(&merged[i], &labels, open);
            summary.gateway_metrics = worst_metrics[i].take();
            TargetReport {
                name: t.name.clone(),
                spec: t.spec_text.clone(),
                summary,
                throughput_spread: Spread::of(&throughputs[i]),
            }
        })
        .collect();
    let ratios = ratios(&targets, open);
    Ok(ScenarioReport {
        name: s.name.clone(),
        load: s.describe(),
        targets,
        rounds,
        ratios,
    })
}

/// Each non-first target against the first.
pub fn ratios(targets: &[TargetReport], open: bool) -> Vec<RatioReport> {
    let Some((base, rest)) = targets.split_first() else {
        return Vec::new();
    };
    let div = |a: f64, b: f64| (b > 0.0).then(|| a / b);
    let bl = base.summary.latency.headline().copied();
    rest.iter()
        .map(|t| {
            let tl = t.summary.latency.headline().copied();
            let pair = bl.zip(tl);
            RatioReport {
                target: t.name.clone(),
                baseline: base.name.clone(),
                latency_basis: if open { "corrected" } else { "uncorrected" },
                throughput: div(t.summary.throughput_rps, base.summary.throughput_rps),
                p50: pair.and_then(|(b, x)| div(x.p50_us, b.p50_us)),
                p99: pair.and_then(|(b, x)| div(x.p99_us, b.p99_us)),
                added_p50_us: pair.map(|(b, x)| x.p50_us - b.p50_us),
                added_p99_us: pair.map(|(b, x)| x.p99_us - b.p99_us),
            }
        })
        .collect()
}

//! One run: one fresh target process, handshake, load, drain, stop, and its raw outcome.
//!
//! Owns: [`RunConfig`] (what load to offer) and [`run_target`], which wires the writer, the
//! reader and the optional metrics sampler around one spawned target.
//! Invariants: every run spawns its own target (no state carries between runs or rounds); the
//! run ends only after every issued request has ended (answered, timed out, or lost with the
//! connection); the target is always stopped before `run_target` returns, error or not.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;

use crate::conn::{run_reader, run_writer, Clock, ReaderConfig, ReaderEnd, Shared, WriterConfig};
use crate::handshake::{handshake, resolve_tool, HandshakeError, Pipes, ServerInfo};
use crate::mix::{Call, Mix, PayloadSize, PayloadSource, Template};
use crate::prom::{MetricsSampler, MetricsSeries};
use crate::schedule::{LoadModel, Plan};
use crate::slab::Table;
use crate::stats::RunStats;
use crate::target::{NamedTarget, Spawned, TargetError, TargetSpec, SHUTDOWN_GRACE};

/// Default in-flight cap for open loop when `--max-in-flight` is not given: far above what a
/// healthy target needs, low enough that a dead one cannot make us buffer without bound.
pub const DEFAULT_OPEN_MAX_IN_FLIGHT: usize = 65_536;

/// Everything that defines the load of one run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Open or closed loop.
    pub model: LoadModel,
    /// Warm-up and stop conditions.
    pub plan: Plan,
    /// What is called.
    pub mix: Mix,
    /// Payload sizes.
    pub payload: PayloadSize,
    /// In-flight cap (open loop; closed loop uses its concurrency).
    pub max_in_flight: usize,
    /// Seed for arrivals, picks and payloads.
    pub seed: u64,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl RunConfig {
    /// The slab capacity this run needs.
    pub fn capacity(&self) -> usize {
        match self.model {
            LoadModel::Closed { concurrency } => concurrency as usize,
            LoadModel::Open { .. } => self.max_in_flight,
        }
    }
}

/// Errors that abort a run (anomalies under load are counted, not raised).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The target could not be started.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The handshake failed.
    #[error("target `{target}`: {source}{}", stderr_note(.stderr))]
    Handshake {
        /// Target name.
        target: String,
        /// Why.
        source: HandshakeError,
        /// The target's last stderr output.
        stderr: String,
    },
}

fn stderr_note(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("\n--- target stderr (tail) ---\n{s}")
    }
}

/// The raw outcome of one run.
#[derive(Debug)]
pub struct RunOutcome {
    /// Measurements.
    pub stats: RunStats,
    /// What the target said about itself.
    pub server: ServerInfo,
    /// Resolved tool name per mix entry (`None` for plain methods).
    pub resolved_tools: Vec<Option<String>>,
    /// Why the reader stopped.
    pub reader_end: ReaderEnd,
    /// Set when writing to the target failed.
    pub write_error: Option<String>,
    /// The target's exit status.
    pub exit_status: String,
    /// Unix time (ms) the run started.
    pub started_unix_ms: u64,
    /// Wall time of the whole run, handshake and shutdown included.
    pub wall: Duration,
    /// Gateway metrics sampled during the run.
    pub metrics: Option<MetricsSeries>,
}

/// Runs `cfg` against a fresh instance of `target`.
pub async fn run_target(target: &NamedTarget, cfg: &RunConfig) -> Result<RunOutcome, RunError> {
    target.ensure_supported()?;
    let TargetSpec::Stdio { program, args } = &target.spec else {
        return Err(TargetError::HttpNotYet(target.spec_text.clone()).into());
    };
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let wall_start = Instant::now();
    let mut child = Spawned::start(program, args)?;
    let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
        child.kill_now();
        let source = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        return Err(TargetError::Spawn {
            program: program.clone(),
            source,
        }
        .into());
    };
    let fail = |child: &mut Spawned, source| {
        child.kill_now();
        RunError::Handshake {
            target: target.name.clone(),
            source,
            stderr: child.stderr_tail(),
        }
    };

    let mut buf = BytesMut::with_capacity(64 * 1024);
    let server = match handshake(Pipes {
        stdin: &mut stdin,
        stdout: &mut stdout,
        buf: &mut buf,
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            // Give stderr a moment to arrive: it usually says why.
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Err(fail(&mut child, e));
        }
    };
    let mut resolved_tools = Vec::new();
    let mut templates = Vec::new();
    for e in cfg.mix.entries() {
        let resolved = match &e.call {
            Call::Tool(t) => match resolve_tool(t, &server.tools, target.tool_prefix.as_deref()) {
                Ok(name) => Some(name),
                Err(err) => return Err(fail(&mut child, err)),
            },
            Call::Method(_) => None,
        };
        templates.push(Template::new(&e.call, resolved.as_deref()));
        resolved_tools.push(resolved);
    }
    let templates = Arc::new(templates);
    let payload = Arc::new(PayloadSource::new(cfg.payload, cfg.seed));
    let shared = Shared::new(Table::new(cfg.capacity(), cfg.timeout.as_nanos() as u64));

    // The clock starts after the handshake: warm-up and schedules are relative to the first
    // request, not to the target's start-up.
    let clock = Clock::start();
    let reader_cfg = ReaderConfig {
        templates: templates.clone(),
        is_tool: cfg
            .mix
            .entries()
            .iter()
            .map(|e| matches!(e.call, Call::Tool(_)))
            .collect(),
        payload: payload.clone(),
        open_loop: cfg.model.is_open(),
        warmup_ns: cfg.plan.warmup_ns,
        sweep_every: (cfg.timeout / 16).clamp(Duration::from_millis(1), Duration::from_millis(50)),
    };
    let mut reader = tokio::spawn(run_reader(stdout, buf, shared.clone(), reader_cfg, clock));
    let sampler = target
        .metrics_url
        .as_ref()
        .map(|url| MetricsSampler::start(url.clone()));
    let writer_cfg = WriterConfig {
        model: cfg.model,
        plan: cfg.plan,
        templates,
        mix: cfg.mix.clone(),
        payload,
        seed: cfg.seed,
    };
    let mut writer = tokio::spawn(run_writer(stdin, shared.clone(), writer_cfg, clock));

    // Cancel safety: `notified` is cancel-safe and polling `&mut writer` does not consume it.
    // The writer only ends early if it panicked; then there is nothing left to wait for.
    let mut writer_done = None;
    tokio::select! {
        () = shared.drained.notified() => {}
        r = &mut writer => writer_done = Some(r),
    }
    let metrics = match sampler {
        Some(s) => Some(s.finish().await),
        None => None,
    };
    shared.request_close();
    let wstats = match writer_done {
        Some(r) => r.ok(),
        None => writer.await.ok(),
    };
    let exit_status = child.stop().await;
    // The target has exited, so its stdout is at EOF unless a grandchild still holds it.
    // Cancel safety: polling `&mut reader` does not consume the JoinHandle.
    let joined = tokio::select! {
        r = &mut reader => r,
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            shared.stop_reader.notify_one();
            reader.await
        }
    };
    let (mut stats, reader_end) = match joined {
        Ok(r) => r,
        Err(e) => (
            RunStats::new(cfg.mix.entries().len()),
            ReaderEnd::Error(format!("reader task failed: {e}")),
        ),
    };
    let mut write_error = None;
    if let Some(w) = wstats {
        stats.backlog = w.backlog;
        stats.capped_sends = w.capped_sends;
        stats.sent = w.sent;
        stats.measured_sent = w.measured_sent;
        stats.max_in_flight = w.max_in_flight;
        write_error = w.write_error;
    }
    Ok(RunOutcome {
        stats,
        server,
        resolved_tools,
        reader_end,
        write_error,
        exit_status,
        started_unix_ms,
        wall: wall_start.elapsed(),
        metrics,
    })
}

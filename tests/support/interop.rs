//! Shared harness for the interop tests: finds the third-party "anchor" software installed by
//! `scripts/setup-anchors.sh` in `.anchors/`, and runs `tests/interop/driver.py` (the PyPI
//! `mcp` SDK's stdio client) against a server command with a hard wall-clock limit.
//!
//! Invariants:
//! - Missing anchors never pass silently in CI: with `CI` set, `Anchors::require` panics with
//!   the fix; elsewhere it writes a loud SKIPPED line straight to the terminal (bypassing the
//!   test harness's output capture) and the test returns early.
//! - No driver outlives its limit: after `DRIVER_HARD_LIMIT` it gets SIGINT (so the SDK's
//!   cleanup kills the server's process tree), then SIGKILL after `DRIVER_GRACE`.
//! - Every failure message carries the driver's JSON summary and the tail of its stderr.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The driver's own deadline for one scenario (`driver.py --deadline`). Generous: two shared
/// cores, a debug-build gateway and node's start-up; a healthy run takes about one second.
pub const DRIVER_DEADLINE_SECS: u64 = 45;
/// Wall-clock limit for the driver process; past it the test kills the driver and fails.
/// Longer than the deadline so the driver can report its own timeout first.
pub const DRIVER_HARD_LIMIT: Duration = Duration::from_secs(60);
/// How long the driver gets to clean up (kill its server) after SIGINT before SIGKILL.
pub const DRIVER_GRACE: Duration = Duration::from_secs(10);
/// How often the harness checks whether the driver has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// How much of the driver's stderr a failure message shows.
const STDERR_TAIL_BYTES: usize = 4000;
/// The message that tells a developer or CI how to get the anchors.
pub const SETUP_HINT: &str = "run scripts/setup-anchors.sh";

/// Paths to the installed anchor software (all absolute).
#[derive(Debug, Clone)]
pub struct Anchors {
    /// The repository root.
    pub root: PathBuf,
    /// `.anchors/venv/bin/python`: has `mcp` 2.3.0 and `mcp-server-time`.
    pub python: PathBuf,
    /// server-everything's entry point, run as `node <it> stdio`.
    pub everything_js: PathBuf,
}

impl Anchors {
    /// Returns the anchors, or `None` after a loud SKIPPED when they are missing outside CI.
    ///
    /// # Panics
    /// When the anchors are missing and the `CI` environment variable is set.
    pub fn require(test: &str) -> Option<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let base = root.join(".anchors");
        let anchors = Self {
            python: base.join("venv/bin/python"),
            everything_js: base
                .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
            root,
        };
        let needed = [
            base.join(".stamp"),
            anchors.python.clone(),
            anchors.everything_js.clone(),
        ];
        let missing: Vec<String> = needed
            .iter()
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if missing.is_empty() {
            return Some(anchors);
        }
        if std::env::var_os("CI").is_some() {
            panic!(
                "{test}: interop anchors missing ({}); {SETUP_HINT}",
                missing.join(", ")
            );
        }
        // Straight to the terminal: the test harness captures eprintln! of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** {test}: SKIPPED ({SETUP_HINT}); missing: {} ***\n",
            missing.join(", ")
        );
        None
    }

    /// The command line that starts server-everything over stdio.
    pub fn everything_command(&self) -> Vec<String> {
        vec![
            "node".into(),
            path_string(&self.everything_js),
            "stdio".into(),
        ]
    }

    /// The command line that starts mcp-server-time over stdio, local zone UTC.
    pub fn time_command(&self) -> Vec<String> {
        let args = ["-m", "mcp_server_time", "--local-timezone", "UTC"];
        std::iter::once(path_string(&self.python))
            .chain(args.into_iter().map(String::from))
            .collect()
    }

    /// Runs one driver scenario against `server` (argv of the stdio server to spawn).
    pub fn run(&self, scenario: &str, mode: &str, server: &[String]) -> DriverRun {
        let deadline = DRIVER_DEADLINE_SECS.to_string();
        self.run_with_deadline(scenario, mode, &deadline, server)
    }

    /// Like [`Anchors::run`] with an explicit `--deadline` (seconds) for the driver.
    pub fn run_with_deadline(
        &self,
        scenario: &str,
        mode: &str,
        deadline: &str,
        server: &[String],
    ) -> DriverRun {
        let driver = self.root.join("tests/interop/driver.py");
        let mut command = Command::new(&self.python);
        command
            .arg(driver)
            .args([
                "--scenario",
                scenario,
                "--mode",
                mode,
                "--deadline",
                deadline,
                "--",
            ])
            .args(server)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let label = format!("driver.py --scenario {scenario} --mode {mode}");
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label}: {e}"));
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let (status, killed) = wait_bounded(&mut child);
        let stdout = join(stdout);
        let stderr = join(stderr);
        let summary = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        DriverRun {
            label,
            status,
            killed,
            summary,
            stdout,
            stderr,
        }
    }
}

/// What one driver run produced.
#[derive(Debug)]
pub struct DriverRun {
    /// Which scenario and mode ran, for messages.
    pub label: String,
    /// The driver's exit status.
    pub status: ExitStatus,
    /// True when the harness had to kill the driver at its hard limit.
    pub killed: bool,
    /// The JSON summary line (`Value::Null` if the driver printed none).
    pub summary: Value,
    /// All of the driver's stdout.
    pub stdout: String,
    /// All of the driver's stderr (the server's stderr too).
    pub stderr: String,
}

impl DriverRun {
    /// A description of the run for assertion messages.
    pub fn report(&self) -> String {
        let tail_from = self.stderr.len().saturating_sub(STDERR_TAIL_BYTES);
        let tail_from = (tail_from..self.stderr.len())
            .find(|&i| self.stderr.is_char_boundary(i))
            .unwrap_or(self.stderr.len());
        let summary = match &self.summary {
            // No summary line: show whatever the driver did print instead.
            Value::Null => format!("(none) stdout was: {:?}", self.stdout),
            value => serde_json::to_string_pretty(value).unwrap_or_default(),
        };
        let killed = if self.killed {
            " (KILLED at the hard limit)"
        } else {
            ""
        };
        format!(
            "{}: status {:?}{killed}\n--- summary ---\n{summary}\n--- stderr (tail) ---\n{}",
            self.label,
            self.status.code(),
            &self.stderr[tail_from..],
        )
    }

    /// Asserts the scenario passed: exit 0, `ok: true`, and exactly these checks ran.
    pub fn assert_passed(&self, checks: &[&str]) {
        assert!(!self.killed, "driver hung\n{}", self.report());
        assert!(self.status.success(), "driver failed\n{}", self.report());
        assert_eq!(self.summary["ok"], Value::Bool(true), "{}", self.report());
        let ran: Vec<&str> = self.summary["checks"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(ran, checks, "checks that ran\n{}", self.report());
    }

    /// Asserts the scenario failed cleanly: exit 1, `ok: false`, an error containing `needle`.
    #[allow(
        dead_code,
        reason = "each test crate compiles this module on its own; only the harness self-tests use it"
    )]
    pub fn assert_failed_with(&self, needle: &str) {
        assert!(!self.killed, "driver hung\n{}", self.report());
        assert_eq!(self.status.code(), Some(1), "{}", self.report());
        assert_eq!(self.summary["ok"], Value::Bool(false), "{}", self.report());
        let error = self.summary["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(needle),
            "expected an error with {needle:?}\n{}",
            self.report()
        );
    }

    /// A string field of the summary at a JSON pointer (e.g. `/facts/echo_text`).
    pub fn str_at(&self, pointer: &str) -> &str {
        self.summary
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no string at {pointer}\n{}", self.report()))
    }

    /// The strings of an array field of the summary at a JSON pointer.
    pub fn strs_at(&self, pointer: &str) -> Vec<&str> {
        self.summary
            .pointer(pointer)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("no array at {pointer}\n{}", self.report()))
            .iter()
            .filter_map(Value::as_str)
            .collect()
    }
}

/// A path as a `String` for argv and YAML (the anchors live under the repository, whose path is
/// valid UTF-8 wherever cargo runs these tests).
pub fn path_string(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(reader: JoinHandle<String>) -> String {
    reader
        .join()
        .unwrap_or_else(|_| String::from("<pipe reader panicked>"))
}

/// Waits for the driver, killing it at the hard limit; returns its status and whether it was
/// killed.
fn wait_bounded(child: &mut Child) -> (ExitStatus, bool) {
    let started = Instant::now();
    let mut interrupted: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (status, interrupted.is_some()),
            Ok(None) => {}
            Err(e) => panic!("waiting for the driver failed: {e}"),
        }
        match interrupted {
            None if started.elapsed() >= DRIVER_HARD_LIMIT => {
                // SIGINT becomes KeyboardInterrupt in Python, so the SDK still kills the server's
                // process group (it runs in its own session, out of reach of a plain kill).
                if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                    // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
                    unsafe { libc::kill(pid, libc::SIGINT) };
                }
                interrupted = Some(Instant::now());
            }
            Some(at) if at.elapsed() >= DRIVER_GRACE => {
                let _ = child.kill();
                let status = child
                    .wait()
                    .unwrap_or_else(|e| panic!("reaping the driver: {e}"));
                return (status, true);
            }
            _ => {}
        }
        thread::sleep(POLL_INTERVAL);
    }
}

//! Upstream child processes: spawned in their own process group, stopped the way MCP asks
//! (close stdin, wait, SIGTERM the group, wait, SIGKILL the group), always reaped.
//!
//! Invariant: every child spawned here is either reaped by [`ChildProcess::stop`] / [`ChildProcess::wait`]
//! or killed on drop (`kill_on_drop`), so the gateway leaves no orphans and no zombies.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use crate::config::UpstreamConfig;

/// How long a child gets to exit on its own after its stdin is closed, before SIGTERM.
pub const STDIN_CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long a child gets after SIGTERM before SIGKILL.
pub const SIGTERM_GRACE: Duration = Duration::from_secs(2);

/// A spawned upstream process with its three pipes taken out.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    pgid: Option<i32>,
}

/// The pipes of a freshly spawned child.
#[derive(Debug)]
pub struct ChildPipes {
    /// The child's stdin (our writes).
    pub stdin: ChildStdin,
    /// The child's stdout (protocol messages).
    pub stdout: ChildStdout,
    /// The child's stderr (logs, drained continuously).
    pub stderr: ChildStderr,
}

impl ChildProcess {
    /// Spawns `cfg.command` with piped stdio in a new process group, with `cfg.env` added to the
    /// inherited environment and `cfg.cwd` as working directory.
    pub fn spawn(cfg: &UpstreamConfig) -> io::Result<(ChildProcess, ChildPipes)> {
        let (program, args) = cfg
            .command
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(&cfg.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &cfg.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd.spawn()?;
        let pgid = child.id().map(|p| p as i32);
        let missing = || io::Error::other("child pipe missing");
        let pipes = ChildPipes {
            stdin: child.stdin.take().ok_or_else(missing)?,
            stdout: child.stdout.take().ok_or_else(missing)?,
            stderr: child.stderr.take().ok_or_else(missing)?,
        };
        Ok((ChildProcess { child, pgid }, pipes))
    }

    /// The child's process id (also its process group id), while it has not been reaped.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for the child to exit. Cancel-safe (tokio's `Child::wait` is).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Stops the child: the caller has already closed its stdin (dropped the writer); waits
    /// `stdin_grace`, then SIGTERMs the process group, waits `term_grace`, then SIGKILLs the group.
    /// Always reaps the child.
    pub async fn stop(
        &mut self,
        stdin_grace: Duration,
        term_grace: Duration,
    ) -> io::Result<ExitStatus> {
        if let Ok(Ok(status)) = tokio::time::timeout(stdin_grace, self.child.wait()).await {
            self.kill_group(libc::SIGKILL); // stray grandchildren of an exited leader
            return Ok(status);
        }
        self.kill_group(libc::SIGTERM);
        if let Ok(Ok(status)) = tokio::time::timeout(term_grace, self.child.wait()).await {
            self.kill_group(libc::SIGKILL);
            return Ok(status);
        }
        self.kill_group(libc::SIGKILL);
        let _ = self.child.start_kill();
        self.child.wait().await
    }

    fn kill_group(&self, signal: i32) {
        if let Some(pgid) = self.pgid {
            // SAFETY: kill(2) with a negative pid signals the process group we created with
            // process_group(0); it has no memory-safety preconditions. ESRCH (group gone) is fine.
            unsafe {
                libc::kill(-pgid, signal);
            }
        }
    }
}

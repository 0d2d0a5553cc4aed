//! Targets: parsing `stdio:CMD ARGS…` / `NAME=SPEC`, and spawning and stopping a stdio target.
//!
//! Owns: [`TargetSpec`], [`NamedTarget`], and the child process's lifecycle ([`Spawned`]).
//! Invariants: the child runs in its own process group, so stopping it also stops whatever it
//! spawned (a gateway's upstream servers); its stderr is always drained (a full stderr pipe
//! would stall it) and the tail is kept for error messages; stopping is EOF on stdin first, then
//! SIGTERM to the group, then SIGKILL, each after a grace period.

use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Pipe buffer requested for the target's stdin and stdout: fewer wake-ups under pipelining.
/// The kernel caps it at `/proc/sys/fs/pipe-max-size` (1 MiB by default); failure is harmless.
const PIPE_BYTES: libc::c_int = 1024 * 1024;
/// How much of the target's stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// Time a target gets to exit after EOF on stdin, and again after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Errors about targets.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The spec is not understood.
    #[error("bad target `{0}`: expected stdio:CMD [ARGS…] or an http(s):// URL")]
    BadSpec(String),
    /// HTTP is not supported yet.
    #[error(
        "target `{0}`: HTTP targets arrive with the HTTP transport; use a stdio: target for now"
    )]
    HttpNotYet(String),
    /// Spawning failed.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
}

/// How to reach a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A command spoken to over its stdin/stdout.
    Stdio {
        /// Program path or name.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// A Streamable HTTP endpoint (parsed, not yet driven).
    Http {
        /// The URL.
        url: String,
    },
}

impl TargetSpec {
    /// Parses `stdio:CMD ARGS…` (shell-like quoting) or `http://…`.
    pub fn parse(s: &str) -> Result<Self, TargetError> {
        let s = s.trim();
        if let Some(cmd) = s.strip_prefix("stdio:") {
            let mut words = split_words(cmd).ok_or_else(|| TargetError::BadSpec(s.into()))?;
            if words.is_empty() {
                return Err(TargetError::BadSpec(s.into()));
            }
            let program = words.remove(0);
            return Ok(Self::Stdio {
                program,
                args: words,
            });
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            return Ok(Self::Http { url: s.to_string() });
        }
        Err(TargetError::BadSpec(s.into()))
    }
}

/// A target with the name it is reported under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTarget {
    /// Report name.
    pub name: String,
    /// The spec as given.
    pub spec_text: String,
    /// Parsed spec.
    pub spec: TargetSpec,
    /// Tool-name prefix forced for this target (otherwise detected from `tools/list`).
    pub tool_prefix: Option<String>,
    /// Prometheus endpoint sampled while this target runs.
    pub metrics_url: Option<String>,
}

impl NamedTarget {
    /// Parses `NAME=SPEC` or a bare `SPEC` (named `default_name`).
    pub fn parse(s: &str, default_name: &str) -> Result<Self, TargetError> {
        let s = s.trim();
        let bare = s.starts_with("stdio:") || s.starts_with("http://") || s.starts_with("https://");
        let (name, spec_text) = match s.split_once('=') {
            Some((n, rest)) if !bare && !n.is_empty() && !n.contains(char::is_whitespace) => {
                (n, rest)
            }
            _ => (default_name, s),
        };
        Ok(Self {
            name: name.to_string(),
            spec_text: spec_text.to_string(),
            spec: TargetSpec::parse(spec_text)?,
            tool_prefix: None,
            metrics_url: None,
        })
    }

    /// Fails for targets this build cannot drive yet.
    pub fn ensure_supported(&self) -> Result<(), TargetError> {
        match &self.spec {
            TargetSpec::Stdio { .. } => Ok(()),
            TargetSpec::Http { url } => Err(TargetError::HttpNotYet(url.clone())),
        }
    }
}

/// Splits a command line into words: whitespace separates, `'…'` is literal, `"…"` allows `\"`
/// and `\\`, a backslash outside quotes escapes the next character. `None` on an open quote.
pub fn split_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\') => cur.push(c),
                            c => {
                                cur.push('\\');
                                cur.push(c);
                            }
                        },
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next()?);
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// A running stdio target.
#[derive(Debug)]
pub struct Spawned {
    /// The child.
    pub child: Child,
    /// Its stdin (taken by the writer).
    pub stdin: Option<ChildStdin>,
    /// Its stdout (taken by the reader).
    pub stdout: Option<ChildStdout>,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
}

impl Spawned {
    /// Starts `program args` with piped stdio in its own process group.
    pub fn start(program: &str, args: &[String]) -> Result<Self, TargetError> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| TargetError::Spawn {
            program: program.into(),
            source,
        })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        if let Some(s) = &stdin {
            set_pipe_size(s.as_raw_fd());
        }
        if let Some(s) = &stdout {
            set_pipe_size(s.as_raw_fd());
        }
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut err) = child.stderr.take() {
            let tail = stderr_tail.clone();
            // Session-boundary task: lives exactly as long as the child's stderr.
            tokio::spawn(async move {
                let mut chunk = vec![0u8; 4096];
                while let Ok(n @ 1..) = err.read(&mut chunk).await {
                    let mut t = tail.lock().unwrap_or_else(PoisonError::into_inner);
                    t.extend_from_slice(&chunk[..n]);
                    if t.len() > STDERR_TAIL_BYTES {
                        let cut = t.len() - STDERR_TAIL_BYTES;
                        t.drain(..cut);
                    }
                }
            });
        }
        Ok(Self {
            child,
            stdin,
            stdout,
            stderr_tail,
        })
    }

    /// The last few KiB of the target's stderr, lossily decoded.
    pub fn stderr_tail(&self) -> String {
        let t = self
            .stderr_tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&t).trim().to_string()
    }

    /// Stops the target (its stdin must already be closed): wait, SIGTERM the group, wait,
    /// SIGKILL. Returns the exit status text.
    pub async fn stop(&mut self) -> String {
        if let Ok(Ok(st)) = tokio::time::timeout(SHUTDOWN_GRACE, self.child.wait()).await {
            return st.to_string();
        }
        self.signal_group(libc::SIGTERM);
        if let Ok(Ok(st)) = tokio::time::timeout(SHUTDOWN_GRACE, self.child.wait()).await {
            return format!("{st} (after SIGTERM)");
        }
        self.signal_group(libc::SIGKILL);
        match self.child.wait().await {
            Ok(st) => format!("{st} (after SIGKILL)"),
            Err(e) => format!("unknown ({e})"),
        }
    }

    /// Kills the whole process group at once (used when a run is abandoned).
    pub fn kill_now(&mut self) {
        self.signal_group(libc::SIGKILL);
    }

    fn signal_group(&self, sig: libc::c_int) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) has no memory-safety preconditions. The group id is the child's
            // pid because of `process_group(0)`; the negative pid addresses the group.
            unsafe {
                libc::kill(-(pid as libc::pid_t), sig);
            }
        }
    }
}

fn set_pipe_size(fd: std::os::fd::RawFd) {
    #[cfg(target_os = "linux")]
    // SAFETY: fcntl(F_SETPIPE_SZ) on a pipe fd we own; failure is reported by the return value,
    // which is ignored because the default size works, only slower.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_BYTES);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stdio_specs_with_quoting() {
        let t = TargetSpec::parse(r#"stdio:/bin/mock --name 'a b' "c \"d\"" e\ f"#).unwrap();
        assert_eq!(
            t,
            TargetSpec::Stdio {
                program: "/bin/mock".into(),
                args: vec![
                    "--name".into(),
                    "a b".into(),
                    "c \"d\"".into(),
                    "e f".into()
                ]
            }
        );
        assert!(TargetSpec::parse("stdio:").is_err());
        assert!(TargetSpec::parse("stdio:'open").is_err());
        assert!(TargetSpec::parse("mock").is_err());
    }

    #[test]
    fn parses_named_targets_and_rejects_http_for_now() {
        let t = NamedTarget::parse("gateway=stdio:gw --config=x.yaml", "t").unwrap();
        assert_eq!(t.name, "gateway");
        assert_eq!(
            t.spec,
            TargetSpec::Stdio {
                program: "gw".into(),
                args: vec!["--config=x.yaml".into()]
            }
        );
        let t = NamedTarget::parse("stdio:mock --a=b", "direct").unwrap();
        assert_eq!(t.name, "direct");
        let t = NamedTarget::parse("remote=http://127.0.0.1:9/mcp", "t").unwrap();
        assert_eq!(
            t.spec,
            TargetSpec::Http {
                url: "http://127.0.0.1:9/mcp".into()
            }
        );
        let err = t.ensure_supported().unwrap_err().to_string();
        assert!(
            err.contains("HTTP targets arrive with the HTTP transport"),
            "{err}"
        );
    }
}

//! Test support: spawn the real `gatekit-gateway` and `gatekit-mock` binaries over real pipes and
//! talk raw NDJSON to them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long a test waits for one message before failing (generous: shared 2-core machines).
pub const RECV_TIMEOUT: Duration = Duration::from_secs(20);

pub fn gateway_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gatekit-gateway")
}

pub fn mock_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gatekit-mock")
}

/// YAML for one mock upstream named `name` with extra mock flags.
pub fn mock_upstream(name: &str, flags: &[&str]) -> String {
    let mut cmd = vec![
        format!("{:?}", mock_bin()),
        format!("\"--name\""),
        format!("{name:?}"),
    ];
    cmd.extend(flags.iter().map(|f| format!("{f:?}")));
    format!("    - name: {name}\n      command: [{}]\n", cmd.join(", "))
}

/// A complete config with the given upstream entries and extra `proxy:` lines.
pub fn config(upstreams: &[String], proxy_extra: &str) -> String {
    format!(
        "proxy:\n  transport: stdio\n  upstreams:\n{}{proxy_extra}logging:\n  level: DEBUG\n  handlers: [stderr]\n",
        upstreams.concat()
    )
}

/// A raw line-oriented peer over a child's stdin/stdout.
pub struct Peer {
    pub child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr_task: Option<tokio::task::JoinHandle<String>>,
    pub dir: tempfile::TempDir,
}

impl Peer {
    /// Spawns the gateway with `yaml` written to a temp config file.
    pub fn gateway(yaml: &str) -> Peer {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gatekit.yaml");
        std::fs::write(&path, yaml).expect("write config");
        Self::spawn(gateway_bin(), &["--config".as_ref(), path.as_os_str()], dir)
    }

    /// Spawns the mock directly (no gateway).
    pub fn mock(flags: &[&str]) -> Peer {
        let dir = tempfile::tempdir().expect("tempdir");
        let args: Vec<&std::ffi::OsStr> = flags.iter().map(|f| f.as_ref()).collect();
        Self::spawn(mock_bin(), &args, dir)
    }

    fn spawn(bin: &str, args: &[&std::ffi::OsStr], dir: tempfile::TempDir) -> Peer {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn");
        let stdin = child.stdin.take();
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout"));
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr_task = tokio::spawn(async move {
            let mut s = Vec::new();
            let _ = stderr.read_to_end(&mut s).await;
            String::from_utf8_lossy(&s).into_owned()
        });
        Peer {
            child,
            stdin,
            stdout,
            stderr_task: Some(stderr_task),
            dir,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).await.expect("write");
        stdin.flush().await.expect("flush");
    }

    pub async fn send(&mut self, line: &str) {
        let mut b = line.as_bytes().to_vec();
        b.push(b'\n');
        self.send_raw(&b).await;
    }

    pub async fn send_json(&mut self, v: &Value) {
        self.send(&v.to_string()).await;
    }

    /// The next line, without its newline; panics after [`RECV_TIMEOUT`] or at EOF.
    pub async fn recv_raw(&mut self) -> Vec<u8> {
        self.try_recv_raw(RECV_TIMEOUT)
            .await
            .expect("a line before timeout/EOF")
    }

    /// The next line, or None on EOF or timeout.
    pub async fn try_recv_raw(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        match tokio::time::timeout(timeout, self.stdout.read_until(b'\n', &mut buf)).await {
            Ok(Ok(0)) | Err(_) => None,
            Ok(Ok(_)) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                Some(buf)
            }
            Ok(Err(e)) => panic!("read: {e}"),
        }
    }

    pub async fn recv(&mut self) -> Value {
        let raw = self.recv_raw().await;
        serde_json::from_slice(&raw)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&raw)))
    }

    /// The next message that is not a notification.
    pub async fn recv_reply(&mut self) -> Value {
        loop {
            let v = self.recv().await;
            if v.get("id").is_some() {
                return v;
            }
        }
    }

    /// initialize + notifications/initialized, returning the initialize result.
    pub async fn initialize_with(&mut self, capabilities: Value) -> Value {
        self.send_json(
            &json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":capabilities,
            "clientInfo":{"name":"gatekit-tests","version":"1"}}}),
        )
        .await;
        let r = self.recv_reply().await;
        assert_eq!(r["id"], "init", "initialize reply: {r}");
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await;
        r
    }

    pub async fn initialize(&mut self) -> Value {
        self.initialize_with(json!({})).await
    }

    /// Sends a request and returns its reply (notifications in between are skipped).
    pub async fn request(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send_json(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))
            .await;
        let r = self.recv_reply().await;
        assert_eq!(r["id"], id, "reply to {method}: {r}");
        r
    }

    pub async fn call(&mut self, id: Value, tool: &str, args: Value) -> Value {
        self.request(id, "tools/call", json!({"name": tool, "arguments": args}))
            .await
    }

    /// Closes stdin and waits for exit; returns (exit code, stderr).
    pub async fn finish(mut self) -> (Option<i32>, String) {
        self.stdin.take();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exit within 30 s")
            .expect("wait");
        let stderr = match self.stderr_task.take() {
            Some(t) => t.await.unwrap_or_default(),
            None => String::new(),
        };
        (status.code(), stderr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }
}

/// Parses the `gatekit stats: {...}` line the gateway logs at exit.
pub fn gateway_stats(stderr: &str) -> Value {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains("gatekit stats: "))
        .unwrap_or_else(|| panic!("no stats line in:\n{stderr}"));
    let json = &line[line.find("gatekit stats: ").unwrap() + "gatekit stats: ".len()..];
    serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("bad stats json {e}: {json}"))
}

/// The text of a tools/call result's first content item.
pub fn text_of(reply: &Value) -> String {
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {reply}"))
        .to_owned()
}

/// Whether a process is alive (not a zombie either).
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Field 3 is the state; Z = zombie, X = dead.
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("X");
    state != "Z" && state != "X"
}

pub fn read_lines(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_default();
    data.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

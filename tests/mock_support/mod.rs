//! Shared helpers for the mock's tests: a raw NDJSON client over any byte stream, the real
//! `gatekit-mock` binary spawned over real pipes, and an in-process session over
//! `tokio::io::duplex`.
#![allow(dead_code)] // each test crate uses a different subset

use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use gatekit::mock::{serve_session, Behaviour, SessionEnd};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

/// Generous bound for "this line must arrive": only hit when the mock is broken.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(20);

/// A raw newline-delimited JSON client.
pub struct Raw<R, W> {
    pub r: R,
    pub w: Option<W>,
    buf: BytesMut,
    /// Number of `read` calls that returned data (the drip test looks at it).
    pub reads: usize,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Raw<R, W> {
    pub fn new(r: R, w: W) -> Self {
        Self {
            r,
            w: Some(w),
            buf: BytesMut::new(),
            reads: 0,
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let w = self.w.as_mut().expect("input still open");
        w.write_all(bytes).await.expect("write to mock");
        w.flush().await.expect("flush to mock");
    }

    pub async fn send(&mut self, v: &Value) {
        let mut line = serde_json::to_vec(v).expect("json");
        line.push(b'\n');
        self.send_raw(&line).await;
    }

    pub async fn request(&mut self, id: Value, method: &str, params: Value) {
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))
            .await;
    }

    pub async fn call(&mut self, id: Value, tool: &str, arguments: Value) {
        self.request(
            id,
            "tools/call",
            json!({"name": tool, "arguments": arguments}),
        )
        .await;
    }

    /// Closes our side of the input (the mock sees EOF).
    pub async fn close_input(&mut self) {
        if let Some(mut w) = self.w.take() {
            let _ = w.shutdown().await;
        }
    }

    async fn fill(&mut self) -> usize {
        self.buf.reserve(64 * 1024);
        let n = tokio::time::timeout(LINE_TIMEOUT, self.r.read_buf(&mut self.buf))
            .await
            .expect("mock output timed out")
            .expect("read from mock");
        if n > 0 {
            self.reads += 1;
        }
        n
    }

    /// The next raw line without its `\n`; `None` at EOF (a partial last line is returned by
    /// [`Self::read_rest`] instead).
    pub async fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf) {
                let line = self.buf[..i].to_vec();
                self.buf.advance(i + 1);
                return Some(line);
            }
            if self.fill().await == 0 {
                return None;
            }
        }
    }

    /// Everything up to EOF (including a last line without newline).
    pub async fn read_rest(&mut self) -> Vec<u8> {
        while self.fill().await > 0 {}
        let rest = self.buf.to_vec();
        self.buf.clear();
        rest
    }

    /// The next line parsed as JSON.
    pub async fn json(&mut self) -> Value {
        let line = self.line().await.expect("a line before EOF");
        serde_json::from_slice(&line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&line)))
    }

    /// Reads until the message with `id` (a response), returning it and what came before.
    pub async fn until_id(&mut self, id: &Value) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let v = self.json().await;
            if v.get("id") == Some(id) && v.get("method").is_none() {
                return (v, before);
            }
            before.push(v);
        }
    }

    /// `initialize` + `notifications/initialized`; returns the initialize result.
    pub async fn initialize(&mut self, capabilities: Value) -> Value {
        self.request(
            json!("init"),
            "initialize",
            json!({"protocolVersion":"2025-11-25","capabilities":capabilities,
                   "clientInfo":{"name":"mock-test","version":"0"}}),
        )
        .await;
        let (v, _) = self.until_id(&json!("init")).await;
        self.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await;
        v["result"].clone()
    }
}

/// The real binary over real pipes.
pub struct MockProc {
    pub child: Child,
    pub io: Raw<ChildStdout, ChildStdin>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl MockProc {
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatekit-mock"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn gatekit-mock");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        // Drain stderr continuously, as a real parent must.
        let stderr = tokio::spawn(async move {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all).await;
            all
        });
        Self {
            child,
            io: Raw::new(stdout, stdin),
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id().expect("running")).expect("pid")
    }

    /// Waits for exit; returns the status and all of stderr.
    pub async fn wait(mut self) -> (ExitStatus, String) {
        let status = tokio::time::timeout(LINE_TIMEOUT, self.child.wait())
            .await
            .expect("mock did not exit")
            .expect("wait");
        let stderr = self
            .stderr
            .take()
            .expect("stderr task")
            .await
            .expect("stderr join");
        (status, String::from_utf8_lossy(&stderr).into_owned())
    }

    /// Closes stdin and waits for exit.
    pub async fn finish(mut self) -> (ExitStatus, String) {
        self.io.close_input().await;
        self.wait().await
    }
}

/// The counters from the `gatekit-mock stats: {...}` exit line.
pub fn stats(stderr: &str) -> Value {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("gatekit-mock stats: "))
        .unwrap_or_else(|| panic!("no stats line in stderr:\n{stderr}"));
    serde_json::from_str(line).expect("stats json")
}

pub type Duplex = tokio::io::DuplexStream;
pub type DuplexRaw = Raw<tokio::io::ReadHalf<Duplex>, tokio::io::WriteHalf<Duplex>>;

/// An in-process session over `tokio::io::duplex`.
pub struct InProc {
    pub io: DuplexRaw,
    pub behaviour: Arc<Behaviour>,
    pub session: JoinHandle<std::io::Result<SessionEnd>>,
}

impl InProc {
    pub fn start(flags: &[&str]) -> Self {
        let behaviour = Arc::new(
            Behaviour::parse_from(std::iter::once("gatekit-mock").chain(flags.iter().copied()))
                .expect("valid flags"),
        );
        let (client, server) = tokio::io::duplex(1 << 20);
        let (sr, sw) = tokio::io::split(server);
        let session = tokio::spawn(serve_session(behaviour.clone(), sr, sw));
        let (cr, cw) = tokio::io::split(client);
        Self {
            io: Raw::new(cr, cw),
            behaviour,
            session,
        }
    }

    /// Closes the input and returns how the session ended.
    pub async fn finish(mut self) -> SessionEnd {
        self.io.close_input().await;
        self.session.await.expect("join").expect("session io")
    }
}

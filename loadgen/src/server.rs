//! A tiny stdio MCP echo server with fault switches, for the load generator's own tests.
//!
//! Owns: the hidden `__test-server` subcommand. It answers `initialize`, `tools/list` (one tool,
//! `<prefix>echo`), `ping` and `tools/call` of echo (text = `arguments.message`), batching its
//! reads and writes like a fast server should, and can misbehave on purpose: stall once, answer
//! twice, answer an unknown id, echo the wrong text, never answer, answer late, answer with an
//! error, and send its own requests and notifications. Invariants: faults apply to every Nth
//! `tools/call` (counting from 1), so tests can predict exact counts; late answers still pending
//! at EOF are sent at their time before exiting, so the client sees them.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use clap::Args;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;

use crate::cli::parse_duration;

/// Read size of the test server.
const READ_CHUNK: usize = 256 * 1024;

/// Fault switches. `N` = every Nth `tools/call`; 0 = off.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerArgs {
    /// Stall everything once, this long after start.
    #[arg(long, value_parser = parse_duration)]
    pub stall_once_after: Option<Duration>,
    /// Length of that stall.
    #[arg(long, value_parser = parse_duration, default_value = "500ms")]
    pub stall: Duration,
    /// Answer every Nth call twice.
    #[arg(long, default_value_t = 0)]
    pub duplicate_every: u64,
    /// After every Nth call, also answer an id that was never sent.
    #[arg(long, default_value_t = 0)]
    pub unknown_every: u64,
    /// Echo the wrong text for every Nth call.
    #[arg(long, default_value_t = 0)]
    pub mismatch_every: u64,
    /// Never answer every Nth call.
    #[arg(long, default_value_t = 0)]
    pub drop_every: u64,
    /// Answer every Nth call only after --late-by.
    #[arg(long, default_value_t = 0)]
    pub late_every: u64,
    /// Delay of late answers.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub late_by: Duration,
    /// Answer every Nth call with a JSON-RPC error (-32000).
    #[arg(long, default_value_t = 0)]
    pub error_every: u64,
    /// Every Nth call, send a `ping` and a `sampling/createMessage` request and a notification.
    #[arg(long, default_value_t = 0)]
    pub server_requests_every: u64,
    /// Tool-name prefix (e.g. `mock__` to look like a gateway).
    #[arg(long, default_value = "")]
    pub prefix: String,
}

#[derive(Deserialize)]
struct Req<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<CallArgs<'a>>,
}

#[derive(Deserialize)]
struct CallArgs<'a> {
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
}

struct Server {
    args: ServerArgs,
    calls: u64,
    out: Vec<u8>,
    late: VecDeque<(Instant, Vec<u8>)>,
    own_ids: u64,
}

fn every(n: u64, k: u64) -> bool {
    n > 0 && k % n == 0
}

impl Server {
    fn line(&mut self, line: &[u8]) {
        let Ok(req) = serde_json::from_slice::<Req<'_>>(line) else {
            return;
        };
        let (Some(id), Some(method)) = (req.id, req.method) else {
            return;
        }; // notifications, answers
        let id = id.get();
        match method.as_ref() {
            "initialize" => self.result(id, r#"{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"loadgen-test-server","version":"0"}}"#),
            "ping" => self.result(id, "{}"),
            "tools/list" => {
                let name = serde_json::Value::String(format!("{}echo", self.args.prefix));
                let body = format!(r#"{{"tools":[{{"name":{name},"inputSchema":{{"type":"object","properties":{{"message":{{"type":"string"}}}}}}}}]}}"#);
                self.result(id, &body);
            }
            "tools/call" => self.call(id, req.params),
            _ => self.error(id, -32601, "Method not found"),
        }
    }

    fn call(&mut self, id: &str, params: Option<&RawValue>) {
        let p = params.and_then(|p| serde_json::from_str::<CallParams<'_>>(p.get()).ok());
        let Some(p) = p.filter(|p| p.name.strip_prefix(self.args.prefix.as_str()) == Some("echo"))
        else {
            return self.error(id, -32602, "Unknown tool");
        };
        let Some(msg) = p
            .arguments
            .and_then(|a| a.message)
            .filter(|m| m.get().starts_with('"'))
        else {
            return self.error(id, -32602, "message must be a string");
        };
        self.calls += 1;
        let k = self.calls;
        let a = &self.args;
        if every(a.server_requests_every, k) {
            self.own_ids += 1;
            let n = self.own_ids;
            self.out.extend_from_slice(
                format!("{{\"jsonrpc\":\"2.0\",\"id\":\"srv-{n}a\",\"method\":\"ping\"}}\n")
                    .as_bytes(),
            );
            self.out.extend_from_slice(
                format!("{{\"jsonrpc\":\"2.0\",\"id\":\"srv-{n}b\",\"method\":\"sampling/createMessage\",\"params\":{{\"messages\":[],\"maxTokens\":1}}}}\n").as_bytes(),
            );
            self.out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"hi\"}}\n");
        }
        if every(a.drop_every, k) {
            return;
        }
        if every(a.error_every, k) {
            return self.error(id, -32000, "injected failure");
        }
        let text = if every(a.mismatch_every, k) {
            "\"not what you sent\""
        } else {
            msg.get()
        };
        let mut resp = Vec::with_capacity(text.len() + 96);
        resp.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        resp.extend_from_slice(id.as_bytes());
        resp.extend_from_slice(b",\"result\":{\"content\":[{\"type\":\"text\",\"text\":");
        resp.extend_from_slice(text.as_bytes());
        resp.extend_from_slice(b"}]}}\n");
        if every(a.late_every, k) {
            self.late.push_back((Instant::now() + a.late_by, resp));
            return;
        }
        if every(a.duplicate_every, k) {
            self.out.extend_from_slice(&resp);
        }
        self.out.extend_from_slice(&resp);
        if every(a.unknown_every, k) {
            // Generation 2^32 is beyond any the client has issued: an id it never sent.
            let bogus = (1u64 << 52) + k;
            self.out.extend_from_slice(
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{bogus},\"result\":{{}}}}\n").as_bytes(),
            );
        }
    }

    fn result(&mut self, id: &str, body: &str) {
        self.out.extend_from_slice(
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{body}}}\n").as_bytes(),
        );
    }

    fn error(&mut self, id: &str, code: i64, msg: &str) {
        self.out.extend_from_slice(
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":{code},\"message\":\"{msg}\"}}}}\n").as_bytes(),
        );
    }

    fn move_due_late(&mut self) {
        let now = Instant::now();
        while self.late.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, r)) = self.late.pop_front() {
                self.out.extend_from_slice(&r);
            }
        }
    }
}

/// Serves on this process's stdin/stdout (which must be pipes) until EOF.
pub async fn serve(args: ServerArgs) -> std::io::Result<()> {
    let mut rx = pipe::Receiver::from_owned_fd(std::io::stdin().as_fd().try_clone_to_owned()?)?;
    let mut tx = pipe::Sender::from_owned_fd(std::io::stdout().as_fd().try_clone_to_owned()?)?;
    let start = Instant::now();
    let stall_at = args.stall_once_after.map(|d| start + d);
    let stall = args.stall;
    let mut stalled = false;
    let mut s = Server {
        args,
        calls: 0,
        out: Vec::with_capacity(READ_CHUNK),
        late: VecDeque::new(),
        own_ids: 0,
    };
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut eof = false;
    while !eof || !s.late.is_empty() {
        let next_late = s.late.front().map(|(t, _)| *t);
        // Cancel safety: `read_buf` loses nothing when the sleep wins; partial lines stay in `buf`.
        tokio::select! {
            r = rx.read_buf(&mut buf), if !eof => {
                if r? == 0 {
                    eof = true;
                }
            }
            () = tokio::time::sleep_until(next_late.unwrap_or(start).into()), if next_late.is_some() => {}
        }
        if let Some(at) = stall_at.filter(|at| !stalled && Instant::now() >= *at) {
            stalled = true;
            // Everything already received, and everything that arrives meanwhile, waits.
            let _ = at;
            tokio::time::sleep(stall).await;
        }
        while let Some(i) = memchr::memchr(b'\n', &buf) {
            let line = buf.split_to(i + 1);
            s.line(&line[..i]);
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        s.move_due_late();
        if !s.out.is_empty() {
            tx.write_all(&s.out).await?;
            s.out.clear();
        }
        if buf.remaining() > 64 * 1024 * 1024 {
            return Err(std::io::Error::other("line too long"));
        }
    }
    Ok(())
}

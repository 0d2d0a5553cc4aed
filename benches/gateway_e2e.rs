//! End to end, in process: a pipelining client → `gateway::run` → `mock::serve`, every hop a
//! `tokio::io::duplex` pipe, all on one 2-worker multi-thread runtime (the gateway's production
//! runtime shape on a 2-core machine). The baseline is the same client talking to the mock
//! directly over one duplex pipe, so the ratio is what the gateway adds: two extra codec passes,
//! the envelope scan, routing, the correlation table, id splicing and two batched writers.
//!
//! One iteration = one `tools/call` (`echo`) answered and checked: the client verifies that every
//! response is a success, carries an id it sent exactly once, and echoes that request's message.
//! Two client shapes: `window-1` (one request at a time: per-message latency) and `window-256`
//! (up to 256 in flight on the one pipe: saturation throughput). Throughput is messages per
//! second; the time per iteration is the per-message cost.

#[path = "support/mod.rs"]
mod support;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gatekit::config::{self, Config, UpstreamConfig};
use gatekit::framing::{Frame, LineCodec};
use gatekit::jsonrpc::{parse_u64_id, scan, Kind};
use gatekit::mock::{self, Behaviour};
use gatekit::transport::{Connection, Connector};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::runtime::Runtime;
use tokio::sync::{oneshot, Semaphore};
use tokio_util::codec::Decoder;

/// Every duplex pipe's buffer: the size of a Linux pipe buffer, so writers block where they would.
const PIPE_BYTES: usize = 64 << 10;

/// Requests in flight for the pipelined client: well under the gateway's default in-flight limit
/// (1024), enough to keep both hops busy.
const WINDOWS: [usize; 2] = [1, 256];

/// Most requests the client packs into one write.
const WRITE_BATCH: usize = 64;

/// The gateway's config: one upstream, whose `command` the in-process connector ignores.
const CONFIG: &str = "\
proxy:
  transport: stdio
  upstreams:
    - name: mock
      command: [gatekit-mock]
logging:
  handlers: []
";

/// Connects every upstream to a fresh in-process mock session over a duplex pipe.
struct MockConnector(Arc<Behaviour>);

impl Connector for MockConnector {
    fn connect(&self, _cfg: &UpstreamConfig) -> std::io::Result<Connection> {
        let (gateway_end, mock_end) = tokio::io::duplex(PIPE_BYTES);
        let (r, w) = tokio::io::split(mock_end);
        // The session ends when the gateway drops its end (EOF) at shutdown.
        tokio::spawn(mock::serve(self.0.clone(), r, w));
        let (reader, writer) = tokio::io::split(gateway_end);
        Ok(Connection {
            reader: Box::pin(reader),
            writer: Box::pin(writer),
            stderr: None,
            process: None,
        })
    }
}

/// The client's end of one MCP session, kept across criterion's samples.
struct Client {
    r: ReadHalf<DuplexStream>,
    w: WriteHalf<DuplexStream>,
    buf: BytesMut,
    codec: LineCodec,
    /// `echo` through the gateway is `mock__echo`.
    tool: &'static str,
    next_id: u64,
    /// Response ids seen in the current run (index = id - first id).
    seen: Vec<bool>,
}

impl Client {
    fn new(stream: DuplexStream, tool: &'static str) -> Self {
        let (r, w) = tokio::io::split(stream);
        Client {
            r,
            w,
            buf: BytesMut::with_capacity(PIPE_BYTES),
            codec: LineCodec::default(),
            tool,
            next_id: 1,
            seen: Vec::new(),
        }
    }

    /// The next complete frame from the peer.
    async fn frame(&mut self) -> bytes::Bytes {
        loop {
            match self
                .codec
                .decode(&mut self.buf)
                .expect("decoding never fails")
            {
                Some(Frame::Line(line)) => return line,
                Some(Frame::Oversize { len, .. }) => panic!("unexpected {len}-byte line"),
                None => {
                    let n = self.r.read_buf(&mut self.buf).await.expect("read");
                    assert!(n > 0, "peer closed the session");
                }
            }
        }
    }

    async fn handshake(&mut self) {
        let init = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"gatekit-bench","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
"#;
        self.w.write_all(init).await.expect("write");
        loop {
            let line = self.frame().await;
            let env = scan(&line).expect("valid JSON-RPC");
            if env.kind == Kind::Response {
                assert!(!env.is_error, "initialize failed: {line:?}");
                return;
            }
        }
    }

    /// Sends `n` echo calls with at most `window` in flight; returns when all are answered.
    async fn run(&mut self, n: u64, window: usize) -> Duration {
        let first = self.next_id;
        self.next_id += n;
        self.seen.clear();
        self.seen.resize(n as usize, false);
        let credits = Semaphore::new(window);
        let Client {
            r,
            w,
            buf,
            codec,
            tool,
            seen,
            ..
        } = self;
        let start = Instant::now();
        let send = async {
            let mut out = Vec::with_capacity(WRITE_BATCH * 128);
            let mut sent = 0;
            while sent < n {
                credits.acquire().await.expect("never closed").forget();
                let mut batch = 1;
                while batch < WRITE_BATCH as u64 && sent + batch < n {
                    match credits.try_acquire() {
                        Ok(permit) => permit.forget(),
                        Err(_) => break,
                    }
                    batch += 1;
                }
                out.clear();
                for id in first + sent..first + sent + batch {
                    writeln!(
                        out,
                        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"message":"m{id}"}}}}}}"#
                    )
                    .expect("write to vec");
                }
                w.write_all(&out).await.expect("write");
                sent += batch;
            }
        };
        let receive = async {
            let mut answered = 0;
            let mut needle = Vec::with_capacity(32);
            while answered < n {
                let line = loop {
                    match codec.decode(buf).expect("decoding never fails") {
                        Some(Frame::Line(line)) => break line,
                        Some(Frame::Oversize { len, .. }) => panic!("unexpected {len}-byte line"),
                        None => {
                            let got = r.read_buf(buf).await.expect("read");
                            assert!(got > 0, "peer closed the session");
                        }
                    }
                };
                let env = scan(&line).expect("valid JSON-RPC");
                if env.kind != Kind::Response {
                    continue; // a notification
                }
                assert!(!env.is_error, "error response: {line:?}");
                let id = env
                    .id
                    .and_then(|s| parse_u64_id(s.of(&line)))
                    .expect("integer id");
                let slot = id
                    .checked_sub(first)
                    .and_then(|i| seen.get_mut(i as usize))
                    .expect("an id this run sent");
                assert!(!*slot, "duplicate response for id {id}");
                *slot = true;
                needle.clear();
                write!(needle, r#""text":"m{id}""#).expect("write to vec");
                assert!(
                    memchr::memmem::find(&line, &needle).is_some(),
                    "echo mismatch for id {id}: {line:?}"
                );
                answered += 1;
                credits.add_permits(1);
            }
        };
        tokio::join!(send, receive);
        start.elapsed()
    }
}

/// A session whose client is parked between samples; runs are spawned onto the runtime so the
/// client competes for the same two workers as the gateway and the mock.
struct Bench {
    rt: Runtime,
    client: Option<Client>,
    /// Dropping it stops the gateway (its `shutdown` future).
    _stop: Option<oneshot::Sender<()>>,
}

impl Bench {
    fn runtime() -> Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn direct() -> Self {
        let rt = Self::runtime();
        let (client_end, mock_end) = tokio::io::duplex(PIPE_BYTES);
        rt.spawn(async move {
            let (r, w) = tokio::io::split(mock_end);
            mock::serve(Arc::new(Behaviour::default()), r, w).await
        });
        Self::ready(rt, Client::new(client_end, "echo"), None)
    }

    fn gateway(config: Arc<Config>) -> Self {
        let rt = Self::runtime();
        let (client_end, gateway_end) = tokio::io::duplex(PIPE_BYTES);
        let (stop, stopped) = oneshot::channel::<()>();
        rt.spawn(async move {
            let connector = Arc::new(MockConnector(Arc::new(Behaviour::default())));
            let (r, w) = tokio::io::split(gateway_end);
            let shutdown = async {
                let _ = stopped.await;
            };
            gatekit::gateway::run(&config, connector, r, w, shutdown).await
        });
        Self::ready(rt, Client::new(client_end, "mock__echo"), Some(stop))
    }

    fn ready(rt: Runtime, mut client: Client, stop: Option<oneshot::Sender<()>>) -> Self {
        rt.block_on(client.handshake());
        Bench {
            rt,
            client: Some(client),
            _stop: stop,
        }
    }

    fn run(&mut self, n: u64, window: usize) -> Duration {
        let mut client = self.client.take().expect("client is parked");
        let task = self.rt.spawn(async move {
            let took = client.run(n, window).await;
            (client, took)
        });
        let (client, took) = self.rt.block_on(task).expect("client task");
        self.client = Some(client);
        took
    }
}

fn bench_e2e(c: &mut Criterion) {
    let config = Arc::new(
        config::load_str(CONFIG, Path::new("gatekit-bench.yaml")).expect("bench config is valid"),
    );
    let mut direct = Bench::direct();
    let mut gateway = Bench::gateway(config);
    for window in WINDOWS {
        let mut group = c.benchmark_group(format!("gateway_e2e/echo/window-{window}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("direct to mock (baseline)", |b| {
            b.iter_custom(|iters| direct.run(iters, window))
        });
        group.bench_function("through gateway", |b| {
            b.iter_custom(|iters| gateway.run(iters, window))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = bench_e2e
}
criterion_main!(benches);

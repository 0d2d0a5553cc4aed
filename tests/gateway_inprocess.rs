//! The whole gateway in-process over duplex pipes, upstreams served by the in-process mock, under
//! paused tokio time: timeout paths are exact and instant, and 100k pending requests are cheap.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gatekit::config::{load_str, UpstreamConfig};
use gatekit::gateway::{self, RunReport};
use gatekit::mock::{serve, Behaviour};
use gatekit::transport::{Connection, Connector};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};
use tokio::time::Instant;

/// Serves every upstream incarnation with the in-process mock; counts incarnations.
struct MockConnector {
    behaviour: Arc<Behaviour>,
    connects: Arc<AtomicUsize>,
}

impl Connector for MockConnector {
    fn connect(&self, _cfg: &UpstreamConfig) -> io::Result<Connection> {
        self.connects.fetch_add(1, Ordering::SeqCst);
        let (gw_end, mock_end) = tokio::io::duplex(1 << 20);
        let (mr, mw) = tokio::io::split(mock_end);
        tokio::spawn(serve(self.behaviour.clone(), mr, mw));
        let (r, w) = tokio::io::split(gw_end);
        Ok(Connection {
            reader: Box::pin(r),
            writer: Box::pin(w),
            stderr: None,
            process: None,
        })
    }
}

struct Client {
    w: WriteHalf<DuplexStream>,
    r: BufReader<ReadHalf<DuplexStream>>,
    gateway: tokio::task::JoinHandle<RunReport>,
    connects: Arc<AtomicUsize>,
}

impl Client {
    async fn start(proxy_extra: &str, mock_flags: &[&str]) -> Client {
        Self::start_with("", proxy_extra, mock_flags).await
    }

    async fn start_with(upstream_extra: &str, proxy_extra: &str, mock_flags: &[&str]) -> Client {
        let yaml = format!("proxy:\n  transport: stdio\n  upstreams:\n    - name: m\n      command: [\"in-process-mock\"]\n{upstream_extra}{proxy_extra}");
        Self::start_yaml(&yaml, mock_flags).await
    }

    async fn start_yaml(yaml: &str, mock_flags: &[&str]) -> Client {
        let config =
            load_str(yaml, std::path::Path::new("/tmp/gatekit-inprocess.yaml")).expect("config");
        let mut args = vec!["gatekit-mock"];
        args.extend_from_slice(mock_flags);
        let behaviour = Arc::new(Behaviour::parse_from(args).expect("mock flags"));
        let connects = Arc::new(AtomicUsize::new(0));
        let connector = Arc::new(MockConnector {
            behaviour,
            connects: connects.clone(),
        });
        let (client_end, gw_end) = tokio::io::duplex(4 << 20);
        let (gr, gw) = tokio::io::split(gw_end);
        let gateway = tokio::spawn(async move {
            gateway::run(&config, connector, gr, gw, std::future::pending()).await
        });
        let (r, w) = tokio::io::split(client_end);
        let mut c = Client {
            w,
            r: BufReader::new(r),
            gateway,
            connects,
        };
        c.send(&json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})).await;
        let init = c.recv().await;
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        c.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await;
        c
    }

    async fn send(&mut self, v: &Value) {
        let mut line = v.to_string().into_bytes();
        line.push(b'\n');
        self.w.write_all(&line).await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        loop {
            let mut line = String::new();
            let n = self.r.read_line(&mut line).await.unwrap();
            assert!(n > 0, "gateway closed its output");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("id").is_some() || v.is_array() {
                return v;
            }
        }
    }

    async fn finish(mut self) -> RunReport {
        self.w.shutdown().await.unwrap();
        drop(self.w);
        // Drain whatever is left so the gateway's writer never blocks.
        let mut rest = String::new();
        while self.r.read_line(&mut rest).await.unwrap_or(0) > 0 {
            rest.clear();
        }
        self.gateway.await.unwrap()
    }
}

fn call(id: u64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":format!("m__{tool}"),"arguments":args}})
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fires_at_its_deadline_and_names_upstream_and_limit() {
    let mut c = Client::start("  timeouts:\n    request_timeout: 30\n", &[]).await;
    let start = Instant::now();
    c.send(&call(1, "never", json!({}))).await;
    let r = c.recv().await;
    let waited = start.elapsed();
    assert_eq!(r["error"]["code"], -32004, "{r}");
    assert_eq!(
        r["error"]["message"],
        "Request to server 'm' timed out after 30 seconds"
    );
    // Virtual time: the sweeper tick (at most 100 ms) bounds how late it may fire.
    assert!(
        waited >= Duration::from_secs(30) && waited <= Duration::from_millis(30_200),
        "{waited:?}"
    );
    // The upstream keeps serving and was never restarted.
    c.send(&call(2, "echo", json!({"message":"ok"}))).await;
    assert_eq!(c.recv().await["result"]["content"][0]["text"], "ok");
    assert_eq!(c.connects.load(Ordering::SeqCst), 1);
    let report = c.finish().await;
    assert_eq!(report.stats.timeouts, 1);
    assert_eq!(report.stats.upstream_restarts, 0);
}

#[tokio::test(start_paused = true)]
async fn per_upstream_timeout_overrides_the_proxy_default() {
    let mut c = Client::start_with(
        "      request_timeout: 2\n",
        "  timeouts:\n    request_timeout: 60\n",
        &[],
    )
    .await;
    let start = Instant::now();
    c.send(&call(1, "never", json!({}))).await;
    let r = c.recv().await;
    assert_eq!(
        r["error"]["message"],
        "Request to server 'm' timed out after 2 seconds"
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    c.finish().await;
}

#[tokio::test(start_paused = true)]
async fn progress_keeps_a_long_call_alive_past_its_timeout() {
    let mut c = Client::start("  timeouts:\n    request_timeout: 1\n", &[]).await;
    let mut req = call(1, "progress", json!({"steps": 6, "interval_ms": 700}));
    req["params"]["_meta"] = json!({"progressToken": "p"});
    c.send(&req).await;
    let r = c.recv().await;
    assert!(
        r.get("result").is_some(),
        "progress every 0.7 s must keep a 1 s timeout from firing: {r}"
    );
    // Without a progress token the same call times out.
    c.send(&call(
        2,
        "progress",
        json!({"steps": 6, "interval_ms": 700}),
    ))
    .await;
    let r = c.recv().await;
    assert_eq!(r["error"]["code"], -32004, "{r}");
    c.finish().await;
}

#[tokio::test(start_paused = true)]
async fn a_hundred_thousand_pending_requests_all_time_out_once() {
    const N: u64 = 100_000;
    let mut c = Client::start(
        "  max_in_flight: 100000\n  timeouts:\n    request_timeout: 10\n",
        &[],
    )
    .await;
    let writer = {
        let mut lines = Vec::with_capacity(N as usize * 100);
        for i in 1..=N {
            lines.extend_from_slice(call(i, "never", json!({})).to_string().as_bytes());
            lines.push(b'\n');
        }
        lines
    };
    let (mut w, r) = (c.w, c.r);
    let send = tokio::spawn(async move {
        w.write_all(&writer).await.unwrap();
        w
    });
    let mut r = r;
    let mut seen = vec![false; N as usize + 1];
    for _ in 0..N {
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["error"]["code"], -32004, "{v}");
        let id = v["id"].as_u64().unwrap() as usize;
        assert!(!seen[id], "answered twice: {id}");
        seen[id] = true;
    }
    assert!(seen[1..].iter().all(|s| *s));
    c.w = send.await.unwrap();
    c.r = r;
    let report = c.finish().await;
    assert_eq!(report.stats.timeouts, N);
    assert_eq!(report.stats.requests_forwarded, N);
}

#[tokio::test(start_paused = true)]
async fn the_in_flight_limit_applies_backpressure_instead_of_rejecting() {
    // Two slots, ten 1-second calls: nothing is refused, and they go through two at a time.
    let mut c = Client::start("  max_in_flight: 2\n", &[]).await;
    let start = Instant::now();
    for i in 1..=10 {
        c.send(&call(i, "sleep", json!({"ms": 1000}))).await;
    }
    let mut finished = Vec::new();
    for _ in 0..10 {
        let r = c.recv().await;
        assert!(r.get("result").is_some(), "{r}");
        finished.push(start.elapsed().as_millis() as u64 / 1000);
    }
    finished.sort();
    assert_eq!(finished, vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    c.finish().await;
}

#[tokio::test(start_paused = true)]
async fn an_upstream_that_stops_reading_does_not_hold_up_the_others() {
    let yaml = "proxy:\n  transport: stdio\n  upstreams:\n    - name: a\n      command: [x]\n    - name: b\n      command: [x]\n  max_in_flight: 10000\n  timeouts:\n    request_timeout: 1\n";
    let c = Client::start_yaml(yaml, &[]).await;
    // `a` stops reading and writing; then far more than its pipe and channel hold is sent to it,
    // and after that one call to `b`.
    const FLOOD: u64 = 4000;
    let pad = "p".repeat(1024);
    let mut lines = Vec::new();
    let stall = json!({"jsonrpc":"2.0","id":0,"method":"tools/call","params":{"name":"a__stall","arguments":{"ms":600000}}});
    lines.extend_from_slice(format!("{stall}\n").as_bytes());
    for i in 1..=FLOOD {
        let v = json!({"jsonrpc":"2.0","id":i,"method":"tools/call","params":{"name":"a__echo","arguments":{"message":pad}}});
        lines.extend_from_slice(format!("{v}\n").as_bytes());
    }
    let b = json!({"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"b__echo","arguments":{"message":"b is fine"}}});
    lines.extend_from_slice(format!("{b}\n").as_bytes());
    let (mut w, mut r) = (c.w, c.r);
    let writer = tokio::spawn(async move {
        w.write_all(&lines).await.unwrap();
        w
    });
    let start = Instant::now();
    let mut answered = 0;
    let mut b_answer = None;
    while answered < FLOOD + 2 {
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        if v.get("id").is_none() {
            continue;
        }
        answered += 1;
        if v["id"] == "b" {
            // Within a few request timeouts, not after `a`'s ten-minute stall.
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "b waited {:?}",
                start.elapsed()
            );
            b_answer = Some(v);
        } else {
            assert_eq!(v["error"]["code"], -32004, "{v}");
        }
    }
    let b_answer = b_answer.expect("b answered");
    assert_eq!(b_answer["result"]["content"][0]["text"], "b is fine");
    let mut c = Client {
        w: writer.await.unwrap(),
        r,
        gateway: c.gateway,
        connects: c.connects,
    };
    c.send(&json!({"jsonrpc":"2.0","id":"ping","method":"ping"}))
        .await;
    assert_eq!(c.recv().await["result"], json!({}));
    c.finish().await;
}

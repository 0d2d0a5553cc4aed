//! Closed-loop saturation check of gatekit-mock over one stdio pipe: N echo calls in flight,
//! every answer verified (id known and answered exactly once, echo bytes equal to what was sent).
//! Ignored by default (a measurement, not a test of behaviour); run it in release:
//! `cargo test --release --test mock_throughput -- --ignored --nocapture`.

mod mock_support;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use mock_support::MockProc;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

const IN_FLIGHT: usize = 512;
const RUN: Duration = Duration::from_secs(3);

#[derive(Deserialize)]
struct Answer<'a> {
    id: usize,
    #[serde(borrow)]
    result: Echoed<'a>,
}

#[derive(Deserialize)]
struct Echoed<'a> {
    #[serde(borrow)]
    echo: &'a RawValue,
}

fn arguments(id: usize, out: &mut String) {
    out.clear();
    let _ = write!(out, r#"{{"message":"m{id}"}}"#);
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn closed_loop_echo_throughput_over_one_pipe() {
    let m = MockProc::spawn(&[]);
    let MockProc { child, io, .. } = m;
    let mut stdout = io.r;
    let mut stdin = io.w.expect("stdin");

    let credits = Arc::new(AtomicUsize::new(IN_FLIGHT));
    let wake = Arc::new(Notify::new());
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));

    let writer = {
        let (credits, wake, stop, sent) =
            (credits.clone(), wake.clone(), stop.clone(), sent.clone());
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(1 << 20);
            let mut args = String::new();
            let mut next = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let notified = wake.notified();
                let n = credits.swap(0, Ordering::AcqRel);
                if n == 0 {
                    notified.await;
                    continue;
                }
                buf.clear();
                for _ in 0..n {
                    arguments(next, &mut args);
                    buf.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
                    buf.extend_from_slice(next.to_string().as_bytes());
                    buf.extend_from_slice(
                        br#","method":"tools/call","params":{"name":"echo","arguments":"#,
                    );
                    buf.extend_from_slice(args.as_bytes());
                    buf.extend_from_slice(b"}}\n");
                    next += 1;
                }
                sent.store(next, Ordering::Release);
                stdin.write_all(&buf).await.expect("write");
            }
            stdin
        })
    };

    let mut seen: Vec<bool> = Vec::new();
    let mut buf = BytesMut::with_capacity(1 << 20);
    let mut expected = String::new();
    let mut answered = 0usize;
    let start = Instant::now();
    let mut warm: Option<(Instant, usize)> = None;
    let mut writer = Some(writer);
    let mut stdin_back = None;
    loop {
        if warm.is_none() && start.elapsed() > Duration::from_millis(500) {
            warm = Some((Instant::now(), answered));
        }
        if !stop.load(Ordering::Relaxed) && start.elapsed() > RUN + Duration::from_millis(500) {
            stop.store(true, Ordering::Relaxed);
            wake.notify_one();
        }
        if stdin_back.is_some() && answered == sent.load(Ordering::Acquire) {
            break;
        }
        buf.reserve(1 << 16);
        let read = tokio::select! {
            // Keep reading while the writer finishes, or a full pipe could deadlock us.
            n = stdout.read_buf(&mut buf) => n.expect("read"),
            w = async { writer.as_mut().expect("writer").await }, if writer.is_some() && stop.load(Ordering::Relaxed) => {
                stdin_back = Some(w.expect("writer task"));
                writer = None;
                continue;
            }
            _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("answers stopped coming"),
        };
        assert!(read > 0, "mock closed stdout early");
        let mut consumed = 0;
        let mut got = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[consumed..]) {
            let line = &buf[consumed..consumed + i];
            let a: Answer<'_> = serde_json::from_slice(line).expect("a valid echo answer");
            if seen.len() <= a.id {
                seen.resize(a.id + 1, false);
            }
            assert!(!seen[a.id], "id {} answered twice", a.id);
            seen[a.id] = true;
            arguments(a.id, &mut expected);
            assert_eq!(a.result.echo.get(), expected, "echo bytes");
            consumed += i + 1;
            got += 1;
        }
        buf.advance(consumed);
        answered += got;
        if got > 0 {
            credits.fetch_add(got, Ordering::AcqRel);
            wake.notify_one();
        }
    }
    let (t0, a0) = warm.expect("warm-up ended");
    let rate = (answered - a0) as f64 / t0.elapsed().as_secs_f64();
    drop(stdin_back);
    assert_eq!(answered, sent.load(Ordering::Acquire));
    assert!(seen.iter().all(|s| *s), "every request answered");
    let mut child = child;
    let status = child.wait().await.expect("wait");
    assert!(status.success());
    eprintln!("gatekit-mock closed loop, {IN_FLIGHT} in flight, one pipe: {rate:.0} verified req/s ({answered} answers)");
}

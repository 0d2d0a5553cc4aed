//! Service time, concurrency vs serial handling, reordering, stalls and the drain timeout.
//! In-process over `tokio::io::duplex` with paused time where possible (exact and immune to a
//! busy machine); one real-pipe variant compares concurrent and serial by ratio.

mod mock_support;

use std::time::Duration;

use gatekit::mock::SessionEnd;
use mock_support::{InProc, MockProc};
use serde_json::{json, Value};
use tokio::time::Instant;

async fn sixteen_calls(io: &mut mock_support::DuplexRaw) -> (Duration, Vec<u64>) {
    let t = Instant::now();
    for id in 0..16 {
        io.call(json!(id), "echo", json!({"message": id.to_string()}))
            .await;
    }
    let mut order = Vec::new();
    for _ in 0..16 {
        let v = io.json().await;
        order.push(v["id"].as_u64().expect("int id"));
    }
    (t.elapsed(), order)
}

#[tokio::test(start_paused = true)]
async fn concurrent_calls_overlap_and_serial_calls_queue_in_order() {
    let service = Duration::from_millis(50);
    let mut conc = InProc::start(&["--service-time", "fixed:50ms"]);
    let t = Instant::now();
    conc.io.call(json!("one"), "echo", json!({})).await;
    conc.io.json().await;
    let one = t.elapsed();
    let (sixteen, _) = sixteen_calls(&mut conc.io).await;
    assert!(one >= service);
    assert!(
        sixteen < one * 8,
        "16 concurrent calls took {sixteen:?}, one took {one:?}"
    );
    assert_eq!(conc.finish().await, SessionEnd::InputClosed);

    let mut serial = InProc::start(&["--service-time", "fixed:50ms", "--serial"]);
    let (elapsed, order) = sixteen_calls(&mut serial.io).await;
    assert!(elapsed >= service * 16, "serial took {elapsed:?}");
    assert_eq!(
        order,
        (0..16).collect::<Vec<_>>(),
        "serial answers keep arrival order"
    );
    assert_eq!(serial.finish().await, SessionEnd::InputClosed);
}

#[tokio::test]
async fn concurrency_over_real_pipes_by_ratio() {
    async fn run(flags: &[&str]) -> (Duration, Duration) {
        let mut m = MockProc::spawn(flags);
        m.io.request(json!("warm"), "ping", json!({})).await;
        m.io.json().await;
        let t = std::time::Instant::now();
        m.io.call(json!("one"), "echo", json!({})).await;
        m.io.json().await;
        let one = t.elapsed();
        let t = std::time::Instant::now();
        for id in 0..16 {
            m.io.call(json!(id), "echo", json!({})).await;
        }
        for _ in 0..16 {
            m.io.json().await;
        }
        let sixteen = t.elapsed();
        assert!(m.finish().await.0.success());
        (one, sixteen)
    }
    let (one, conc) = run(&["--service-time", "fixed:50ms"]).await;
    assert!(
        conc < one * 8,
        "concurrent: 16 calls {conc:?} vs one {one:?}"
    );
    let (_, serial) = run(&["--service-time", "fixed:50ms", "--serial"]).await;
    assert!(
        serial >= Duration::from_millis(50 * 16),
        "serial: {serial:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn variable_service_time_reorders_answers_deterministically() {
    async fn order(seed: &str) -> Vec<u64> {
        let mut m = InProc::start(&["--service-time", "uniform:1ms..100ms", "--seed", seed]);
        let mut got = Vec::new();
        for id in 0..20 {
            m.io.call(json!(id), "echo", json!({})).await;
        }
        for _ in 0..20 {
            got.push(m.io.json().await["id"].as_u64().expect("id"));
        }
        m.finish().await;
        got
    }
    let a = order("7").await;
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..20).collect::<Vec<_>>(),
        "every call answered once"
    );
    assert_ne!(a, sorted, "answers come out of order");
    assert_eq!(a, order("7").await, "same seed, same order");

    let mut m = InProc::start(&["--service-time", "lognormal:median=2ms,sigma=0.5"]);
    for id in 0..50 {
        m.io.call(json!(id), "echo", json!({})).await;
    }
    for _ in 0..50 {
        assert!(m.io.json().await.get("result").is_some());
    }
    m.finish().await;
}

#[tokio::test(start_paused = true)]
async fn stall_tool_holds_all_output() {
    let mut m = InProc::start(&[]);
    let t = Instant::now();
    m.io.call(json!(1), "stall", json!({"ms": 500})).await;
    m.io.request(json!(2), "ping", json!({})).await;
    let a = m.io.json().await;
    assert_eq!(a["id"], 1);
    assert!(t.elapsed() >= Duration::from_millis(500));
    assert_eq!(m.io.json().await["id"], 2);
    m.finish().await;
}

#[tokio::test(start_paused = true)]
async fn periodic_stall_delays_answers_inside_the_window() {
    let mut m = InProc::start(&["--stall", "300ms@1s"]);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let t = Instant::now();
    m.io.request(json!(1), "ping", json!({})).await;
    m.io.json().await;
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "held until the window ends"
    );
    let t = Instant::now();
    m.io.request(json!(2), "ping", json!({})).await;
    m.io.json().await;
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "outside the window: prompt"
    );
    m.finish().await;
}

#[tokio::test(start_paused = true)]
async fn drain_timeout_abandons_long_calls() {
    let mut m = InProc::start(&["--drain-timeout", "1s"]);
    m.io.call(json!(1), "sleep", json!({"ms": 60_000})).await;
    m.io.call(
        json!(2),
        "progress",
        json!({"steps": 1000, "interval_ms": 1000}),
    )
    .await;
    let t = Instant::now();
    let end = m.finish().await;
    assert_eq!(end, SessionEnd::DrainTimedOut);
    assert!(t.elapsed() >= Duration::from_secs(1) && t.elapsed() < Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn cancelled_requests_are_not_answered() {
    let mut m = InProc::start(&["--service-time", "fixed:100ms"]);
    m.io.call(json!(1), "echo", json!({})).await;
    m.io.call(json!(2), "echo", json!({})).await;
    m.io.send(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"test"}}))
        .await;
    let v: Value = m.io.json().await;
    assert_eq!(v["id"], 2);
    let b = m.behaviour.clone();
    assert_eq!(m.finish().await, SessionEnd::InputClosed);
    let s = b.stats.snapshot();
    assert_eq!((s.cancels, s.cancelled_answers), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn crash_and_eof_faults_end_in_process_sessions() {
    let mut m = InProc::start(&[]);
    m.io.call(json!(1), "crash", json!({"code": 5})).await;
    assert_eq!(
        m.session.await.expect("join").expect("io"),
        SessionEnd::Crash { code: 5 }
    );
    let mut m = InProc::start(&["--service-time", "fixed:10ms"]);
    m.io.call(json!(1), "eof_no_newline", json!({})).await;
    let rest = m.io.read_rest().await;
    assert!(rest.ends_with(b"}"));
    assert_eq!(
        m.session.await.expect("join").expect("io"),
        SessionEnd::EofNoNewline
    );
}

//! Real concurrency: with a 20 ms upstream handled concurrently and 16 requests in flight, the
//! gateway completes a round in about the time of one call (Python Gatekit serialises them).
//! Timings are compared side by side in one run, never against absolute numbers.

mod support;

use std::time::Instant;

use serde_json::json;
use support::*;

const IN_FLIGHT: usize = 16;
const ROUNDS: usize = 10;

/// Runs ROUNDS rounds of IN_FLIGHT concurrent calls of `tool`; returns the elapsed seconds.
async fn rounds(peer: &mut Peer, tool: &str) -> f64 {
    let start = Instant::now();
    for round in 0..ROUNDS {
        let mut lines = String::new();
        for i in 0..IN_FLIGHT {
            let id = round * IN_FLIGHT + i;
            lines.push_str(&json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":{"message":id.to_string()}}}).to_string());
            lines.push('\n');
        }
        peer.send_raw(lines.as_bytes()).await;
        for _ in 0..IN_FLIGHT {
            let r = peer.recv_reply().await;
            assert_eq!(text_of(&r), r["id"].to_string(), "{r}");
        }
    }
    start.elapsed().as_secs_f64()
}

#[tokio::test]
async fn sixteen_in_flight_take_about_one_service_time() {
    let mock_flags = ["--service-time", "fixed:20ms"];
    let mut direct = Peer::mock(&mock_flags);
    direct.initialize().await;
    let mut gw = Peer::gateway(&config(&[mock_upstream("m", &mock_flags)], ""));
    gw.initialize().await;

    // Interleave to share machine noise: direct, gateway, direct, gateway.
    let d1 = rounds(&mut direct, "echo").await;
    let g1 = rounds(&mut gw, "m__echo").await;
    let d2 = rounds(&mut direct, "echo").await;
    let g2 = rounds(&mut gw, "m__echo").await;
    let (direct_s, gateway_s) = (d1 + d2, g1 + g2);
    let ratio = direct_s / gateway_s;
    eprintln!("throughput gateway/direct = {ratio:.3} (direct {direct_s:.3}s, gateway {gateway_s:.3}s for {} calls each)", 2 * ROUNDS * IN_FLIGHT);
    // Serialised handling would take 16x longer per round; demand far better than that.
    assert!(ratio > 0.5, "gateway throughput only {ratio:.3}x direct");
    direct.finish().await;
    gw.finish().await;
}

#[tokio::test]
async fn a_serial_upstream_shows_the_difference() {
    // The same measurement against an upstream that handles one call at a time: this is what
    // fully serialised processing looks like, so the concurrent case above is meaningful.
    let mut concurrent = Peer::gateway(&config(
        &[mock_upstream("m", &["--service-time", "fixed:20ms"])],
        "",
    ));
    concurrent.initialize().await;
    let mut serial = Peer::gateway(&config(
        &[mock_upstream(
            "m",
            &["--service-time", "fixed:20ms", "--serial"],
        )],
        "",
    ));
    serial.initialize().await;
    let c = rounds(&mut concurrent, "m__echo").await;
    let s = rounds(&mut serial, "m__echo").await;
    eprintln!("serial/concurrent time = {:.2}", s / c);
    assert!(s / c > 4.0, "serial {s:.3}s vs concurrent {c:.3}s");
    concurrent.finish().await;
    serial.finish().await;
}

//! `--gateway-metrics` samples a Prometheus endpoint during the run and reports it beside the
//! client latencies. The endpoint here is a tiny HTTP server on 127.0.0.1:0 serving a fixture.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{num, run, server};

const FIXTURE: &str = include_str!("fixtures/metrics.txt");

#[test]
fn samples_loop_lag_and_in_flight() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let (stop2, served2) = (stop.clone(), served.clone());
    let http = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            let Ok((mut s, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut req = [0u8; 1024];
            let n = s.read(&mut req).unwrap_or(0);
            assert!(String::from_utf8_lossy(&req[..n]).starts_with("GET /metrics HTTP/1.1\r\n"));
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n", FIXTURE.len());
            let _ = s
                .write_all(head.as_bytes())
                .and_then(|()| s.write_all(FIXTURE.as_bytes()));
            served2.fetch_add(1, Ordering::Relaxed);
        }
    });

    let url = format!("http://127.0.0.1:{port}/metrics");
    let r = run(
        "metrics",
        &[
            "run",
            "--target",
            &server(""),
            "--rate",
            "100",
            "--duration",
            "1500ms",
            "--gateway-metrics",
            &url,
            "--check",
            "loop_lag.p99<=50ms",
        ],
    );
    stop.store(true, Ordering::Relaxed);
    http.join().unwrap();
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    let g = &r.summary(0)["gateway_metrics"];
    assert!(num(g, "/samples") >= 1.0, "{g:#}");
    assert_eq!(num(g, "/samples") as usize, served.load(Ordering::Relaxed));
    assert_eq!(num(g, "/failed_scrapes"), 0.0);
    assert_eq!(num(g, "/in_flight_max"), 7.0);
    assert!((num(g, "/loop_lag_p99_max_s") - 0.010).abs() < 1e-9);
    let check = &r.report()["checks"][0];
    assert_eq!(check["passed"], true);
    assert!(
        (num(check, "/value") - 10_000.0).abs() < 1e-6,
        "loop lag in µs: {check}"
    );
    assert!(
        r.stdout()
            .contains("gateway metrics (target): loop lag p99 max 10.00ms, in flight max 7"),
        "{}",
        r.stdout()
    );
}

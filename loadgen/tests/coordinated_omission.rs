//! Coordinated omission: a target that stalls once for 500 ms during an open-loop run.
//!
//! With an in-flight cap of 1, sends queue behind the stall: the uncorrected latency (from the
//! actual write) hides it, the corrected latency (from the scheduled time) must show it. Without
//! a cap, every request is written on time, so both show it. Bounds are generous on purpose.

mod support;

use support::{num, run, server};

fn stall_run(tag: &str, extra: &[&str]) -> serde_json::Value {
    let target = server("--stall-once-after 1s --stall 500ms");
    let mut args = vec![
        "run",
        "--target",
        &target,
        "--rate",
        "200",
        "--duration",
        "3s",
    ];
    args.extend_from_slice(extra);
    let r = run(tag, &args);
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    r.summary(0).clone()
}

#[test]
fn capped_sends_wait_and_only_corrected_latency_shows_the_stall() {
    let s = stall_run("co-capped", &["--max-in-flight", "1"]);
    let corrected = num(&s, "/latency/corrected/p99_us");
    let uncorrected = num(&s, "/latency/uncorrected/p99_us");
    assert!(
        corrected >= 200_000.0,
        "corrected p99 {corrected}µs should reflect the 500 ms stall"
    );
    assert!(
        uncorrected <= 100_000.0,
        "uncorrected p99 {uncorrected}µs should hide it"
    );
    assert!(
        num(&s, "/backlog/max_lag_us") >= 200_000.0,
        "the backlog must be reported"
    );
    assert!(
        num(&s, "/backlog/capped_sends") >= 20.0,
        "sends waited for the cap"
    );
    assert_eq!(num(&s, "/errors/total"), 0.0);
}

#[test]
fn uncapped_both_latencies_show_the_stall() {
    let s = stall_run("co-uncapped", &[]);
    let corrected = num(&s, "/latency/corrected/p99_us");
    let uncorrected = num(&s, "/latency/uncorrected/p99_us");
    assert!(corrected >= 200_000.0, "corrected p99 {corrected}µs");
    assert!(uncorrected >= 200_000.0, "uncorrected p99 {uncorrected}µs");
    assert!(
        num(&s, "/max_in_flight") >= 20.0,
        "requests kept flowing during the stall"
    );
    assert_eq!(num(&s, "/errors/total"), 0.0);
}

//! Every response is verified, and each kind of wrongness is counted apart, exactly.
//!
//! The test server's faults hit every Nth `tools/call` (k = 1, 2, …), so the expected counts
//! follow from arithmetic on k (see the comments), independent of timing.

mod support;

use support::{num, run, server};

#[test]
fn faults_are_counted_by_kind() {
    let target = server(
        "--duplicate-every 10 --unknown-every 20 --mismatch-every 25 --drop-every 50 \
         --late-every 40 --late-by 1500ms --error-every 33 --server-requests-every 100",
    );
    let r = run(
        "verify",
        &[
            "run",
            "--target",
            &target,
            "-n",
            "1000",
            "-c",
            "8",
            "--timeout",
            "300ms",
        ],
    );
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    let s = r.summary(0);
    let e = |k: &str| num(s, &format!("/errors/{k}"));
    let multiples = |n: u64, not: &[u64]| {
        (1..=1000u64)
            .filter(|k| k % n == 0 && not.iter().all(|m| k % m != 0))
            .count() as f64
    };
    // Order of the server's decisions: drop, error, then late / duplicate / unknown / mismatch.
    let dropped = multiples(50, &[]);
    let errors = multiples(33, &[50]);
    let late = multiples(40, &[50, 33]);
    assert_eq!(e("rpc_error"), errors);
    assert_eq!(e("late"), late, "late answers (after the 800 ms timeout)");
    assert_eq!(
        e("timeout"),
        dropped + late,
        "dropped and late requests both time out"
    );
    assert_eq!(e("duplicate"), multiples(10, &[50, 33, 40]));
    assert_eq!(e("unknown_id"), multiples(20, &[50, 33, 40]));
    assert_eq!(e("mismatched_payload"), multiples(25, &[50, 33]));
    assert_eq!(
        e("malformed") + e("invalid_response") + e("unanswered"),
        0.0
    );
    let mismatched = e("mismatched_payload");
    assert_eq!(num(s, "/ok"), 1000.0 - dropped - late - errors - mismatched);
    assert_eq!(s["rpc_error_codes"]["-32000"], errors as u64);
    // Server→client traffic was answered and counted.
    assert_eq!(num(s, "/server_traffic/ping"), 10.0);
    assert_eq!(num(s, "/server_traffic/other_requests"), 10.0);
    assert_eq!(
        s["server_traffic"]["notifications"]["notifications/message"],
        10
    );
}

#[test]
fn a_clean_server_verifies_every_response_across_the_mix() {
    let r = run(
        "clean",
        &[
            "run",
            "--target",
            &server(""),
            "-n",
            "500",
            "-c",
            "16",
            "--mix",
            "tools/call:echo=6,tools/list=2,ping=2",
            "--payload",
            "0..5000",
        ],
    );
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    let s = r.summary(0);
    assert_eq!(num(s, "/errors/total"), 0.0);
    assert_eq!(num(s, "/ok"), 500.0);
    let methods = s["methods"].as_array().unwrap();
    let names: Vec<&str> = methods
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tools/call:echo", "tools/list", "ping"]);
    let total: f64 = methods.iter().map(|m| m["ok"].as_f64().unwrap()).sum();
    assert_eq!(total, 500.0);
    assert!(
        methods.iter().all(|m| m["ok"].as_f64().unwrap() > 0.0),
        "every mix entry was exercised"
    );
}

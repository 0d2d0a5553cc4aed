//! `--check` thresholds decide the exit code; usage errors are exit 2 with a clear message.

mod support;

use std::process::Command;

use support::{exe, run, server};

#[test]
fn passing_checks_exit_zero() {
    let r = run(
        "check-pass",
        &[
            "run",
            "--target",
            &server(""),
            "-n",
            "100",
            "-c",
            "2",
            "--check",
            "errors=0",
            "--check",
            "p99<=10s",
            "--check",
            "throughput>0",
        ],
    );
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    let checks = r.report()["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3);
    assert!(checks.iter().all(|c| c["passed"] == true));
}

#[test]
fn a_failing_check_exits_three_and_names_itself() {
    let r = run(
        "check-fail",
        &[
            "run",
            "--target",
            &server("--error-every 10"),
            "-n",
            "100",
            "-c",
            "2",
            "--check",
            "errors=0",
            "--check",
            "p99<=10s",
        ],
    );
    assert_eq!(r.code(), 3, "stderr: {}", r.stderr());
    let out = r.stdout();
    assert!(out.contains("check FAIL: errors=0"), "{out}");
    assert!(out.contains("check ok  : p99<=10s"), "{out}");
    assert_eq!(r.report()["passed"], false);
}

#[test]
fn ratio_checks_apply_to_each_non_first_target() {
    let r = run(
        "check-ratio",
        &[
            "compare",
            "--target",
            &format!("a={}", server("")),
            "--target",
            &format!("b={}", server("")),
            "--rounds",
            "1",
            "-n",
            "100",
            "-c",
            "2",
            "--check",
            "ratio.throughput>=1000",
        ],
    );
    assert_eq!(
        r.code(),
        3,
        "b cannot be 1000x faster than a; stderr: {}",
        r.stderr()
    );
    let checks = r.report()["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "one ratio: b vs a");
    assert_eq!(checks[0]["target"], "b");
}

fn raw(args: &[&str]) -> (i32, String) {
    let out = Command::new(exe()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_exit_two() {
    let (code, err) = raw(&["run", "--target", "http://127.0.0.1:9/mcp"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("HTTP targets arrive with the HTTP transport"),
        "{err}"
    );
    let (code, err) = raw(&["run", "--target", &server(""), "--check", "p99<=5"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs a unit"), "{err}");
    let (code, err) = raw(&["run", "--target", &server(""), "--check", "ratio.p99<=2"]);
    assert_eq!(code, 2);
    assert!(err.contains("need compare"), "{err}");
    let (code, _) = raw(&[
        "run",
        "--target",
        &server(""),
        "--rate",
        "5",
        "--concurrency",
        "2",
    ]);
    assert_eq!(code, 2);
    let (code, err) = raw(&[
        "run",
        "--target",
        "stdio:/nonexistent/gatekit-mock",
        "-n",
        "1",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot start"), "{err}");
}

#[test]
fn a_missing_tool_fails_the_handshake_with_the_list() {
    let (code, err) = raw(&[
        "run",
        "--target",
        &server("--prefix x__"),
        "-n",
        "1",
        "--tool-prefix",
        "y__",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("tool `y__echo` not found") && err.contains("x__echo"),
        "{err}"
    );
}

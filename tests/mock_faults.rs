//! Every fault of gatekit-mock, observed by a raw client over real pipes.

mod mock_support;

use std::time::{Duration, Instant};

use mock_support::{stats, MockProc};
use serde_json::{json, Value};

fn is_answer(v: &Value, id: &Value) -> bool {
    v.get("id") == Some(id) && v.get("result").is_some()
}

#[tokio::test]
async fn garbage_line_then_answer() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "garbage", json!({})).await;
    assert_eq!(m.io.line().await.as_deref(), Some(&b"this is not json"[..]));
    assert!(is_answer(&m.io.json().await, &json!(1)));
    assert!(m.finish().await.0.success());
}

#[tokio::test]
async fn garbage_every_second_call() {
    let mut m = MockProc::spawn(&["--garbage-every", "2"]);
    let mut garbage = 0;
    for id in 1..=4 {
        m.io.call(json!(id), "echo", json!({"message":"x"})).await;
        loop {
            let line = m.io.line().await.expect("line");
            if line == b"this is not json" {
                garbage += 1;
                assert_eq!(id % 2, 0, "garbage only before every 2nd answer");
                continue;
            }
            let v: Value = serde_json::from_slice(&line).expect("answer is json");
            assert_eq!(v["id"], id);
            break;
        }
    }
    assert_eq!(garbage, 2);
    assert!(m.finish().await.0.success());
}

#[tokio::test]
async fn twice_answers_twice_and_unknown_id_comes_first() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!("t"), "twice", json!({})).await;
    let a = m.io.json().await;
    let b = m.io.json().await;
    assert!(is_answer(&a, &json!("t")) && a == b);

    m.io.call(json!(5), "unknown_id", json!({})).await;
    assert_eq!(m.io.json().await["id"], 999_999_999);
    assert!(is_answer(&m.io.json().await, &json!(5)));
    let (_, stderr) = m.finish().await;
    assert_eq!(stats(&stderr)["faults"], 2);
}

#[tokio::test]
async fn crash_exits_with_code_without_answering() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "echo", json!({"message":"before"}))
        .await;
    assert!(is_answer(&m.io.json().await, &json!(1)));
    m.io.call(json!(2), "crash", json!({"code": 7})).await;
    assert!(m.io.line().await.is_none(), "stdout closes, no answer");
    let (status, _) = m.wait().await;
    assert_eq!(status.code(), Some(7));

    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "crash", json!({})).await;
    assert!(m.io.line().await.is_none());
    assert_eq!(m.wait().await.0.code(), Some(3), "default crash code");
}

#[tokio::test]
async fn crash_after_n_calls() {
    let mut m = MockProc::spawn(&["--crash-after", "2", "--crash-code", "9"]);
    for id in 1..=3 {
        m.io.call(json!(id), "echo", json!({})).await;
    }
    assert!(is_answer(&m.io.json().await, &json!(1)));
    assert!(is_answer(&m.io.json().await, &json!(2)));
    assert!(m.io.line().await.is_none());
    assert_eq!(m.wait().await.0.code(), Some(9));
}

#[tokio::test]
async fn eof_without_newline_exits_zero() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "eof_no_newline", json!({})).await;
    let rest = m.io.read_rest().await;
    assert!(!rest.is_empty() && !rest.ends_with(b"\n"), "{rest:?}");
    let v: Value = serde_json::from_slice(&rest).expect("the unterminated answer is complete JSON");
    assert!(is_answer(&v, &json!(1)));
    assert_eq!(m.wait().await.0.code(), Some(0));
}

#[tokio::test]
async fn oversize_line_has_the_requested_length() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "oversize", json!({"bytes": 200_000}))
        .await;
    let line = m.io.line().await.expect("line");
    assert_eq!(line.len(), 200_000);
    let v: Value = serde_json::from_slice(&line).expect("valid JSON");
    assert!(is_answer(&v, &json!(1)));
    assert!(m.finish().await.0.success());
}

#[tokio::test]
async fn drip_arrives_intact_over_many_writes() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "drip", json!({"delay_ms": 3})).await;
    let before = m.io.reads;
    let line = m.io.line().await.expect("line");
    let v: Value = serde_json::from_slice(&line).expect("reassembled JSON");
    assert!(is_answer(&v, &json!(1)));
    assert!(
        m.io.reads - before >= 2,
        "one byte per write is seen as several reads"
    );
    assert!(m.finish().await.0.success());
}

#[tokio::test]
async fn bad_utf8_answer_and_line() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "bad_utf8", json!({})).await;
    let line = m.io.line().await.expect("line");
    assert!(String::from_utf8(line.clone()).is_err());
    assert!(line.windows(2).any(|w| w == b"\xff\xfe"));
    assert!(line.starts_with(br#"{"jsonrpc":"2.0","id":1,"#));

    m.io.call(json!(2), "bad_utf8", json!({"mode": "line"}))
        .await;
    let bad = m.io.line().await.expect("line");
    assert!(String::from_utf8(bad).is_err());
    assert!(is_answer(&m.io.json().await, &json!(2)));
    assert!(m.finish().await.0.success());
}

#[tokio::test]
async fn close_stdout_keeps_the_process_running() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "close_stdout", json!({})).await;
    assert!(m.io.line().await.is_none(), "EOF on stdout");
    assert!(
        m.child.try_wait().expect("try_wait").is_none(),
        "still running"
    );
    // It keeps reading stdin.
    m.io.request(json!(2), "ping", json!({})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        m.child.try_wait().expect("try_wait").is_none(),
        "still running"
    );
    let (status, stderr) = m.finish().await;
    assert_eq!(status.code(), Some(0));
    assert_eq!(stats(&stderr)["requests"], 2);
}

fn sigterm(pid: i32) {
    // SAFETY: kill(2) with a pid we spawned and a valid signal number has no memory effects.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill");
}

#[tokio::test]
async fn ignore_sigterm_survives_sigterm_but_not_sigkill() {
    use std::os::unix::process::ExitStatusExt;

    // Without the flag SIGTERM ends the process.
    let mut plain = MockProc::spawn(&[]);
    plain.io.request(json!(1), "ping", json!({})).await;
    plain.io.json().await;
    sigterm(plain.pid());
    let (status, _) = plain.wait().await;
    assert_eq!(status.signal(), Some(libc::SIGTERM));

    let mut m = MockProc::spawn(&["--ignore-sigterm"]);
    // A round trip proves the handler is installed (it is set up before serving).
    m.io.request(json!(1), "ping", json!({})).await;
    m.io.json().await;
    sigterm(m.pid());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        m.child.try_wait().expect("try_wait").is_none(),
        "survived SIGTERM"
    );
    m.io.request(json!(2), "ping", json!({})).await;
    assert_eq!(m.io.json().await["id"], 2, "still serving");
    m.child.start_kill().expect("SIGKILL");
    let (status, _) = m.wait().await;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[tokio::test]
async fn stderr_flood_tool_and_flag() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "stderr_flood", json!({"bytes": 300_000}))
        .await;
    assert!(is_answer(&m.io.json().await, &json!(1)));
    let (status, stderr) = m.finish().await;
    assert!(status.success());
    assert!(stderr.len() >= 300_000, "{} bytes", stderr.len());

    let mut m = MockProc::spawn(&["--stderr-flood", "1000000"]);
    m.io.request(json!(1), "ping", json!({})).await;
    m.io.json().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, stderr) = m.finish().await;
    assert!(status.success());
    assert!(stderr.contains("stderr flood"));
    assert!(stderr.len() > 1000, "{} bytes", stderr.len());
}

#[tokio::test]
async fn never_drop_id_and_drop_rate() {
    let mut m = MockProc::spawn(&["--drop-id", "5", "--drop-id", "abc"]);
    m.io.call(json!(1), "never", json!({})).await;
    m.io.call(json!(5), "echo", json!({})).await;
    m.io.request(json!("abc"), "ping", json!({})).await;
    m.io.call(json!(6), "echo", json!({})).await;
    let v = m.io.json().await;
    assert_eq!(v["id"], 6, "only the undropped request is answered: {v}");
    let (status, stderr) = m.finish().await;
    assert!(status.success());
    assert_eq!(stats(&stderr)["dropped"], 3);

    let mut m = MockProc::spawn(&["--drop-rate", "0.5", "--seed", "42"]);
    for id in 0..100 {
        m.io.call(json!(id), "echo", json!({})).await;
    }
    m.io.request(json!("last"), "ping", json!({})).await;
    let (_, answered) = m.io.until_id(&json!("last")).await;
    let (_, stderr) = m.finish().await;
    let dropped = stats(&stderr)["dropped"].as_u64().expect("dropped");
    assert_eq!(answered.len() as u64 + dropped, 100);
    assert!(
        dropped > 10 && dropped < 90,
        "{dropped} of 100 dropped at p=0.5"
    );
}

#[tokio::test]
async fn late_answers_are_overtaken() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "late", json!({"ms": 300})).await;
    m.io.request(json!(2), "ping", json!({})).await;
    assert_eq!(m.io.json().await["id"], 2);
    let late = m.io.json().await;
    assert_eq!(late["id"], 1);
    assert!(m.finish().await.0.success());

    let mut m = MockProc::spawn(&["--late-ms", "300"]);
    let t = Instant::now();
    m.io.call(json!(1), "echo", json!({})).await;
    m.io.json().await;
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "--late-ms delays every call"
    );
    assert!(m.finish().await.0.success());
}

#[tokio::test]
async fn stall_once_holds_everything() {
    let t = Instant::now();
    let mut m = MockProc::spawn(&["--stall-once-after", "0ms", "--stall-once-for", "400ms"]);
    m.io.request(json!(1), "ping", json!({})).await;
    m.io.json().await;
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "answer held by the stall"
    );
    assert!(m.finish().await.0.success());
}

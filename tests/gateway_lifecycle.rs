//! Timeouts, cancellation, upstream crashes and restarts, and shutdown — over real processes.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

/// The gateway's child processes (its upstreams).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(c.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out
}

async fn wait_children(pid: u32, n: usize) -> Vec<u32> {
    for _ in 0..200 {
        let c = children(pid);
        if c.len() >= n {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("gateway {pid} never had {n} children");
}

#[tokio::test]
async fn a_timeout_answers_cancels_upstream_and_keeps_it_running() {
    let record = tempfile::NamedTempFile::new().unwrap();
    let rec = record.path().to_str().unwrap().to_owned();
    let yaml = config(
        // --ignore-cancel: the mock answers cancelled calls anyway, so the late answer shows.
        &[mock_upstream("m", &["--record", &rec, "--ignore-cancel"])],
        "  timeouts:\n    request_timeout: 0.3\n",
    );
    let mut gw = Peer::gateway(&yaml);
    gw.initialize().await;
    let child_before = wait_children(gw.pid(), 1).await;

    let r = gw.call(json!(1), "m__never", json!({})).await;
    assert_eq!(r["error"]["code"], -32004, "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains("'m'") && msg.contains("0.3 seconds"), "{msg}");
    // A late answer is dropped, not forwarded: sleep outlives the timeout, then answers.
    let r = gw.call(json!(2), "m__sleep", json!({"ms": 800})).await;
    assert_eq!(r["error"]["code"], -32004, "{r}");
    tokio::time::sleep(Duration::from_millis(900)).await;
    // The upstream was not restarted: same process, and it still answers.
    let r = gw
        .call(json!(3), "m__echo", json!({"message": "alive"}))
        .await;
    assert_eq!(text_of(&r), "alive");
    assert_eq!(
        children(gw.pid()),
        child_before,
        "upstream must not be restarted by a timeout"
    );

    let (code, stderr) = gw.finish().await;
    assert_eq!(code, Some(0));
    let stats = gateway_stats(&stderr);
    assert_eq!(stats["timeouts"], 2, "{stats}");
    assert_eq!(stats["upstream_restarts"], 0, "{stats}");
    assert_eq!(stats["upstream_late_responses"], 1, "{stats}");
    // The upstream was told, with its own id.
    let lines = read_lines(record.path());
    let cancels: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter(|v| v["method"] == "notifications/cancelled")
        .collect();
    assert_eq!(cancels.len(), 2, "{cancels:?}");
    assert!(cancels.iter().all(|c| c["params"]["requestId"].is_u64()));
}

#[tokio::test]
async fn client_cancellation_reaches_the_upstream_and_no_reply_follows() {
    let record = tempfile::NamedTempFile::new().unwrap();
    let rec = record.path().to_str().unwrap().to_owned();
    let mut gw = Peer::gateway(&config(&[mock_upstream("m", &["--record", &rec])], ""));
    gw.initialize().await;
    gw.send_json(&json!({"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"m__sleep","arguments":{"ms":400}}})).await;
    gw.send_json(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow","reason":"user"}})).await;
    let r = gw
        .call(json!("next"), "m__echo", json!({"message":"x"}))
        .await;
    assert_eq!(text_of(&r), "x");
    // Nothing for "slow", even after it would have finished.
    let extra = gw.try_recv_raw(Duration::from_millis(800)).await;
    assert!(
        extra.is_none(),
        "unexpected {:?}",
        extra.map(|b| String::from_utf8_lossy(&b).into_owned())
    );
    let (_, stderr) = gw.finish().await;
    assert_eq!(gateway_stats(&stderr)["cancelled"], 1);
    let lines = read_lines(record.path());
    let sent: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    let call = sent
        .iter()
        .find(|v| v["params"]["name"] == "sleep")
        .expect("sleep forwarded");
    let cancel = sent
        .iter()
        .find(|v| v["method"] == "notifications/cancelled")
        .expect("cancel forwarded");
    assert_eq!(
        cancel["params"]["requestId"], call["id"],
        "cancel carries the upstream id"
    );
    assert_eq!(cancel["params"]["reason"], "user");
}

#[tokio::test]
async fn an_upstream_crash_fails_its_pending_requests_at_once_and_it_restarts() {
    let mut gw = Peer::gateway(&config(
        &[mock_upstream("m", &[]), mock_upstream("other", &[])],
        "",
    ));
    gw.initialize().await;
    let start = Instant::now();
    for i in 0..3 {
        gw.send_json(&json!({"jsonrpc":"2.0","id":i,"method":"tools/call","params":{"name":"m__sleep","arguments":{"ms":10000}}})).await;
    }
    gw.send_json(&json!({"jsonrpc":"2.0","id":"boom","method":"tools/call","params":{"name":"m__crash","arguments":{}}})).await;
    let mut failed = 0;
    while failed < 4 {
        let r = gw.recv().await;
        if r.get("id").is_none() {
            continue; // list_changed after the restart
        }
        assert_eq!(r["error"]["code"], -32004, "{r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Server 'm' is unavailable"),
            "{r}"
        );
        failed += 1;
    }
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "pending requests must fail at once, not time out"
    );
    // The other upstream is unaffected, and `m` comes back after a short backoff.
    let r = gw
        .call(json!("o"), "other__echo", json!({"message":"fine"}))
        .await;
    assert_eq!(text_of(&r), "fine");
    let mut ok = false;
    for i in 0..100 {
        let r = gw
            .call(
                json!(format!("retry{i}")),
                "m__echo",
                json!({"message":"back"}),
            )
            .await;
        if r.get("result").is_some() {
            assert_eq!(text_of(&r), "back");
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "upstream did not come back");
    let (code, stderr) = gw.finish().await;
    assert_eq!(code, Some(0));
    let stats = gateway_stats(&stderr);
    assert_eq!(stats["upstream_restarts"], 1, "{stats}");
    assert_eq!(stats["upstream_failed_requests"], 4, "{stats}");
}

#[tokio::test]
async fn restart_is_not_attempted_when_disabled() {
    let entry = mock_upstream("m", &[]) + "      restart_on_failure: false\n";
    let mut gw = Peer::gateway(&config(&[entry], ""));
    gw.initialize().await;
    let r = gw.call(json!(1), "m__crash", json!({})).await;
    assert_eq!(r["error"]["code"], -32004);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = gw.call(json!(2), "m__echo", json!({})).await;
    assert_eq!(r["error"]["code"], -32004, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restart_on_failure"),
        "{r}"
    );
    let (_, stderr) = gw.finish().await;
    assert_eq!(gateway_stats(&stderr)["upstream_restarts"], 0);
}

#[tokio::test]
async fn sigterm_drains_in_flight_work_and_leaves_no_children() {
    let mut gw = Peer::gateway(&config(
        &[
            mock_upstream("a", &[]),
            mock_upstream("b", &["--ignore-sigterm"]),
        ],
        "",
    ));
    gw.initialize().await;
    let kids = wait_children(gw.pid(), 2).await;
    gw.send_json(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__sleep","arguments":{"ms":300}}})).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // SIGTERM, as a process manager would send it.
    let st = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(gw.pid().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    // The in-flight request still completes.
    let r = gw.recv_reply().await;
    assert_eq!(r["id"], 1);
    assert!(r.get("result").is_some(), "{r}");
    let (code, _stderr) = gw.finish().await;
    assert_eq!(code, Some(0));
    for k in kids {
        assert!(!alive(k), "upstream {k} outlived the gateway");
    }
}

#[tokio::test]
async fn stdin_eof_ends_the_session_cleanly() {
    let mut gw = Peer::gateway(&config(&[mock_upstream("a", &[])], ""));
    gw.initialize().await;
    let kids = wait_children(gw.pid(), 1).await;
    let (code, stderr) = gw.finish().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("client closed stdin"), "{stderr}");
    for k in kids {
        assert!(!alive(k));
    }
}

#[tokio::test]
async fn no_upstream_can_start_answers_initialize_with_an_error_and_exits_1() {
    let yaml = "proxy:\n  transport: stdio\n  upstreams:\n    - name: ghost\n      command: [\"/nonexistent/gatekit-test-binary\"]\n      restart_on_failure: false\n  timeouts:\n    connection_timeout: 2\n";
    let mut gw = Peer::gateway(yaml);
    gw.send_json(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})).await;
    let r = gw.recv().await;
    assert_eq!(r["error"]["code"], -32603, "{r}");
    assert!(
        r["error"]["data"]["details"]
            .as_str()
            .unwrap()
            .contains("ghost"),
        "{r}"
    );
    let (code, _) = gw.finish().await;
    assert_eq!(code, Some(1));
}

#[test]
fn validate_only_reports_valid_and_invalid_configs() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, config(&[mock_upstream("m", &[])], "")).unwrap();
    let out = std::process::Command::new(gateway_bin())
        .args(["--config", good.to_str().unwrap(), "--validate-only"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Configuration valid: {}", good.display())
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "proxy:\n  transport: stdio\n  upstreams:\n    - name: m\n      comand: [x]\n",
    )
    .unwrap();
    let out = std::process::Command::new(gateway_bin())
        .args(["--config", bad.to_str().unwrap(), "--validate-only"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing but protocol on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("proxy.upstreams[0].comand"), "{err}");
    let out = std::process::Command::new(gateway_bin())
        .args(["--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

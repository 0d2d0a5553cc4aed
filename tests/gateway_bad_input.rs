//! Every class of bad input gets its documented answer, and the session goes on.

mod support;

use serde_json::{json, Value};
use support::*;

async fn expect_error(gw: &mut Peer, code: i64, id: Value) -> Value {
    let r = gw.recv().await;
    assert_eq!(r["error"]["code"], code, "{r}");
    assert_eq!(r["id"], id, "{r}");
    r
}

/// Proves the session is still alive and well.
async fn still_works(gw: &mut Peer, id: i64) {
    let r = gw
        .call(json!(id), "m__echo", json!({"message": "still here"}))
        .await;
    assert_eq!(text_of(&r), "still here");
}

#[tokio::test]
async fn malformed_client_input_is_answered_and_survived() {
    let yaml = config(&[mock_upstream("m", &[])], "  max_message_bytes: 4096\n");
    let mut gw = Peer::gateway(&yaml);
    gw.initialize().await;

    // Invalid JSON → one -32700 with id null.
    gw.send(r#"{"jsonrpc":"2.0","id":1,"method":"#).await;
    expect_error(&mut gw, -32700, Value::Null).await;
    // Invalid UTF-8 → -32700.
    gw.send_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":{\"x\":\"\xff\xfe\"}}\n",
    )
    .await;
    expect_error(&mut gw, -32700, Value::Null).await;
    // Valid JSON, not JSON-RPC → -32600 with id null.
    gw.send(r#"{"hello":"world"}"#).await;
    expect_error(&mut gw, -32600, Value::Null).await;
    gw.send(r#"[1,2]"#).await; // a batch of non-objects: one -32600 per element
    let r = gw.recv().await;
    assert_eq!(r.as_array().map(Vec::len), Some(2), "{r}");
    assert!(r
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["error"]["code"] == -32600));
    gw.send(r#""just a string""#).await;
    expect_error(&mut gw, -32600, Value::Null).await;
    gw.send(r#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#).await;
    expect_error(&mut gw, -32600, Value::Null).await;
    // A request with id null → -32600.
    gw.send(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#)
        .await;
    expect_error(&mut gw, -32600, Value::Null).await;
    // A float id → -32600.
    gw.send(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#)
        .await;
    expect_error(&mut gw, -32600, Value::Null).await;
    // Blank lines are ignored silently.
    gw.send("").await;
    gw.send("   ").await;

    // Oversize line with a recoverable id → -32600 naming the limit.
    let big = "x".repeat(10_000);
    gw.send(&format!(r#"{{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{{"name":"m__echo","arguments":{{"message":"{big}"}}}}}}"#)).await;
    let r = expect_error(&mut gw, -32600, json!("big")).await;
    assert!(
        r["error"]["message"].as_str().unwrap().contains("4096"),
        "{r}"
    );
    // Oversize line without a recoverable id → dropped and counted.
    gw.send(&format!(
        r#"{{"jsonrpc":"2.0","method":"tools/call","params":{{"pad":"{big}"}},"id":9}}"#
    ))
    .await;
    // A response to a server→client request that was never made → dropped and counted.
    gw.send(r#"{"jsonrpc":"2.0","id":424242,"result":{}}"#)
        .await;
    gw.send(r#"{"jsonrpc":"2.0","id":"nope","error":{"code":1,"message":"x"}}"#)
        .await;

    // Unknown method → -32601; unknown server, missing name, not namespaced → -32602.
    let r = gw.request(json!(10), "foo/bar", json!({})).await;
    assert_eq!(r["error"]["code"], -32601);
    let r = gw.call(json!(11), "nope__echo", json!({})).await;
    assert_eq!(r["error"]["code"], -32602);
    assert_eq!(r["error"]["message"], "Unknown server 'nope' in request");
    let r = gw
        .request(json!(12), "tools/call", json!({"arguments": {}}))
        .await;
    assert_eq!(
        r["error"]["message"],
        "Tool call missing required 'name' parameter"
    );
    let r = gw.call(json!(13), "echo", json!({})).await;
    assert_eq!(r["error"]["code"], -32602);
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not properly namespaced"));
    // server/discover (the 2026 probe) → -32601 so modern clients fall back to initialize.
    let r = gw.request(json!(14), "server/discover", json!({})).await;
    assert_eq!(r["error"]["code"], -32601);

    still_works(&mut gw, 15).await;
    let (code, stderr) = gw.finish().await;
    assert_eq!(code, Some(0));
    let stats = gateway_stats(&stderr);
    assert_eq!(stats["client_parse_errors"], 2, "{stats}");
    assert_eq!(stats["client_oversize_answered"], 1, "{stats}");
    assert_eq!(stats["client_oversize_dropped"], 1, "{stats}");
    assert_eq!(stats["client_unknown_responses"], 2, "{stats}");
    assert!(
        stats["client_invalid_requests"].as_u64().unwrap() >= 6,
        "{stats}"
    );
}

#[tokio::test]
async fn upstream_garbage_and_oversize_never_reach_the_client() {
    let yaml = config(&[mock_upstream("m", &[])], "  max_message_bytes: 65536\n");
    let mut gw = Peer::gateway(&yaml);
    gw.initialize().await;
    // The mock writes a garbage line, then its answer: only the answer arrives.
    let r = gw.call(json!(1), "m__garbage", json!({})).await;
    assert!(r.get("result").is_some(), "{r}");
    // A separate line of invalid UTF-8 is dropped the same way.
    let r = gw
        .call(json!(2), "m__bad_utf8", json!({"mode": "line"}))
        .await;
    assert!(r.get("result").is_some(), "{r}");
    // An answer that is itself invalid UTF-8 never reaches the client: its request fails at once.
    let r = gw.call(json!(22), "m__bad_utf8", json!({})).await;
    assert_eq!(r["error"]["code"], -32004, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid response"),
        "{r}"
    );
    // An answer over the limit: the client gets a clear error naming the limit, at once.
    let r = gw
        .call(json!(3), "m__oversize", json!({"bytes": 200000}))
        .await;
    assert_eq!(r["error"]["code"], -32004, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("65536"),
        "{r}"
    );
    // An answer with an id the gateway never sent is dropped; the real one arrives.
    let r = gw.call(json!(4), "m__unknown_id", json!({})).await;
    assert!(r.get("result").is_some(), "{r}");
    // Answered twice: exactly one reply reaches the client.
    let r = gw.call(json!(5), "m__twice", json!({})).await;
    assert!(r.get("result").is_some(), "{r}");
    let r = gw
        .call(json!(6), "m__echo", json!({"message":"after"}))
        .await;
    assert_eq!(
        text_of(&r),
        "after",
        "the duplicate must not have been forwarded"
    );
    let (code, stderr) = gw.finish().await;
    assert_eq!(code, Some(0));
    let stats = gateway_stats(&stderr);
    assert!(stats["upstream_garbage"].as_u64().unwrap() >= 3, "{stats}");
    assert_eq!(stats["upstream_oversize"], 1, "{stats}");
    assert!(
        stats["upstream_unknown_responses"].as_u64().unwrap() >= 2,
        "{stats}"
    );
}

#[tokio::test]
async fn large_results_pass_intact() {
    let yaml = config(
        &[mock_upstream("m", &[])],
        "  max_message_bytes: 33554432\n",
    );
    let mut gw = Peer::gateway(&yaml);
    gw.initialize().await;
    for size in [1usize << 20, 16 << 20] {
        let r = gw
            .call(json!(size), "m__payload", json!({"size": size}))
            .await;
        let text = text_of(&r);
        assert_eq!(text.len(), size, "payload of {size} bytes");
    }
    // A large request argument is forwarded intact too (the echo doubles it in the answer).
    let msg = "y".repeat(8 << 20);
    let r = gw.call(json!(2), "m__echo", json!({"message": msg})).await;
    assert_eq!(text_of(&r), msg);
    gw.finish().await;
    // And a 1 MiB result under the default 16 MiB limit.
    let mut gw = Peer::gateway(&config(&[mock_upstream("m", &[])], ""));
    gw.initialize().await;
    let r = gw
        .call(json!(1), "m__payload", json!({"size": 1 << 20}))
        .await;
    assert_eq!(text_of(&r).len(), 1 << 20);
    gw.finish().await;
}

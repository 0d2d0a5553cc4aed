//! Server-initiated traffic: progress, logging, list-changed, periodic notifications, and
//! server->client requests (sampling, elicitation, roots) answered by a raw client; plus payload
//! sizes and batches.

mod mock_support;

use std::time::Duration;

use mock_support::{InProc, MockProc};
use serde_json::{json, Value};

const ALL_CAPS: &str = r#"{"sampling":{},"elicitation":{},"roots":{"listChanged":true}}"#;

fn caps() -> Value {
    serde_json::from_str(ALL_CAPS).expect("caps")
}

#[tokio::test]
async fn sampling_round_trip_over_pipes() {
    let mut m = MockProc::spawn(&[]);
    m.io.initialize(caps()).await;
    m.io.call(json!("s1"), "sample", json!({"prompt": "tell me"}))
        .await;
    let req = m.io.json().await;
    assert_eq!(req["method"], "sampling/createMessage");
    assert_eq!(req["id"], 0, "server->client ids start at 0");
    assert_eq!(req["params"]["messages"][0]["content"]["text"], "tell me");
    let reply = json!({"role":"assistant","content":{"type":"text","text":"hello back"},"model":"m-1","stopReason":"endTurn"});
    m.io.send(&json!({"jsonrpc":"2.0","id":0,"result":reply}))
        .await;
    let (answer, _) = m.io.until_id(&json!("s1")).await;
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "sampled: hello back"
    );
    assert_eq!(answer["result"]["sampled"], reply);

    // A client error becomes an isError tool result; the next request id is 1.
    m.io.call(json!("s2"), "sample", json!({})).await;
    let req = m.io.json().await;
    assert_eq!(req["id"], 1);
    m.io.send(&json!({"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"user rejected"}}))
        .await;
    let (answer, _) = m.io.until_id(&json!("s2")).await;
    assert_eq!(answer["result"]["isError"], true);
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "client error: user rejected"
    );

    // A reply nobody asked for is counted.
    m.io.send(&json!({"jsonrpc":"2.0","id":77,"result":{}}))
        .await;
    let (status, stderr) = m.finish().await;
    assert!(status.success());
    let s = mock_support::stats(&stderr);
    assert_eq!(s["client_requests"], 2);
    assert_eq!(s["client_responses"], 3);
    assert_eq!(s["unknown_response_ids"], 1);
}

#[tokio::test]
async fn elicitation_and_roots_round_trips() {
    let mut m = InProc::start(&[]);
    m.io.initialize(caps()).await;
    m.io.call(json!(1), "elicit", json!({"message": "who are you?"}))
        .await;
    let req = m.io.json().await;
    assert_eq!(req["method"], "elicitation/create");
    assert_eq!(req["params"]["message"], "who are you?");
    m.io.send(&json!({"jsonrpc":"2.0","id":req["id"],"result":{"action":"accept","content":{"name":"Ada"}}}))
        .await;
    let (a, _) = m.io.until_id(&json!(1)).await;
    assert_eq!(
        a["result"]["content"][0]["text"],
        r#"elicited: accept {"name":"Ada"}"#
    );
    assert_eq!(a["result"]["elicited"]["action"], "accept");

    m.io.call(json!(2), "roots", json!({})).await;
    let req = m.io.json().await;
    assert_eq!(req["method"], "roots/list");
    m.io.send(&json!({"jsonrpc":"2.0","id":req["id"],"result":{"roots":[{"uri":"file:///w"}]}}))
        .await;
    let (a, _) = m.io.until_id(&json!(2)).await;
    assert_eq!(a["result"]["content"][0]["text"], "roots: file:///w");
    m.finish().await;
}

#[tokio::test]
async fn undeclared_capabilities_are_tool_errors_unless_ignored() {
    let mut m = InProc::start(&[]);
    m.io.initialize(json!({})).await;
    m.io.call(json!(1), "sample", json!({})).await;
    let v = m.io.json().await;
    assert_eq!(v["id"], 1, "no request goes to the client");
    assert_eq!(v["result"]["isError"], true);
    m.finish().await;

    let mut m = InProc::start(&["--ignore-client-caps"]);
    m.io.initialize(json!({})).await;
    m.io.call(json!(1), "roots", json!({})).await;
    assert_eq!(m.io.json().await["method"], "roots/list");
    m.finish().await;
}

#[tokio::test(start_paused = true)]
async fn unanswered_client_request_times_out_into_an_error() {
    let mut m = InProc::start(&["--client-timeout", "2s"]);
    m.io.initialize(caps()).await;
    m.io.call(json!(1), "sample", json!({})).await;
    assert_eq!(m.io.json().await["method"], "sampling/createMessage");
    let (v, _) = m.io.until_id(&json!(1)).await;
    assert_eq!(v["result"]["isError"], true);
    m.finish().await;
}

#[tokio::test(start_paused = true)]
async fn progress_notifications_carry_the_token() {
    let mut m = InProc::start(&[]);
    for token in [json!("tok-1"), json!(42)] {
        m.io.request(
            json!("p"),
            "tools/call",
            json!({"name":"progress","arguments":{"steps":3,"interval_ms":20},"_meta":{"progressToken":token}}),
        )
        .await;
        let (answer, before) = m.io.until_id(&json!("p")).await;
        assert_eq!(before.len(), 3);
        for (i, n) in before.iter().enumerate() {
            assert_eq!(n["method"], "notifications/progress");
            assert_eq!(n["params"]["progressToken"], token);
            assert_eq!(n["params"]["progress"], i + 1);
            assert_eq!(n["params"]["total"], 3);
        }
        assert!(answer["result"]["content"][0]["text"].is_string());
    }
    // Without a token: no notifications, just the answer.
    m.io.call(
        json!("q"),
        "progress",
        json!({"steps": 2, "interval_ms": 1}),
    )
    .await;
    let (_, before) = m.io.until_id(&json!("q")).await;
    assert!(before.is_empty());
    m.finish().await;
}

#[tokio::test(start_paused = true)]
async fn log_notify_and_periodic_messages() {
    let mut m = InProc::start(&["--notify-every", "1s"]);
    m.io.call(
        json!(1),
        "log",
        json!({"level": "warning", "data": {"k": 1}}),
    )
    .await;
    let (_, before) = m.io.until_id(&json!(1)).await;
    assert_eq!(before[0]["method"], "notifications/message");
    assert_eq!(before[0]["params"]["level"], "warning");
    assert_eq!(before[0]["params"]["data"], json!({"k": 1}));

    m.io.call(json!(2), "notify", json!({"uri": "mock://static/0"}))
        .await;
    let (_, before) = m.io.until_id(&json!(2)).await;
    let methods: Vec<&str> = before.iter().filter_map(|v| v["method"].as_str()).collect();
    assert_eq!(
        methods,
        [
            "notifications/tools/list_changed",
            "notifications/resources/updated"
        ]
    );
    assert_eq!(before[1]["params"]["uri"], "mock://static/0");

    // Periodic messages begin after initialize.
    m.io.initialize(json!({})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut ticks = 0;
    m.io.request(json!("end"), "ping", json!({})).await;
    let (_, before) = m.io.until_id(&json!("end")).await;
    for v in before {
        if v["method"] == "notifications/message" && v["params"]["data"]["tick"].is_u64() {
            ticks += 1;
        }
    }
    assert!(ticks >= 2, "{ticks} ticks in 2.5 s at 1/s");
    m.finish().await;
}

#[tokio::test]
async fn payload_text_and_base64_sizes() {
    let mut m = InProc::start(&["--payload-bytes", "1234"]);
    m.io.call(json!(1), "payload", json!({})).await;
    let v = m.io.json().await;
    assert_eq!(
        v["result"]["content"][0]["text"].as_str().map(str::len),
        Some(1234)
    );
    m.io.call(json!(2), "payload", json!({"size": 3_000_000}))
        .await;
    let v = m.io.json().await;
    assert_eq!(
        v["result"]["content"][0]["text"].as_str().map(str::len),
        Some(3_000_000)
    );
    m.io.call(
        json!(3),
        "payload",
        json!({"size": 300, "encoding": "base64"}),
    )
    .await;
    let v = m.io.json().await;
    let blob = &v["result"]["content"][0]["resource"]["blob"];
    assert_eq!(blob.as_str().map(str::len), Some(400));
    m.io.call(json!(4), "payload", json!({"size": "big"})).await;
    assert_eq!(m.io.json().await["result"]["isError"], true);
    m.finish().await;
}

#[tokio::test]
async fn batches_are_answered_per_element() {
    let mut m = InProc::start(&[]);
    m.io.send_raw(
        br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"b"}}}]
"#,
    )
    .await;
    let a = m.io.json().await;
    let b = m.io.json().await;
    assert_eq!((a["id"].clone(), b["id"].clone()), (json!(1), json!(2)));
    m.io.send_raw(b"[]\n").await;
    assert_eq!(m.io.json().await["error"]["code"], -32600);
    m.finish().await;
}

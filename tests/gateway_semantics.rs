//! Gateway semantics: the handshake on both sides, namespacing and routing, aggregation with
//! pagination and partial failure, notifications, server→client requests, batches.

mod support;

use serde_json::{json, Value};
use support::*;

fn recorded(path: &std::path::Path) -> Vec<Value> {
    read_lines(path)
        .iter()
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

#[tokio::test]
async fn handshake_is_answered_by_the_gateway_and_upstreams_get_the_clients_session() {
    let rec_a = tempfile::NamedTempFile::new().unwrap();
    let ra = rec_a.path().to_str().unwrap().to_owned();
    let mut gw = Peer::gateway(&config(
        &[
            mock_upstream("a", &["--record", &ra]),
            mock_upstream("b", &[]),
        ],
        "",
    ));
    // Before initialize, only ping is answered.
    let r = gw.request(json!(0), "ping", json!({})).await;
    assert_eq!(r["result"], json!({}));
    let init = gw
        .initialize_with(json!({"sampling": {}, "roots": {"listChanged": true}}))
        .await;
    let result = &init["result"];
    assert_eq!(result["protocolVersion"], "2025-06-18");
    assert_eq!(result["serverInfo"]["name"], "gatekit");
    assert_eq!(result["capabilities"]["tools"]["listChanged"], true);
    assert!(result["capabilities"]["prompts"].is_object());
    assert_eq!(result["capabilities"]["resources"]["subscribe"], true);
    assert!(result["capabilities"]["logging"].is_object());
    assert!(result["capabilities"]["completions"].is_object());
    // A second initialize is refused; upstreams are never initialized twice.
    let r = gw.request(json!("again"), "initialize", json!({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}})).await;
    assert_eq!(r["error"]["code"], -32600);
    let r = gw.call(json!(1), "a__echo", json!({"message":"m"})).await;
    assert_eq!(text_of(&r), "m");
    let (_, stderr) = gw.finish().await;
    let sent = recorded(rec_a.path());
    let inits: Vec<&Value> = sent
        .iter()
        .filter(|v| v["method"] == "initialize")
        .collect();
    assert_eq!(inits.len(), 1, "initialized exactly once");
    assert_eq!(inits[0]["params"]["protocolVersion"], "2025-06-18");
    assert_eq!(
        inits[0]["params"]["capabilities"],
        json!({"sampling": {}, "roots": {"listChanged": true}})
    );
    assert_eq!(inits[0]["params"]["clientInfo"]["name"], "gatekit-tests");
    let pos_init = sent
        .iter()
        .position(|v| v["method"] == "initialize")
        .unwrap();
    let pos_initialized = sent
        .iter()
        .position(|v| v["method"] == "notifications/initialized")
        .expect("initialized forwarded");
    assert!(pos_initialized > pos_init);
    assert_eq!(
        sent.iter()
            .filter(|v| v["method"] == "notifications/initialized")
            .count(),
        1
    );
    assert!(!stderr.contains("already initialized"), "{stderr}");
}

#[tokio::test]
async fn lists_are_merged_prefixed_and_every_page_followed() {
    let yaml = config(
        &[
            mock_upstream("a", &["--page-size", "2", "--extra-tools", "5"]),
            mock_upstream("b", &["--page-size", "3"]),
            "    - name: dead\n      command: [\"/nonexistent/gatekit-test-binary\"]\n      restart_on_failure: false\n".to_owned(),
        ],
        "  timeouts:\n    connection_timeout: 5\n",
    );
    let mut gw = Peer::gateway(&yaml);
    gw.initialize().await;
    let mut direct = Peer::mock(&["--extra-tools", "5"]);
    direct.initialize().await;
    let direct_tools = direct.request(json!(1), "tools/list", json!({})).await;
    let direct_names: Vec<String> = direct_tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    direct.finish().await;

    let r = gw.request(json!(1), "tools/list", json!({})).await;
    let tools = r["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for n in &direct_names {
        assert!(
            names.contains(&format!("a__{n}").as_str()),
            "a__{n} missing from {names:?}"
        );
    }
    assert!(names.contains(&"b__echo"));
    assert!(names
        .iter()
        .all(|n| n.starts_with("a__") || n.starts_with("b__")));
    assert!(r["result"].get("nextCursor").is_none());
    // The dead upstream is reported under _meta, the rest of the answer is intact.
    let errors = &r["result"]["_meta"]["gatekit/errors"];
    assert_eq!(errors[0]["server"], "dead", "{r}");
    assert!(r["result"].get("_gatekit_metadata").is_none());

    let r = gw.request(json!(2), "resources/list", json!({})).await;
    let uris: Vec<&str> = r["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["uri"].as_str().unwrap())
        .collect();
    assert!(
        !uris.is_empty()
            && uris
                .iter()
                .all(|u| u.starts_with("a__") || u.starts_with("b__")),
        "{uris:?}"
    );
    let r = gw
        .request(json!(3), "resources/read", json!({"uri": uris[0]}))
        .await;
    assert!(r["result"]["contents"].is_array(), "{r}");
    let r = gw
        .request(json!(4), "resources/templates/list", json!({}))
        .await;
    let t = r["result"]["resourceTemplates"][0]["uriTemplate"]
        .as_str()
        .unwrap();
    assert!(t.starts_with("a__"), "{t}");
    let r = gw.request(json!(5), "prompts/list", json!({})).await;
    let p = r["result"]["prompts"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(p.starts_with("a__"), "{p}");
    let r = gw
        .request(
            json!(6),
            "prompts/get",
            json!({"name": "a__greeting", "arguments": {"name": "Ada"}}),
        )
        .await;
    assert!(r["result"]["messages"].is_array(), "{r}");
    let r = gw.request(json!(7), "completion/complete", json!({"ref": {"type":"ref/prompt","name":"b__greeting"}, "argument": {"name":"name","value":"A"}})).await;
    assert!(r["result"]["completion"]["values"].is_array(), "{r}");
    let r = gw
        .request(
            json!(8),
            "resources/subscribe",
            json!({"uri": "b__mock://static/0"}),
        )
        .await;
    assert_eq!(r["result"], json!({}), "{r}");
    let r = gw
        .request(json!(9), "logging/setLevel", json!({"level": "debug"}))
        .await;
    assert!(r.get("result").is_some(), "{r}");
    let r = gw
        .request(json!(10), "tools/list", json!({"cursor": "made-up"}))
        .await;
    assert_eq!(r["error"]["code"], -32602);
    gw.finish().await;
}

#[tokio::test]
async fn server_to_client_requests_round_trip_with_remapped_ids() {
    let mut gw = Peer::gateway(&config(&[mock_upstream("m", &[])], ""));
    gw.initialize_with(json!({"sampling": {}})).await;
    gw.send_json(&json!({"jsonrpc":"2.0","id":"call","method":"tools/call","params":{"name":"m__sample","arguments":{}}})).await;
    let req = loop {
        let v = gw.recv().await;
        if v["method"] == "sampling/createMessage" {
            break v;
        }
    };
    assert!(req["id"].is_u64(), "{req}");
    gw.send_json(&json!({"jsonrpc":"2.0","id":req["id"],"result":{"role":"assistant","content":{"type":"text","text":"from the client"},"model":"test","stopReason":"endTurn"}})).await;
    let r = gw.recv_reply().await;
    assert_eq!(r["id"], "call");
    assert!(text_of(&r).contains("from the client"), "{r}");
    gw.finish().await;
}

#[tokio::test]
async fn server_requests_for_undeclared_capabilities_are_refused_upstream() {
    // The mock is told to ask anyway, so the gateway is the one that refuses.
    let mut gw = Peer::gateway(&config(
        &[mock_upstream("m", &["--ignore-client-caps"])],
        "",
    ));
    gw.initialize().await; // no sampling capability
    let r = gw.call(json!(1), "m__sample", json!({})).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    let (_, stderr) = gw.finish().await;
    assert_eq!(gateway_stats(&stderr)["server_requests_refused"], 1);
}

#[tokio::test]
async fn progress_tokens_map_back_and_resource_updates_are_prefixed() {
    let mut gw = Peer::gateway(&config(&[mock_upstream("m", &[])], ""));
    gw.initialize().await;
    gw.send_json(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"m__progress","arguments":{"steps":3,"interval_ms":1},"_meta":{"progressToken":"tok-\"1"}}})).await;
    let mut progress = 0;
    loop {
        let raw = gw.recv_raw().await;
        let v: Value = serde_json::from_slice(&raw).unwrap();
        if v["method"] == "notifications/progress" {
            assert!(
                String::from_utf8_lossy(&raw).contains(r#""progressToken":"tok-\"1""#),
                "{v}"
            );
            progress += 1;
        } else if v["id"] == 1 {
            break;
        }
    }
    assert_eq!(progress, 3);
    gw.send_json(&json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"m__notify","arguments":{"uri":"mock://static/1"}}})).await;
    let mut saw_update = false;
    loop {
        let v = gw.recv().await;
        if v["method"] == "notifications/resources/updated" {
            assert_eq!(v["params"]["uri"], "m__mock://static/1");
            saw_update = true;
        }
        if v["id"] == 2 {
            break;
        }
    }
    assert!(saw_update);
    gw.finish().await;
}

#[tokio::test]
async fn batches_are_split_and_answered_as_one_array() {
    let mut gw = Peer::gateway(&config(
        &[mock_upstream("m", &["--service-time", "uniform:0ms..5ms"])],
        "",
    ));
    gw.initialize().await;
    let batch = json!([
        {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"m__echo","arguments":{"message":"one"}}},
        {"jsonrpc":"2.0","id":2,"method":"ping"},
        {"jsonrpc":"2.0","method":"notifications/roots/list_changed"},
        {"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"m__echo","arguments":{"message":"three"}}},
        {"bad":true}
    ]);
    gw.send_json(&batch).await;
    let r = gw.recv().await;
    let arr = r
        .as_array()
        .unwrap_or_else(|| panic!("batch reply must be an array: {r}"));
    assert_eq!(arr.len(), 4, "{r}");
    let by_id = |id: i64| {
        arr.iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {r}"))
    };
    assert_eq!(text_of(by_id(1)), "one");
    assert_eq!(by_id(2)["result"], json!({}));
    assert_eq!(text_of(by_id(3)), "three");
    assert!(arr.iter().any(|e| e["error"]["code"] == -32600));
    // A batch of notifications only gets no reply at all.
    gw.send(r#"[{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}]"#)
        .await;
    let r = gw.request(json!(9), "ping", json!({})).await;
    assert_eq!(r["result"], json!({}));
    gw.finish().await;
}

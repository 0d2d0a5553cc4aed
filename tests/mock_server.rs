//! gatekit-mock over real pipes: lifecycle, lists and pagination, prompts/resources/completion,
//! byte-exact echo, `--record`, exit behaviour and the stats line.

mod mock_support;

use std::time::Instant;

use mock_support::{stats, MockProc};
use serde_json::{json, Value};

#[tokio::test]
async fn initialize_list_call_ping_and_errors() {
    let mut m = MockProc::spawn(&["--name", "upstream-a"]);
    let init = m.io.initialize(json!({"sampling": {}})).await;
    assert_eq!(init["protocolVersion"], "2025-11-25");
    assert_eq!(init["serverInfo"]["name"], "upstream-a");
    let caps = &init["capabilities"];
    assert_eq!(caps["tools"]["listChanged"], true);
    assert_eq!(caps["prompts"]["listChanged"], true);
    assert_eq!(caps["resources"]["subscribe"], true);
    assert!(caps["logging"].is_object() && caps["completions"].is_object());

    m.io.request(json!(1), "tools/list", json!({})).await;
    let (list, _) = m.io.until_id(&json!(1)).await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for expected in [
        "echo", "payload", "sleep", "progress", "sample", "crash", "drip",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(list["result"].get("nextCursor").is_none());

    // Byte-exact echo: odd spacing and escapes in the arguments come back untouched.
    let args = r#"{ "message" : "h\u00e9llo",  "n":[1, 2.50] }"#;
    let line = format!(
        r#"{{"jsonrpc":"2.0","id":"c-1","method":"tools/call","params":{{"name":"echo","arguments":{args}}}}}"#
    );
    m.io.send_raw(format!("{line}\n").as_bytes()).await;
    let raw = m.io.line().await.expect("echo answer");
    let raw = String::from_utf8(raw).expect("utf8");
    assert!(raw.contains(&format!(r#""echo":{args}"#)), "{raw}");
    let v: Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(v["id"], "c-1");
    assert_eq!(v["result"]["content"][0]["text"], "héllo");

    m.io.request(json!(0), "ping", json!({})).await;
    assert_eq!(m.io.until_id(&json!(0)).await.0["result"], json!({}));

    for (id, method) in [(10, "server/discover"), (11, "no/such/method")] {
        m.io.request(json!(id), method, json!({})).await;
        assert_eq!(m.io.until_id(&json!(id)).await.0["error"]["code"], -32601);
    }
    m.io.call(json!(12), "no_such_tool", json!({})).await;
    assert_eq!(m.io.until_id(&json!(12)).await.0["error"]["code"], -32602);

    // A second initialize is refused and counted.
    m.io.request(
        json!(13),
        "initialize",
        json!({"protocolVersion":"2025-06-18"}),
    )
    .await;
    let (again, _) = m.io.until_id(&json!(13)).await;
    assert_eq!(again["error"]["code"], -32600);
    assert_eq!(again["error"]["message"], "already initialized");

    m.io.send_raw(b"{not json\n").await;
    let perr = m.io.json().await;
    assert_eq!(perr["error"]["code"], -32700);
    assert_eq!(perr["id"], Value::Null);

    let (status, stderr) = m.finish().await;
    assert_eq!(status.code(), Some(0));
    let s = stats(&stderr);
    assert_eq!(s["double_inits"], 1);
    assert_eq!(s["calls"], 2);
    assert_eq!(s["parse_errors"], 1);
    assert_eq!(s["notifications"], 1);
}

#[tokio::test]
async fn version_negotiation_echoes_known_and_defaults_unknown() {
    for (asked, answered) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2026-07-28", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let mut m = MockProc::spawn(&[]);
        m.io.request(
            json!(1),
            "initialize",
            json!({"protocolVersion": asked, "capabilities": {}}),
        )
        .await;
        let (v, _) = m.io.until_id(&json!(1)).await;
        assert_eq!(v["result"]["protocolVersion"], answered, "asked {asked}");
        let (status, _) = m.finish().await;
        assert!(status.success());
    }
}

async fn walk(m: &mut MockProc, method: &str, key: &str) -> (Vec<String>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let id = json!(format!("{method}-{pages}"));
        m.io.request(id.clone(), method, params).await;
        let (v, _) = m.io.until_id(&id).await;
        pages += 1;
        for item in v["result"][key].as_array().expect("items") {
            let name = item["name"].as_str().expect("name").to_owned();
            items.push(name);
        }
        match v["result"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn pagination_covers_every_item_once_and_rejects_bad_cursors() {
    let mut m = MockProc::spawn(&[
        "--page-size",
        "5",
        "--extra-tools",
        "12",
        "--resources",
        "7",
    ]);
    m.io.initialize(json!({})).await;
    let (tools, pages) = walk(&mut m, "tools/list", "tools").await;
    let mut unique = tools.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tools.len(), "no duplicates");
    assert!(tools.contains(&"tool_0".to_owned()) && tools.contains(&"tool_11".to_owned()));
    assert!(!tools.contains(&"tool_12".to_owned()));
    assert_eq!(pages, tools.len().div_ceil(5));

    let (resources, pages) = walk(&mut m, "resources/list", "resources").await;
    assert_eq!(resources.len(), 7);
    assert_eq!(pages, 2);
    let (prompts, _) = walk(&mut m, "prompts/list", "prompts").await;
    assert!(prompts.contains(&"greeting".to_owned()));

    m.io.request(
        json!("bad"),
        "tools/list",
        json!({"cursor": "not-a-cursor"}),
    )
    .await;
    assert_eq!(
        m.io.until_id(&json!("bad")).await.0["error"]["code"],
        -32602
    );

    m.io.call(json!("t11"), "tool_11", json!({"message": "generated"}))
        .await;
    let (v, _) = m.io.until_id(&json!("t11")).await;
    assert_eq!(v["result"]["content"][0]["text"], "generated");
    m.io.call(json!("t12"), "tool_12", json!({})).await;
    assert_eq!(
        m.io.until_id(&json!("t12")).await.0["error"]["code"],
        -32602
    );
    assert!(m.finish().await.0.success());
}

#[tokio::test]
async fn prompts_resources_and_completion() {
    let mut m = MockProc::spawn(&[]);
    m.io.initialize(json!({})).await;

    m.io.request(
        json!(1),
        "prompts/get",
        json!({"name":"greeting","arguments":{"name":"Ada"}}),
    )
    .await;
    let (v, _) = m.io.until_id(&json!(1)).await;
    assert_eq!(v["result"]["messages"][0]["content"]["text"], "Hello, Ada!");
    m.io.request(json!(2), "prompts/get", json!({"name":"greeting"}))
        .await;
    assert_eq!(m.io.until_id(&json!(2)).await.0["error"]["code"], -32602);
    m.io.request(json!(3), "prompts/get", json!({"name":"nope"}))
        .await;
    assert_eq!(m.io.until_id(&json!(3)).await.0["error"]["code"], -32602);

    m.io.request(json!(4), "resources/templates/list", json!({}))
        .await;
    let (v, _) = m.io.until_id(&json!(4)).await;
    assert_eq!(
        v["result"]["resourceTemplates"][0]["uriTemplate"],
        "mock://item/{id}"
    );
    m.io.request(json!(5), "resources/read", json!({"uri":"mock://static/1"}))
        .await;
    let (v, _) = m.io.until_id(&json!(5)).await;
    assert_eq!(v["result"]["contents"][0]["text"], "static resource 1");
    assert_eq!(v["result"]["contents"][0]["uri"], "mock://static/1");
    m.io.request(json!(6), "resources/read", json!({"uri":"mock://item/abc"}))
        .await;
    assert_eq!(
        m.io.until_id(&json!(6)).await.0["result"]["contents"][0]["text"],
        "item abc"
    );
    for (id, uri) in [(7, "mock://static/99"), (8, "file:///etc/passwd")] {
        m.io.request(json!(id), "resources/read", json!({"uri": uri}))
            .await;
        assert_eq!(m.io.until_id(&json!(id)).await.0["error"]["code"], -32002);
    }
    for (id, method) in [(9, "resources/subscribe"), (10, "resources/unsubscribe")] {
        m.io.request(json!(id), method, json!({"uri":"mock://static/0"}))
            .await;
        assert_eq!(m.io.until_id(&json!(id)).await.0["result"], json!({}));
    }

    m.io.request(
        json!(11),
        "completion/complete",
        json!({"ref":{"type":"ref/prompt","name":"greeting"},"argument":{"name":"name","value":"Ad"}}),
    )
    .await;
    let (v, _) = m.io.until_id(&json!(11)).await;
    assert_eq!(
        v["result"]["completion"],
        json!({"values":["Ad-1","Ad-2"],"total":2,"hasMore":false})
    );
    m.io.request(json!(12), "logging/setLevel", json!({"level":"debug"}))
        .await;
    assert_eq!(m.io.until_id(&json!(12)).await.0["result"], json!({}));
    m.io.request(json!(13), "logging/setLevel", json!({"level":"loud"}))
        .await;
    assert_eq!(m.io.until_id(&json!(13)).await.0["error"]["code"], -32602);
    assert!(m.finish().await.0.success());
}

#[tokio::test]
async fn record_captures_exact_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("input.ndjson");
    let path_str = path.to_str().expect("utf8 path");
    let mut m = MockProc::spawn(&["--record", path_str]);
    let sent: &[&[u8]] = &[
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n",
        b"{ \"jsonrpc\" : \"2.0\", \"id\" : \"x\\u0041\", \"method\" : \"ping\" }\r\n",
        b"garbage that is not json\n",
        b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"\xc3\xa9\"}}}\n",
    ];
    for chunk in sent {
        m.io.send_raw(chunk).await;
    }
    m.io.until_id(&json!(2)).await;
    let (status, _) = m.finish().await;
    assert!(status.success());
    assert_eq!(std::fs::read(&path).expect("record"), sent.concat());
}

#[tokio::test]
async fn stdin_eof_waits_for_in_flight_calls_then_exits_zero() {
    let mut m = MockProc::spawn(&[]);
    m.io.call(json!(1), "sleep", json!({"ms": 300})).await;
    m.io.call(json!(2), "echo", json!({"message": "fast"}))
        .await;
    m.io.close_input().await;
    let first = m.io.json().await;
    assert_eq!(first["id"], 2, "the fast call overtakes the slow one");
    let second = m.io.json().await;
    assert_eq!(second["id"], 1);
    assert_eq!(second["result"]["content"][0]["text"], "slept 300 ms");
    assert!(m.io.line().await.is_none(), "stdout closes at exit");
    let (status, stderr) = m.wait().await;
    assert_eq!(status.code(), Some(0));
    assert_eq!(stats(&stderr)["answers"], 2);
}

#[tokio::test]
async fn drain_timeout_bounds_exit_after_eof() {
    let mut m = MockProc::spawn(&["--drain-timeout", "200ms"]);
    m.io.call(json!(1), "sleep", json!({"ms": 60_000})).await;
    let t = Instant::now();
    m.io.close_input().await;
    assert!(
        m.io.line().await.is_none(),
        "no answer for the abandoned call"
    );
    let (status, _) = m.wait().await;
    assert_eq!(status.code(), Some(0));
    assert!(
        t.elapsed().as_secs() < 30,
        "exit is bounded by the drain timeout"
    );
}

#[tokio::test]
async fn help_lists_every_fault() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatekit-mock"))
        .arg("--help")
        .output()
        .await
        .expect("run --help");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).expect("utf8");
    for word in [
        "--service-time",
        "--serial",
        "--drop-rate",
        "--drop-id",
        "--late-ms",
        "--garbage-every",
        "--crash-after",
        "--stderr-flood",
        "--ignore-sigterm",
        "--stall",
        "--stall-once-after",
        "--notify-every",
        "--record",
        "never",
        "twice",
        "unknown_id",
        "garbage",
        "oversize",
        "drip",
        "eof_no_newline",
        "crash",
        "close_stdout",
        "stderr_flood",
        "bad_utf8",
    ] {
        assert!(help.contains(word), "--help does not mention {word}");
    }
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatekit-mock"))
        .arg("--service-time=bogus")
        .output()
        .await
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}

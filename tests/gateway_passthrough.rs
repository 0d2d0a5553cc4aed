//! Byte-exact passthrough and id fidelity through the real gateway binary over real pipes.

mod support;

use serde_json::{json, Value};
use support::*;

/// Finds `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test]
async fn params_and_results_survive_byte_for_byte() {
    let record = tempfile::NamedTempFile::new().unwrap();
    let rec = record.path().to_str().unwrap().to_owned();
    let yaml = config(&[mock_upstream("m", &["--record", &rec])], "");
    let mut gw = Peer::gateway(&yaml);
    gw.initialize().await;

    // Unknown fields, _meta, odd key order, escapes and non-ASCII, exactly as a client might write them.
    let args = r#"{"zeta":1,"alpha":"x\u00e9\"\\n\/","nested":{"b":[1,2.50,-0.0,1e3],"a":null},"_meta":{"k":"v"}}"#;
    let line = format!(
        r#"{{"params":{{"arguments":{args},"_meta":{{"custom/key":"v"}},"name":"m__echo","extraField":true}},"id":7,"method":"tools/call","jsonrpc":"2.0"}}"#
    );
    gw.send(&line).await;
    let reply = gw.recv_raw().await;

    // What the upstream received: the same bytes except the id and the de-namespaced name.
    let lines = read_lines(record.path());
    let forwarded = lines
        .iter()
        .find(|l| find(l, b"tools/call").is_some())
        .expect("forwarded call recorded");
    let forwarded = String::from_utf8(forwarded.clone()).unwrap();
    let v: Value = serde_json::from_str(&forwarded).unwrap();
    let upstream_id = v["id"].as_u64().expect("gateway-assigned integer id");
    let expected = line
        .replace(r#""name":"m__echo""#, r#""name":"echo""#)
        .replace(r#""id":7"#, &format!(r#""id":{upstream_id}"#));
    assert_eq!(forwarded, expected);

    // What the client received: the mock's echo of the raw arguments, byte for byte, id restored.
    assert!(
        find(&reply, args.as_bytes()).is_some(),
        "echo of raw args in {}",
        String::from_utf8_lossy(&reply)
    );
    let r: Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(r["id"], 7);
    let (code, stderr) = gw.finish().await;
    assert_eq!(code, Some(0), "{stderr}");
}

#[tokio::test]
async fn client_ids_come_back_exactly_as_sent() {
    let yaml = config(&[mock_upstream("m", &[])], "");
    let mut gw = Peer::gateway(&yaml);
    gw.initialize().await;
    let ids = [
        r#"0"#,
        r#""0""#,
        r#"-1"#,
        r#"9007199254740993"#,
        r#""a\"b""#,
        r#""""#,
        r#"18446744073709551616"#,
    ];
    for id in ids {
        gw.send(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"m__echo","arguments":{{"message":"hi"}}}}}}"#)).await;
        let raw = gw.recv_raw().await;
        let s = String::from_utf8(raw).unwrap();
        assert!(
            s.contains(&format!(r#""id":{id}"#)),
            "id {id} not restored exactly in {s}"
        );
        // And locally answered requests too.
        gw.send(&format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#))
            .await;
        let s = String::from_utf8(gw.recv_raw().await).unwrap();
        assert!(
            s.contains(&format!(r#""id":{id}"#)),
            "ping id {id} not restored in {s}"
        );
    }
    gw.finish().await;
}

#[tokio::test]
async fn a_thousand_pipelined_requests_with_colliding_ids_across_two_upstreams() {
    let yaml = config(
        &[
            mock_upstream("a", &["--service-time", "uniform:0ms..2ms", "--seed", "1"]),
            mock_upstream("b", &["--service-time", "uniform:0ms..2ms", "--seed", "2"]),
        ],
        "",
    );
    let mut gw = Peer::gateway(&yaml);
    gw.initialize().await;
    // Integer ids to `a` and the same numbers as strings to `b`: distinct JSON-RPC ids whose
    // pass-through would collide in any gateway that does not remap.
    let mut batch = String::new();
    for i in 0..500 {
        batch.push_str(&json!({"jsonrpc":"2.0","id":i,"method":"tools/call","params":{"name":"a__echo","arguments":{"message":format!("a-{i}")}}}).to_string());
        batch.push('\n');
        batch.push_str(&json!({"jsonrpc":"2.0","id":i.to_string(),"method":"tools/call","params":{"name":"b__echo","arguments":{"message":format!("b-{i}")}}}).to_string());
        batch.push('\n');
    }
    gw.send_raw(batch.as_bytes()).await;
    let mut seen_a = vec![false; 500];
    let mut seen_b = vec![false; 500];
    for _ in 0..1000 {
        let r = gw.recv_reply().await;
        let text = text_of(&r);
        match &r["id"] {
            Value::Number(n) => {
                let i = n.as_u64().unwrap() as usize;
                assert_eq!(text, format!("a-{i}"));
                assert!(!seen_a[i], "duplicate answer for {i}");
                seen_a[i] = true;
            }
            Value::String(s) => {
                let i: usize = s.parse().unwrap();
                assert_eq!(text, format!("b-{i}"));
                assert!(!seen_b[i], "duplicate answer for \"{i}\"");
                seen_b[i] = true;
            }
            other => panic!("unexpected id {other}"),
        }
    }
    assert!(seen_a.iter().chain(&seen_b).all(|s| *s));
    let (code, stderr) = gw.finish().await;
    assert_eq!(code, Some(0));
    let stats = gateway_stats(&stderr);
    assert_eq!(stats["requests_forwarded"], 1000);
    assert_eq!(stats["responses_returned"], 1000);
    assert_eq!(stats["upstream_unknown_responses"], 0);
}

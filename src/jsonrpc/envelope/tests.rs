use super::*;

fn ok(frame: &str) -> Envelope<'_> {
    scan(frame.as_bytes()).unwrap_or_else(|e| panic!("{frame}: {e}"))
}

fn text(frame: &str, span: Option<Span>) -> Option<&str> {
    span.map(|s| std::str::from_utf8(s.of(frame.as_bytes())).expect("utf8"))
}

fn invalid_request(frame: &str) -> String {
    match scan(frame.as_bytes()) {
        Err(ScanError::InvalidRequest(msg)) => msg,
        other => panic!("{frame}: expected InvalidRequest, got {other:?}"),
    }
}

#[test]
fn request_notification_response() {
    let f = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let e = ok(f);
    assert_eq!(e.kind, Kind::Request);
    assert_eq!(e.method.as_deref(), Some("tools/list"));
    assert_eq!(text(f, e.id), Some("1"));
    assert!(e.params.is_none() && !e.is_error);

    let e = ok(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    assert_eq!((e.kind, e.id), (Kind::Notification, None));

    let f = r#"{"jsonrpc":"2.0","id":"x","result":{"tools":[]}}"#;
    let e = ok(f);
    assert_eq!(
        (e.kind, e.is_error, e.method),
        (Kind::Response, false, None)
    );
    assert_eq!(text(f, e.id), Some(r#""x""#));

    let e = ok(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#);
    assert_eq!((e.kind, e.is_error, e.id), (Kind::Response, true, None));
    let e = ok(r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"}}"#);
    assert_eq!((e.kind, e.id), (Kind::Response, None));
    assert_eq!(
        ok(r#"{"jsonrpc":"2.0","id":3,"result":null}"#).kind,
        Kind::Response
    );
}

#[test]
fn id_spans_are_exact() {
    for id in [
        "0",
        "\"0\"",
        "-1",
        "9007199254740993",
        r#""a\"b""#,
        "123456789012345678901234567890",
        r#""""#,
    ] {
        let f = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        assert_eq!(text(&f, ok(&f).id), Some(id), "request id {id}");
        let f = format!(r#"{{ "result" : {{}} , "id" :  {id}  ,"jsonrpc":"2.0"}}"#);
        assert_eq!(text(&f, ok(&f).id), Some(id), "response id {id}");
    }
}

#[test]
fn bad_ids_are_invalid_requests() {
    for id in [
        "1.0",
        "1e3",
        "-0.5",
        "true",
        "false",
        "{}",
        "[1]",
        r#"{"a":1}"#,
    ] {
        let f = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        assert!(invalid_request(&f).contains("id"), "{id}");
        let f = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#);
        invalid_request(&f);
    }
    let msg = invalid_request(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#);
    assert!(msg.contains("null"), "{msg}");
}

#[test]
fn invalid_request_classes() {
    for f in [
        r#""just a string""#,
        "42",
        "null",
        r#"{"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":null,"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":null}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","result":1}"#,
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{}"#,
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"progressToken":1,"progressToken":2}}}"#,
    ] {
        invalid_request(f);
    }
    // An escaped "2.0" is still "2.0".
    ok(r#"{"jsonrpc":"\u0032.0","id":1,"method":"ping"}"#);
}

#[test]
fn invalid_json_classes() {
    for f in [
        &b""[..],
        b"   ",
        b"{",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing",
        b"{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"ping\"}",
        b"{'jsonrpc':'2.0'}",
        b"[1,",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffing\"}",
        b"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xc0\xaf\"}}",
    ] {
        assert!(
            matches!(scan(f), Err(ScanError::InvalidJson(_))),
            "{:?} -> {:?}",
            String::from_utf8_lossy(f),
            scan(f)
        );
    }
}

#[test]
fn arrays_are_batches() {
    assert_eq!(scan(b" [1,2]").err(), Some(ScanError::Batch));
    assert_eq!(scan(b"[]").err(), Some(ScanError::Batch));
    // serde would read an array as a tuple struct; it must never pass as a message.
    assert_eq!(scan(br#"["2.0",1,"ping"]"#).err(), Some(ScanError::Batch));
}

#[test]
fn split_batch_slices_the_frame() {
    let frame = Bytes::from_static(
        br#" [ {"jsonrpc":"2.0","id":1,"method":"a"} ,{"jsonrpc":"2.0","method":"b"}, 5 ] "#,
    );
    let items = split_batch(&frame).expect("valid batch");
    assert_eq!(items.len(), 3);
    assert_eq!(&items[0][..], br#"{"jsonrpc":"2.0","id":1,"method":"a"}"#);
    assert_eq!(&items[2][..], b"5");
    let offset = items[1].as_ptr() as usize - frame.as_ptr() as usize;
    assert_eq!(&frame[offset..offset + items[1].len()], &items[1][..]);
    assert_eq!(
        ok(std::str::from_utf8(&items[1]).expect("utf8")).kind,
        Kind::Notification
    );

    assert!(matches!(
        split_batch(&Bytes::from_static(b"[ ]")),
        Err(ScanError::InvalidRequest(_))
    ));
    assert!(matches!(
        split_batch(&Bytes::from_static(b"[1,")),
        Err(ScanError::InvalidJson(_))
    ));
    assert!(matches!(
        split_batch(&Bytes::from_static(b"{}")),
        Err(ScanError::InvalidRequest(_))
    ));
    assert!(matches!(
        split_batch(&Bytes::from_static(b"x")),
        Err(ScanError::InvalidJson(_))
    ));
}

#[test]
fn params_fields() {
    let f = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ec\u0068o","arguments":{"name":"not me","uri":"no"}}}"#;
    let e = ok(f);
    let name = e.name.expect("params.name");
    assert_eq!(name.value, "echo");
    assert!(matches!(name.value, Cow::Owned(_)));
    assert_eq!(name.span.of(f.as_bytes()), br#""ec\u0068o""#);
    assert!(e.uri.is_none());
    assert_eq!(
        text(f, e.params).map(|p| p.starts_with(r#"{"name""#)),
        Some(true)
    );
    assert!(text(f, e.params).expect("params").ends_with("}}"));

    let f = r#"{"params":{"uri":"file:///a b","_meta":{"progressToken":"tok-1"}},"method":"resources/read","id":"r","jsonrpc":"2.0"}"#;
    let e = ok(f);
    let uri = e.uri.expect("params.uri");
    assert_eq!(uri.value, "file:///a b");
    assert!(matches!(uri.value, Cow::Borrowed(_)));
    assert_eq!(text(f, e.progress_token), Some(r#""tok-1""#));
    assert_eq!(e.method.as_deref(), Some("resources/read"));

    let f = r#"{"jsonrpc":"2.0","id":2,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"srv__p"},"argument":{"name":"a","value":"b"}}}"#;
    let e = ok(f);
    assert_eq!(
        e.ref_name.map(|r| r.value.into_owned()).as_deref(),
        Some("srv__p")
    );
    assert!(e.name.is_none() && e.ref_uri.is_none());

    let f = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":-7,"reason":"x"}}"#;
    let e = ok(f);
    assert_eq!(text(f, e.request_id), Some("-7"));

    let f = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"_meta":{"progressToken":2.5}}}"#;
    assert_eq!(ok(f).progress_token, None, "only integer or string tokens");
}

#[test]
fn odd_params_shapes_are_tolerated() {
    for params in [
        "[1,2]",
        "null",
        "\"s\"",
        r#"{"name":5,"uri":null,"ref":"x","_meta":[]}"#,
    ] {
        let f = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{params}}}"#);
        let e = ok(&f);
        assert_eq!(text(&f, e.params), Some(params));
        assert!(
            e.name.is_none()
                && e.uri.is_none()
                && e.ref_name.is_none()
                && e.progress_token.is_none()
        );
    }
}

#[test]
fn unknown_and_nested_keys_are_ignored() {
    let f = r#"{"x":{"id":"no","method":"no"},"jsonrpc":"2.0","method":"m","extra":[1,{"a":null}],"id":9}"#;
    let e = ok(f);
    assert_eq!(text(f, e.id), Some("9"));
    assert_eq!(e.method.as_deref(), Some("m"));
    // Whitespace of every JSON kind between tokens.
    let f = "\t{ \"jsonrpc\" :\r\"2.0\" ,\n\"id\" : 4 , \"method\" : \"m\" } ";
    assert_eq!(text(f, ok(f).id), Some("4"));
}

#[test]
fn strings_borrow_unless_escaped() {
    let e = ok(r#"{"jsonrpc":"2.0","method":"a/b","id":1}"#);
    assert!(matches!(e.method, Some(Cow::Borrowed("a/b"))));
    let e = ok(r#"{"jsonrpc":"2.0","method":"a\/b","id":1}"#);
    assert!(matches!(e.method, Some(Cow::Owned(ref s)) if s == "a/b"));
    let e = ok(r#"{"jsonrpc":"2.0","method":"é😀","id":1}"#);
    assert_eq!(e.method.as_deref(), Some("é😀"));
}

#[test]
fn error_display_matches_json_rpc_messages() {
    assert!(ScanError::InvalidJson("x".into())
        .to_string()
        .starts_with("Parse error"));
    assert!(ScanError::InvalidRequest("x".into())
        .to_string()
        .starts_with("Invalid Request"));
}

/// Values the gateway never reads are checked against the JSON grammar only, so the frame passes through
/// even where a DOM parser would refuse it (depth, number range, lone surrogates); the upstream decides.
#[test]
fn skipped_values_are_checked_by_grammar_only() {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{{"a":{}{}}}}}"#,
        "[".repeat(300),
        "]".repeat(300)
    );
    assert_eq!(ok(&deep).kind, Kind::Request);
    let f = r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"\ud800","b":1e400}}"#;
    assert_eq!(ok(f).kind, Kind::Request);
    // A string the gateway does read must decode.
    invalid_request(r#"{"jsonrpc":"2.0","id":1,"method":"\ud800"}"#);
    let e = ok(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"name":"\udc00"}}"#);
    assert!(e.name.is_none());
}

#[test]
fn large_payloads_scan_without_reading_them() {
    let blob = "QUJD".repeat(1024 * 1024);
    let f = format!(
        r#"{{"jsonrpc":"2.0","id":"big","result":{{"content":[{{"type":"image","data":"{blob}"}}]}}}}"#
    );
    let e = ok(&f);
    assert_eq!((e.kind, text(&f, e.id)), (Kind::Response, Some(r#""big""#)));
    let f = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"arguments":{{"data":"{blob}"}},"name":"s__t"}}}}"#
    );
    assert_eq!(
        ok(&f).name.map(|n| n.value.into_owned()).as_deref(),
        Some("s__t")
    );
}

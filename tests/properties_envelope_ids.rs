//! Integer ids beyond `f64`'s range: found by the `envelope` fuzz target, where a ~350-digit
//! integer id made `serde_json::Value` fail ("number out of range") on a frame the gateway must
//! still route. Ids are strings or integers of any size (`jsonrpc::envelope` module docs), so the
//! scan and the oversize-line id recovery both keep such an id byte for byte.

use gatekit::jsonrpc::{recover_id, scan, Kind};

fn huge_integer() -> String {
    format!("1{}", "3".repeat(400))
}

#[test]
fn scan_keeps_an_integer_id_too_large_for_f64() {
    let id = huge_integer();
    let frame = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"a__b"}}}}"#
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&frame).is_err(),
        "Value rejects the number, which is why the scan cannot be judged by Value here"
    );
    let env = scan(frame.as_bytes()).expect("a valid request");
    assert_eq!(env.kind, Kind::Request);
    let span = env.id.expect("an id");
    assert_eq!(span.of(frame.as_bytes()), id.as_bytes());
    assert_eq!(env.method.as_deref(), Some("tools/call"));
}

#[test]
fn recover_id_keeps_an_integer_id_too_large_for_f64() {
    let id = huge_integer();
    let frame =
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"arguments":"#);
    let found = recover_id(frame.as_bytes());
    assert!(found.has_method && !found.has_result_or_error);
    let span = found.id.expect("the id precedes the cut");
    assert_eq!(span.of(frame.as_bytes()), id.as_bytes());
    // Cut inside the id: it may have been truncated, so nothing is reported.
    assert_eq!(
        recover_id(&frame.as_bytes()[..frame.find(&id).expect("id") + 200]).id,
        None
    );
}

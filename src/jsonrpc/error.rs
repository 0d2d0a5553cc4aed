//! The one place that writes JSON-RPC error frames (and the few simple frames the gateway makes itself).
//!
//! Every frame written here is compact JSON on one line: strings are escaped (control characters
//! included), and any raw `\r`/`\n` in caller-supplied, already-serialized JSON is turned into a space,
//! which is exact because in valid JSON those bytes can only be insignificant whitespace. So a frame can
//! always be sent with a single trailing newline as its delimiter.
//!
//! Raw ids are passed through as the exact bytes of the peer's id token, so `1`, `"1"` and `"a\"b"`
//! come back as sent.

use bytes::Bytes;
use memchr::memchr2;

use super::id::{push_i64, push_json_string};

/// JSON-RPC 2.0 and Gatekit error codes.
pub mod code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Gatekit: a security plugin blocked the message.
    pub const SECURITY_VIOLATION: i64 = -32000;
    /// Gatekit: the configuration is invalid.
    pub const CONFIGURATION_ERROR: i64 = -32001;
    /// Gatekit: a plugin could not be loaded.
    pub const PLUGIN_LOADING_ERROR: i64 = -32002;
    /// Gatekit: the request is not permitted.
    pub const PERMISSION_ERROR: i64 = -32003;
    /// Gatekit: the upstream server is unavailable or failed.
    pub const UPSTREAM_UNAVAILABLE: i64 = -32004;
    /// Gatekit: auditing failed (fail-closed audit).
    pub const AUDITING_FAILURE: i64 = -32005;
}

const HEAD: &[u8] = br#"{"jsonrpc":"2.0""#;

/// `id`: the raw JSON bytes of the id exactly as the peer sent it, or None for `null`.
pub fn error_frame(
    id: Option<&[u8]>,
    code: i64,
    message: &str,
    data: Option<&serde_json::Value>,
) -> Bytes {
    let mut out = Vec::with_capacity(64 + message.len() + id.map_or(4, <[u8]>::len));
    out.extend_from_slice(HEAD);
    out.extend_from_slice(br#","id":"#);
    push_raw(&mut out, id.unwrap_or(b"null"));
    out.extend_from_slice(br#","error":{"code":"#);
    push_i64(&mut out, code);
    out.extend_from_slice(br#","message":"#);
    push_json_string(&mut out, message);
    if let Some(data) = data {
        let mark = out.len();
        out.extend_from_slice(br#","data":"#);
        // Compact serde output escapes control characters inside strings, so it stays on one line. A
        // `Value` cannot fail to serialize into a Vec; should it, the frame is still valid without data.
        if serde_json::to_writer(&mut out, data).is_err() {
            out.truncate(mark);
        }
    }
    out.extend_from_slice(b"}}");
    out.into()
}

/// `{"jsonrpc":"2.0","id":<id>,"result":<result_json>}`; result_json is already-serialized JSON.
pub fn result_frame(id: &[u8], result_json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(32 + id.len() + result_json.len());
    out.extend_from_slice(HEAD);
    out.extend_from_slice(br#","id":"#);
    push_raw(&mut out, id);
    out.extend_from_slice(br#","result":"#);
    push_raw(&mut out, result_json);
    out.push(b'}');
    out.into()
}

/// A notification frame `{"jsonrpc":"2.0","method":..,"params":<params_json>}` (params omitted if None).
pub fn notification_frame(method: &str, params_json: Option<&[u8]>) -> Bytes {
    let mut out = Vec::with_capacity(48 + method.len() + params_json.map_or(0, <[u8]>::len));
    out.extend_from_slice(HEAD);
    push_method_and_params(&mut out, method, params_json);
    out.into()
}

/// A request frame with the given raw id bytes.
pub fn request_frame(id: &[u8], method: &str, params_json: Option<&[u8]>) -> Bytes {
    let mut out =
        Vec::with_capacity(56 + id.len() + method.len() + params_json.map_or(0, <[u8]>::len));
    out.extend_from_slice(HEAD);
    out.extend_from_slice(br#","id":"#);
    push_raw(&mut out, id);
    push_method_and_params(&mut out, method, params_json);
    out.into()
}

fn push_method_and_params(out: &mut Vec<u8>, method: &str, params_json: Option<&[u8]>) {
    out.extend_from_slice(br#","method":"#);
    push_json_string(out, method);
    if let Some(params) = params_json {
        out.extend_from_slice(br#","params":"#);
        push_raw(out, params);
    }
    out.push(b'}');
}

/// Appends already-serialized JSON, turning raw line breaks (whitespace in valid JSON) into spaces.
fn push_raw(out: &mut Vec<u8>, json: &[u8]) {
    let start = out.len();
    out.extend_from_slice(json);
    if memchr2(b'\n', b'\r', json).is_some() {
        for b in &mut out[start..] {
            if matches!(*b, b'\n' | b'\r') {
                *b = b' ';
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Every frame: one line, valid JSON, JSON-RPC 2.0.
    fn parse(frame: &Bytes) -> Value {
        assert!(
            !frame.contains(&b'\n') && !frame.contains(&b'\r'),
            "raw line break in {frame:?}"
        );
        let v: Value = serde_json::from_slice(frame).expect("valid JSON");
        assert_eq!(v["jsonrpc"], "2.0");
        v
    }

    #[test]
    fn error_frames_keep_the_id_verbatim() {
        for (id, want) in [
            (Some(&b"1"[..]), json!(1)),
            (Some(br#""1""#), json!("1")),
            (Some(br#""a\"b""#), json!("a\"b")),
            (Some(b"9007199254740993"), json!(9007199254740993u64)),
            (None, Value::Null),
        ] {
            let f = error_frame(id, code::PARSE_ERROR, "Parse error", None);
            let v = parse(&f);
            assert_eq!(v["id"], want);
            assert_eq!(
                v["error"],
                json!({"code": -32700, "message": "Parse error"})
            );
            if let Some(id) = id {
                let expected = [&br#"{"jsonrpc":"2.0","id":"#[..], id].concat();
                assert!(f.starts_with(&expected));
            }
        }
    }

    #[test]
    fn messages_and_data_with_line_breaks_stay_on_one_line() {
        let data = json!({"reason": "multi\nline\r\n", "nested": ["\u{1}"]});
        let f = error_frame(
            Some(b"7"),
            code::UPSTREAM_UNAVAILABLE,
            "Request to server 'a'\nfailed: \"x\"",
            Some(&data),
        );
        let v = parse(&f);
        assert_eq!(v["error"]["code"], -32004);
        assert_eq!(
            v["error"]["message"],
            "Request to server 'a'\nfailed: \"x\""
        );
        assert_eq!(v["error"]["data"], data);
    }

    #[test]
    fn result_notification_and_request_frames() {
        let pretty = b"{\n  \"tools\": [],\r\n  \"s\": \"a\\nb\"\n}";
        let v = parse(&result_frame(br#""r1""#, pretty));
        assert_eq!(v["id"], "r1");
        assert_eq!(v["result"], json!({"tools": [], "s": "a\nb"}));

        let v = parse(&notification_frame(
            "notifications/cancelled",
            Some(br#"{"requestId":3,"reason":"timed out"}"#),
        ));
        assert_eq!(v["method"], "notifications/cancelled");
        assert_eq!(v["params"]["requestId"], 3);
        assert!(v.get("id").is_none());

        let v = parse(&notification_frame("notifications/initialized", None));
        assert!(v.get("params").is_none());

        let f = request_frame(b"12", "ping", None);
        assert_eq!(f, &br#"{"jsonrpc":"2.0","id":12,"method":"ping"}"#[..]);
        let v = parse(&request_frame(b"12", "odd\nname", Some(b"{}")));
        assert_eq!(v["method"], "odd\nname");
        assert_eq!(v["params"], json!({}));
    }

    #[test]
    fn frames_scan_as_what_they_are() {
        use super::super::envelope::{scan, Kind};
        let f = error_frame(Some(b"5"), code::METHOD_NOT_FOUND, "Method not found", None);
        let e = scan(&f).expect("valid");
        assert_eq!((e.kind, e.is_error), (Kind::Response, true));
        assert_eq!(e.id.map(|s| s.of(&f)), Some(&b"5"[..]));
        assert_eq!(
            scan(&request_frame(b"1", "ping", None))
                .expect("valid")
                .kind,
            Kind::Request
        );
        assert_eq!(
            scan(&notification_frame("x", Some(b"{}")))
                .expect("valid")
                .kind,
            Kind::Notification
        );
        assert_eq!(
            scan(&result_frame(b"1", b"{}")).expect("valid").kind,
            Kind::Response
        );
    }
}

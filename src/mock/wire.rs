//! JSON-RPC on the wire, both directions, without a DOM: incoming lines are parsed into borrowed
//! structs whose ids and params stay `&RawValue` (so ids and arguments are echoed byte for byte),
//! and outgoing frames are assembled by appending slices to a `BytesMut`.
//!
//! Invariants: every frame written by [`begin_result`]/[`error`]/[`notification`]/[`request`] is one
//! compact line ending in exactly one `\n`; ids are copied verbatim from the request.

use std::borrow::Cow;
use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

/// JSON-RPC: invalid JSON.
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC: not a valid request object (also used for a second `initialize`).
pub const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC: method not found.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// JSON-RPC: invalid params (unknown tool or prompt, bad cursor, ...).
pub const INVALID_PARAMS: i32 = -32602;
/// MCP (legacy eras): resource not found.
pub const RESOURCE_NOT_FOUND: i32 = -32002;

/// One incoming line: a request, a notification, or a response to our own request.
#[derive(Debug, Deserialize)]
pub struct Incoming<'a> {
    /// Request or response id, raw (`null` reads as `None`).
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    /// Method of a request or notification.
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    /// Params, raw.
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
    /// Result of a response.
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    /// Error of a response.
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
}

/// The part of a params object every method may carry.
#[derive(Debug, Default, Deserialize)]
pub struct Meta<'a> {
    /// `_meta.progressToken`, raw.
    #[serde(borrow, default, rename = "progressToken")]
    pub progress_token: Option<&'a RawValue>,
}

/// `tools/call` params.
#[derive(Debug, Deserialize)]
pub struct CallParams<'a> {
    /// Tool name.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// Arguments, raw (echoed verbatim by `echo`).
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
    /// `_meta`, if any.
    #[serde(borrow, default, rename = "_meta")]
    pub meta: Option<Meta<'a>>,
}

/// Params of list methods.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams<'a> {
    /// Opaque cursor from a previous page.
    #[serde(borrow, default)]
    pub cursor: Option<Cow<'a, str>>,
}

/// Parses `raw` (or `{}` when absent) into `T`, mapping failure to a message for -32602.
pub fn params<'a, T: Deserialize<'a> + Default>(raw: Option<&'a RawValue>) -> Result<T, String> {
    match raw {
        None => Ok(T::default()),
        Some(r) => serde_json::from_str(r.get()).map_err(|e| format!("invalid params: {e}")),
    }
}

/// Appends `{"jsonrpc":"2.0","id":<id>,"result":`; the caller writes the result and [`end`].
pub fn begin_result(out: &mut BytesMut, id: &[u8]) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id);
    out.extend_from_slice(br#","result":"#);
}

/// Closes a frame opened by [`begin_result`] (or any frame missing its last `}`).
pub fn end(out: &mut BytesMut) {
    out.extend_from_slice(b"}\n");
}

/// A whole result frame whose result object is `body` (already JSON).
pub fn result(out: &mut BytesMut, id: &[u8], body: &[u8]) {
    begin_result(out, id);
    out.extend_from_slice(body);
    end(out);
}

/// A whole error frame. `id` is raw JSON (`null` for unreadable requests).
pub fn error(out: &mut BytesMut, id: &[u8], code: i32, message: &str) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id);
    let _ = write!(out, r#","error":{{"code":{code},"message":"#);
    json_str(out, message);
    out.extend_from_slice(b"}}\n");
}

/// A whole notification frame; `params` is raw JSON.
pub fn notification(out: &mut BytesMut, method: &str, params: &[u8]) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":""#);
    out.extend_from_slice(method.as_bytes());
    out.extend_from_slice(br#"","params":"#);
    out.extend_from_slice(params);
    end(out);
}

/// A whole server->client request frame with an integer id.
pub fn request(out: &mut BytesMut, id: u64, method: &str, params: &[u8]) {
    let _ = write!(out, r#"{{"jsonrpc":"2.0","id":{id},"method":""#);
    out.extend_from_slice(method.as_bytes());
    out.extend_from_slice(br#"","params":"#);
    out.extend_from_slice(params);
    end(out);
}

/// Appends `s` as a JSON string literal (quoted and escaped).
pub fn json_str(out: &mut BytesMut, s: &str) {
    // Serialising a &str into memory cannot fail.
    let _ = serde_json::to_writer(out.writer(), s);
}

/// Appends a text-content tool result body: `{"content":[{"type":"text","text":<text>}]` and the
/// caller's extra members (each starting with `,`), then `}`.
pub fn text_result(out: &mut BytesMut, text: &str, extra: &[u8]) {
    out.extend_from_slice(br#"{"content":[{"type":"text","text":"#);
    json_str(out, text);
    out.extend_from_slice(b"}]");
    out.extend_from_slice(extra);
    out.put_u8(b'}');
}

/// `s` as a JSON string literal, owned.
pub fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// The compact JSON of `raw` (whitespace removed), or `raw` unchanged if it is not valid JSON.
pub fn compact(raw: &RawValue) -> String {
    serde_json::from_str::<serde_json::Value>(raw.get())
        .map(|v| v.to_string())
        .unwrap_or_else(|_| raw.get().to_owned())
}

/// If `raw` is a JSON string, its decoded content.
pub fn as_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Cow<'_, str>>(raw.get()).ok()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends standard, padded base64 of `data`.
pub fn base64(out: &mut BytesMut, data: &[u8]) {
    out.reserve(data.len().div_ceil(3) * 4);
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        for shift in [18, 12, 6, 0] {
            out.put_u8(B64[((n >> shift) & 63) as usize]);
        }
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.put_slice(&[
                B64[(n >> 18) as usize],
                B64[((n >> 12) & 63) as usize],
                b'=',
                b'=',
            ]);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.put_slice(&[
                B64[(n >> 18) as usize],
                B64[((n >> 12) & 63) as usize],
                B64[((n >> 6) & 63) as usize],
                b'=',
            ]);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &BytesMut) -> &str {
        std::str::from_utf8(b).expect("utf8")
    }

    #[test]
    fn incoming_keeps_raw_id_and_params() {
        let line = br#"{"jsonrpc":"2.0","id":"a\"b","method":"tools/call","params":{"name":"echo","arguments":{ "x" : 1 }}}"#;
        let m: Incoming<'_> = serde_json::from_slice(line).expect("parse");
        assert_eq!(m.id.map(RawValue::get), Some(r#""a\"b""#));
        assert_eq!(m.method.as_deref(), Some("tools/call"));
        let p: CallParams<'_> = serde_json::from_str(m.params.expect("params").get()).expect("p");
        assert_eq!(p.name, "echo");
        assert_eq!(p.arguments.map(RawValue::get), Some(r#"{ "x" : 1 }"#));
    }

    #[test]
    fn null_id_reads_as_none_and_responses_parse() {
        let m: Incoming<'_> =
            serde_json::from_slice(br#"{"jsonrpc":"2.0","id":null,"method":"x"}"#).expect("p");
        assert!(m.id.is_none());
        let r: Incoming<'_> =
            serde_json::from_slice(br#"{"jsonrpc":"2.0","id":0,"result":{"a":1}}"#).expect("p");
        assert_eq!(r.id.map(RawValue::get), Some("0"));
        assert!(r.method.is_none());
        assert_eq!(r.result.map(RawValue::get), Some(r#"{"a":1}"#));
    }

    #[test]
    fn frames_are_single_valid_lines() {
        let mut out = BytesMut::new();
        result(&mut out, b"7", b"{}");
        error(&mut out, b"\"x\"", METHOD_NOT_FOUND, "no \"such\"\nmethod");
        notification(&mut out, "notifications/message", br#"{"level":"info"}"#);
        request(&mut out, 0, "roots/list", b"{}");
        let text = s(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        for l in &lines {
            let _: serde_json::Value = serde_json::from_str(l).expect("valid json line");
        }
        assert_eq!(lines[0], r#"{"jsonrpc":"2.0","id":7,"result":{}}"#);
        let e: serde_json::Value = serde_json::from_str(lines[1]).expect("json");
        assert_eq!(e["error"]["code"], -32601);
        assert_eq!(e["error"]["message"], "no \"such\"\nmethod");
        assert_eq!(e["id"], "x");
        let r: serde_json::Value = serde_json::from_str(lines[3]).expect("json");
        assert_eq!(r["id"], 0);
        assert_eq!(r["method"], "roots/list");
    }

    #[test]
    fn text_result_escapes_and_appends_extra() {
        let mut out = BytesMut::new();
        text_result(&mut out, "a\"b", br#","isError":true"#);
        let v: serde_json::Value = serde_json::from_str(s(&out)).expect("json");
        assert_eq!(v["content"][0]["text"], "a\"b");
        assert_eq!(v["isError"], true);
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = BytesMut::new();
            base64(&mut out, input.as_bytes());
            assert_eq!(s(&out), expected);
        }
    }

    #[test]
    fn helpers_compact_and_decode() {
        let raw: &RawValue = serde_json::from_str(r#"{ "a" : [1, 2] }"#).expect("raw");
        assert_eq!(compact(raw), r#"{"a":[1,2]}"#);
        let st: &RawValue = serde_json::from_str(r#""h\u00e9""#).expect("raw");
        assert_eq!(as_str(st).as_deref(), Some("hé"));
        assert_eq!(as_str(raw), None);
        assert_eq!(quoted("x\ny"), r#""x\ny""#);
    }
}

//! The answers the simple tools give, built straight into an output buffer: echo (arguments
//! echoed byte for byte), payload text and base64 blobs, plain text results; plus the argument
//! struct every tool reads.
//!
//! Invariant: each builder appends exactly one complete frame ending in `\n`, and copies the
//! request id and the echoed arguments verbatim.

use std::borrow::Cow;
use std::time::Duration;

use bytes::BytesMut;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::behaviour::{payload_binary, MAX_PAYLOAD_BYTES};
use super::wire;

/// Longest `sleep`/`late`/`stall`/progress interval a call may ask for.
pub(crate) const MAX_TOOL_DELAY: Duration = Duration::from_secs(3600);

/// Every argument any tool reads; unknown members are ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Args<'a> {
    #[serde(borrow, default)]
    pub(crate) message: Option<&'a RawValue>,
    #[serde(default)]
    pub(crate) size: Option<u64>,
    #[serde(borrow, default)]
    pub(crate) encoding: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) ms: Option<u64>,
    #[serde(default)]
    pub(crate) steps: Option<u64>,
    #[serde(default)]
    pub(crate) interval_ms: Option<u64>,
    #[serde(borrow, default)]
    pub(crate) level: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) uri: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) prompt: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) max_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) bytes: Option<u64>,
    #[serde(default)]
    pub(crate) delay_ms: Option<u64>,
    #[serde(default)]
    pub(crate) code: Option<i32>,
    #[serde(borrow, default)]
    pub(crate) mode: Option<Cow<'a, str>>,
}

pub(crate) fn ms(n: Option<u64>, default: Duration) -> Duration {
    n.map_or(default, Duration::from_millis).min(MAX_TOOL_DELAY)
}

pub(crate) fn size(n: Option<u64>, default: usize) -> Result<usize, String> {
    match n {
        None => Ok(default),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_PAYLOAD_BYTES)
            .ok_or_else(|| format!("size {n} exceeds the limit of {MAX_PAYLOAD_BYTES} bytes")),
    }
}

/// The echo answer: text = `message` (if a string) or the compact arguments; `echo` = raw args.
pub(crate) fn echo(
    out: &mut BytesMut,
    id: &[u8],
    arguments: Option<&RawValue>,
    message: Option<&RawValue>,
) {
    wire::begin_result(out, id);
    out.extend_from_slice(br#"{"content":[{"type":"text","text":"#);
    match (message, arguments) {
        // A JSON string literal is already a valid text value: copy it as received.
        (Some(m), _) if m.get().starts_with('"') => out.extend_from_slice(m.get().as_bytes()),
        (_, Some(a)) => wire::json_str(out, &wire::compact(a)),
        (_, None) => out.extend_from_slice(br#""{}""#),
    }
    out.extend_from_slice(b"}]");
    if let Some(a) = arguments {
        out.extend_from_slice(br#","echo":"#);
        out.extend_from_slice(a.get().as_bytes());
    }
    out.extend_from_slice(b"}");
    wire::end(out);
}

pub(crate) fn text_answer(out: &mut BytesMut, id: &[u8], text: &str, extra: &[u8]) {
    wire::begin_result(out, id);
    wire::text_result(out, text, extra);
    wire::end(out);
}

pub(crate) fn payload(out: &mut BytesMut, id: &[u8], text: &[u8]) {
    wire::begin_result(out, id);
    out.reserve(text.len() + 64);
    out.extend_from_slice(br#"{"content":[{"type":"text","text":""#);
    out.extend_from_slice(text);
    out.extend_from_slice(br#""}]}"#);
    wire::end(out);
}

pub(crate) fn blob(out: &mut BytesMut, id: &[u8], n: usize) {
    wire::begin_result(out, id);
    out.extend_from_slice(
        br#"{"content":[{"type":"resource","resource":{"uri":"mock://payload","mimeType":"application/octet-stream","blob":""#,
    );
    wire::base64(out, &payload_binary(n));
    out.extend_from_slice(br#""}}]}"#);
    wire::end(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::behaviour::payload_text;

    fn raw(s: &str) -> &RawValue {
        serde_json::from_str(s).expect("raw")
    }

    #[test]
    fn echo_keeps_arguments_verbatim() {
        let mut out = BytesMut::new();
        let args = raw(r#"{ "message" : "hi\u0021", "n": [1,2] }"#);
        echo(&mut out, b"3", Some(args), Some(raw(r#""hi\u0021""#)));
        let text = std::str::from_utf8(&out).expect("utf8");
        assert!(text.ends_with("}\n"));
        assert!(text.contains(r#""echo":{ "message" : "hi\u0021", "n": [1,2] }"#));
        let v: serde_json::Value = serde_json::from_str(text).expect("json");
        assert_eq!(v["result"]["content"][0]["text"], "hi!");
    }

    #[test]
    fn echo_without_message_uses_compact_arguments() {
        let mut out = BytesMut::new();
        echo(&mut out, b"3", Some(raw(r#"{ "a": 1 }"#)), None);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["result"]["content"][0]["text"], r#"{"a":1}"#);
        let mut out = BytesMut::new();
        echo(&mut out, b"4", None, None);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["result"]["content"][0]["text"], "{}");
        assert!(v["result"].get("echo").is_none());
    }

    #[test]
    fn payload_and_blob_sizes() {
        let mut out = BytesMut::new();
        payload(&mut out, b"1", &payload_text(1000));
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["result"]["content"][0]["text"].as_str().map(str::len),
            Some(1000)
        );
        let mut out = BytesMut::new();
        blob(&mut out, b"1", 10);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["result"]["content"][0]["resource"]["blob"]
                .as_str()
                .map(str::len),
            Some(16)
        );
    }
}

//! Reading what the target sends: classify each line and check each result.
//!
//! Owns: the borrowed-struct parse of one incoming line ([`Incoming`]) and the check of a result
//! against what was sent ([`check_result`]). Invariants: nothing here allocates on the success
//! path (ids, results and echo texts are borrowed from the read buffer; an escaped string is the
//! only case that copies); a line is a response only when it has an id and exactly one of
//! `result` / `error` — anything else with an id and no method is an invalid response.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Prefix of the string ids used for the handshake, so they never collide with load ids
/// (load ids are integers).
pub const CONTROL_ID_PREFIX: &str = "gk-";

/// The id of a response, as far as the load generator cares.
#[derive(Debug, Clone, Copy)]
pub enum ResponseId<'a> {
    /// A load request id (a non-negative integer).
    Load(u64),
    /// Any other id (string, negative, fractional, null): never one of our load requests.
    Foreign(&'a RawValue),
}

/// The body of a response.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// `result` present, `error` absent.
    Result(&'a RawValue),
    /// `error` present, `result` absent; the code when it is an integer.
    Error(Option<i64>),
    /// Both or neither.
    Invalid,
}

/// One classified line.
#[derive(Debug, Clone)]
pub enum Incoming<'a> {
    /// A response to one of our requests (or a stranger's id).
    Response {
        /// The id.
        id: ResponseId<'a>,
        /// What it carries.
        body: Body<'a>,
    },
    /// A server→client request, to be answered.
    Request {
        /// Its id, raw JSON, echoed back verbatim.
        id: &'a RawValue,
        /// Its method.
        method: Cow<'a, str>,
    },
    /// A server→client notification.
    Notification {
        /// Its method.
        method: Cow<'a, str>,
    },
    /// Not a JSON-RPC message at all.
    Malformed,
}

fn some_raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    // Unlike `Option<&RawValue>`, this keeps an explicit `null` as `Some("null")`.
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "some_raw")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: Option<i64>,
}

impl<'a> Incoming<'a> {
    /// Classifies one line (without its newline).
    pub fn parse(line: &'a [u8]) -> Self {
        let Ok(env) = serde_json::from_slice::<Envelope<'a>>(line) else {
            return Self::Malformed;
        };
        match (env.id, env.method) {
            (Some(id), Some(method)) => Self::Request { id, method },
            (None, Some(method)) => Self::Notification { method },
            (Some(id), None) => {
                let body = match (env.result, env.error) {
                    (Some(r), None) => Body::Result(r),
                    (None, Some(e)) => Body::Error(
                        serde_json::from_str::<ErrorObject>(e.get())
                            .ok()
                            .and_then(|o| o.code),
                    ),
                    _ => Body::Invalid,
                };
                Self::Response {
                    id: classify_id(id),
                    body,
                }
            }
            (None, None) => Self::Malformed,
        }
    }
}

fn classify_id(raw: &RawValue) -> ResponseId<'_> {
    let b = raw.get().as_bytes();
    if !b.is_empty()
        && b.len() <= 19
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
    {
        // At most 19 digits always fits in u64.
        let v = b.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        return ResponseId::Load(v);
    }
    ResponseId::Foreign(raw)
}

/// The verdict on one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// As expected.
    Ok,
    /// A `tools/call` result with `isError: true`.
    ToolError,
    /// The echoed text differs from the payload sent.
    Mismatch,
    /// The result does not have the expected shape.
    Invalid,
}

#[derive(Deserialize)]
struct CallResult<'a> {
    #[serde(borrow)]
    content: FirstText<'a>,
    #[serde(default, rename = "isError")]
    is_error: Option<bool>,
}

#[derive(Deserialize)]
struct ContentItem<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

/// The `text` of the first content item; the rest of the array is skipped without allocating.
struct FirstText<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = FirstText<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a content array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first: Option<ContentItem<'a>> = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstText(first.and_then(|c| c.text)))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// Checks a result: for an echo call, that the first text content equals `expected`;
/// for other tool calls, that `isError` is not set; for other methods, that it is an object.
pub fn check_result(
    result: &RawValue,
    is_tool_call: bool,
    expected_echo: Option<&[u8]>,
) -> Verdict {
    if !is_tool_call {
        return if result.get().starts_with('{') {
            Verdict::Ok
        } else {
            Verdict::Invalid
        };
    }
    let Ok(call) = serde_json::from_str::<CallResult<'_>>(result.get()) else {
        return Verdict::Invalid;
    };
    if call.is_error == Some(true) {
        return Verdict::ToolError;
    }
    match (expected_echo, call.content.0) {
        (None, _) => Verdict::Ok,
        (Some(want), Some(text)) if text.as_bytes() == want => Verdict::Ok,
        (Some(_), Some(_)) => Verdict::Mismatch,
        (Some(_), None) => Verdict::Invalid,
    }
}

/// Writes the answer to a server→client request: `{}` for `ping`, -32601 for anything else.
pub fn answer_server_request(out: &mut Vec<u8>, id: &RawValue, method: &str) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id.get().as_bytes());
    if method == "ping" {
        out.extend_from_slice(b",\"result\":{}}\n");
    } else {
        out.extend_from_slice(br#","error":{"code":-32601,"message":"Method not found"}}"#);
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn classifies_responses_requests_notifications() {
        let l = br#"{"jsonrpc":"2.0","id":42,"result":{"content":[]}}"#;
        assert!(matches!(
            Incoming::parse(l),
            Incoming::Response {
                id: ResponseId::Load(42),
                body: Body::Result(_)
            }
        ));
        let l = br#"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"x"}}"#;
        assert!(matches!(
            Incoming::parse(l),
            Incoming::Response {
                id: ResponseId::Load(7),
                body: Body::Error(Some(-32601))
            }
        ));
        let l = br#"{"jsonrpc":"2.0","id":7,"error":{"code":1},"result":{}}"#;
        assert!(matches!(
            Incoming::parse(l),
            Incoming::Response {
                id: ResponseId::Load(7),
                body: Body::Invalid
            }
        ));
        let l = br#"{"jsonrpc":"2.0","id":7}"#;
        assert!(matches!(
            Incoming::parse(l),
            Incoming::Response {
                id: ResponseId::Load(7),
                body: Body::Invalid
            }
        ));
        let l = br#"{"jsonrpc":"2.0","id":7,"result":null}"#;
        assert!(matches!(
            Incoming::parse(l),
            Incoming::Response {
                body: Body::Result(_),
                ..
            }
        ));
        for id in ["\"7\"", "-1", "1.5", "99999999999999999999", "null"] {
            let l = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#);
            assert!(
                matches!(
                    Incoming::parse(l.as_bytes()),
                    Incoming::Response {
                        id: ResponseId::Foreign(_),
                        ..
                    }
                ),
                "{id}"
            );
        }
        let l = br#"{"jsonrpc":"2.0","id":"s1","method":"ping"}"#;
        assert!(
            matches!(Incoming::parse(l), Incoming::Request { ref method, .. } if method == "ping")
        );
        let l = br#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#;
        assert!(
            matches!(Incoming::parse(l), Incoming::Notification { ref method } if method == "notifications/message")
        );
        assert!(matches!(Incoming::parse(b"garbage"), Incoming::Malformed));
        assert!(matches!(Incoming::parse(b"{}"), Incoming::Malformed));
        assert!(matches!(
            Incoming::parse(br#"{"id":1,"id":2,"result":{}}"#),
            Incoming::Malformed
        ));
    }

    #[test]
    fn checks_echo_results() {
        let ok = raw(
            r#"{"content":[{"type":"text","text":"abc"},{"type":"text","text":"zz"}],"structuredContent":{}}"#,
        );
        assert_eq!(check_result(&ok, true, Some(b"abc")), Verdict::Ok);
        assert_eq!(check_result(&ok, true, Some(b"abd")), Verdict::Mismatch);
        assert_eq!(check_result(&ok, true, None), Verdict::Ok);
        let escaped = raw(r#"{"content":[{"type":"text","text":"a\u0062c"}]}"#);
        assert_eq!(check_result(&escaped, true, Some(b"abc")), Verdict::Ok);
        let err = raw(r#"{"content":[{"type":"text","text":"abc"}],"isError":true}"#);
        assert_eq!(check_result(&err, true, Some(b"abc")), Verdict::ToolError);
        let empty = raw(r#"{"content":[]}"#);
        assert_eq!(check_result(&empty, true, Some(b"abc")), Verdict::Invalid);
        assert_eq!(
            check_result(&raw("[]"), true, Some(b"abc")),
            Verdict::Invalid
        );
        assert_eq!(check_result(&raw("{}"), false, None), Verdict::Ok);
        assert_eq!(check_result(&raw("null"), false, None), Verdict::Invalid);
    }

    #[test]
    fn answers_server_requests() {
        let mut out = Vec::new();
        answer_server_request(&mut out, &raw("\"s1\""), "ping");
        answer_server_request(&mut out, &raw("5"), "sampling/createMessage");
        let lines: Vec<serde_json::Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines[0]["id"], "s1");
        assert_eq!(lines[0]["result"], serde_json::json!({}));
        assert_eq!(lines[1]["id"], 5);
        assert_eq!(lines[1]["error"]["code"], -32601);
    }
}

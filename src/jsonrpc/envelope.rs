//! The envelope scan: what routing needs from a JSON-RPC frame, without building a DOM.
//!
//! [`scan`] validates the whole frame (UTF-8 and JSON syntax) in one `serde_json` pass into a borrowed
//! struct of `&RawValue`s, then classifies it ([`Kind`]) and reports byte [`Span`]s into the frame for the
//! values the gateway rewrites or inspects (id, params, progress token, cancelled request id). Only
//! `params` gets a second, equally borrowed pass, and only for the handful of keys named in [`Envelope`];
//! everything else (tool arguments, results) is skipped, never materialised.
//!
//! Invariants:
//! - A span always covers exactly the value's bytes in the frame (strings include their quotes), so the
//!   bytes a peer sent can be stored and restored verbatim.
//! - Ids are strings or integers of any size; `null` only on responses. Floats, bools, objects, arrays
//!   are rejected with [`ScanError::InvalidRequest`].
//! - Duplicate envelope keys (and duplicate `params` keys that routing reads, such as `name`) are
//!   rejected: a proxy and its upstream must never disagree about which value counts.
//! - Whether bad input is [`ScanError::InvalidJson`] (-32700) or [`ScanError::InvalidRequest`] (-32600)
//!   is only worked out on the error path, so a valid frame is parsed exactly once.
//! - Values the gateway never reads are checked against the JSON grammar only, as `serde_json` skips
//!   them: their nesting depth, number range and lone `\uD800`-style escapes are not judged here (the
//!   frame size limit bounds the work). Strings the gateway does read must decode, or they count as
//!   absent (`method`: invalid request).

use std::borrow::Cow;

use bytes::Bytes;
use memchr::memchr;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

pub use super::recover::{recover_id, Recovered};

/// A byte range in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The spanned bytes of `frame`. Panics if `frame` is not the frame the span was taken from (shorter).
    pub fn of<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        &frame[self.start..self.end]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True for an empty range (never produced by [`scan`]).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// What a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Has `method` and a non-null `id`: expects a response.
    Request,
    /// Has `method` and no `id`.
    Notification,
    /// Has `result` or `error`.
    Response,
}

/// A JSON string value: decoded (borrowed unless it had escapes) plus where its token sits in the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrField<'a> {
    /// The decoded string.
    pub value: Cow<'a, str>,
    /// The JSON string token, quotes included.
    pub span: Span,
}

/// The routing view of one JSON-RPC message; see the module docs.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// Request, notification or response.
    pub kind: Kind,
    /// The id value's span: Request (string|integer) and Response (None when `null` or absent).
    pub id: Option<Span>,
    /// Request / Notification.
    pub method: Option<Cow<'a, str>>,
    /// Span of the params value.
    pub params: Option<Span>,
    /// `params.name` when it is a string.
    pub name: Option<StrField<'a>>,
    /// `params.uri` when it is a string.
    pub uri: Option<StrField<'a>>,
    /// `params.ref.name` (completion/complete).
    pub ref_name: Option<StrField<'a>>,
    /// `params.ref.uri`.
    pub ref_uri: Option<StrField<'a>>,
    /// `params._meta.progressToken` (string|integer).
    pub progress_token: Option<Span>,
    /// `params.requestId` (notifications/cancelled), string|integer.
    pub request_id: Option<Span>,
    /// `params.progressToken` (notifications/progress), string|integer.
    pub notified_progress_token: Option<Span>,
    /// Response carries "error" (else "result").
    pub is_error: bool,
}

/// Why a frame is not a usable JSON-RPC message.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ScanError {
    /// Not JSON at all (also invalid UTF-8): answer -32700.
    #[error("Parse error: {0}")]
    InvalidJson(String),
    /// Valid JSON, but not a JSON-RPC 2.0 message: answer -32600.
    #[error("Invalid Request: {0}")]
    InvalidRequest(String),
    /// A top-level array (valid JSON): the caller splits it with [`split_batch`].
    #[error("batch")]
    Batch,
}

/// Top-level keys. `present` keeps an explicit `null` distinguishable from an absent key.
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// The `params` keys routing reads (a `null` value counts as absent here).
#[derive(Deserialize)]
struct RawParams<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    uri: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "ref")]
    reference: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "_meta")]
    meta: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "requestId")]
    request_id: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "progressToken")]
    progress_token: Option<&'a RawValue>,
}

/// `params.ref` of completion/complete.
#[derive(Deserialize)]
struct RawRef<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    uri: Option<&'a RawValue>,
}

/// `params._meta`: only the progress token matters to the gateway.
#[derive(Deserialize)]
struct RawMeta<'a> {
    #[serde(borrow, default, rename = "progressToken")]
    progress_token: Option<&'a RawValue>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

/// Whether a `serde_json::Value` parse failed on something the scan deliberately checks by grammar
/// only (module docs): numbers out of `f64` range (`1E309`), nesting past 128 levels, lone
/// surrogate escapes. Where `Value` fails for one of these, JSON validity is not comparable — the
/// proptests and the envelope fuzz target both use this to compare the scan with `Value`.
pub fn value_rejects_beyond_grammar(e: &serde_json::Error) -> bool {
    let msg = e.to_string();
    [
        "number out of range",
        "recursion limit exceeded",
        "lone leading surrogate in hex escape",
        "unexpected end of hex escape",
        "invalid unicode code point",
    ]
    .iter()
    .any(|m| msg.starts_with(m))
}

/// Scans one frame; see the module docs.
pub fn scan(frame: &[u8]) -> Result<Envelope<'_>, ScanError> {
    let text = utf8(frame)?;
    // Only an object may reach the struct parse: serde would also accept an array as a tuple of fields.
    if first_byte(text) != Some(b'{') {
        return Err(not_an_object(text));
    }
    let raw: RawEnvelope<'_> = serde_json::from_str(text).map_err(|e| object_failure(text, &e))?;

    match raw.jsonrpc {
        None => return Err(invalid("missing \"jsonrpc\"")),
        Some(v) if !is_version_2(v) => return Err(invalid("\"jsonrpc\" must be \"2.0\"")),
        Some(_) => {}
    }
    let id = match raw.id.map(id_class) {
        None | Some(IdClass::Null) => None,
        Some(IdClass::Valid) => raw.id.map(|v| span_of(text, v)),
        Some(IdClass::Invalid) => return Err(invalid("\"id\" must be a string or an integer")),
    };
    let (kind, method, is_error) = match (raw.method, raw.result, raw.error) {
        (Some(m), None, None) => {
            let Some(method) = str_value(m) else {
                return Err(invalid("\"method\" must be a string"));
            };
            match raw.id.map(id_class) {
                Some(IdClass::Null) => return Err(invalid("a request's \"id\" must not be null")),
                Some(_) => (Kind::Request, Some(method), false),
                None => (Kind::Notification, Some(method), false),
            }
        }
        (Some(_), _, _) => return Err(invalid("\"method\" together with \"result\"/\"error\"")),
        (None, Some(_), Some(_)) => return Err(invalid("both \"result\" and \"error\"")),
        (None, Some(_), None) => (Kind::Response, None, false),
        (None, None, Some(_)) => (Kind::Response, None, true),
        (None, None, None) => return Err(invalid("no \"method\", \"result\" or \"error\"")),
    };

    let mut env = Envelope {
        kind,
        id,
        method,
        params: raw.params.map(|p| span_of(text, p)),
        name: None,
        uri: None,
        ref_name: None,
        ref_uri: None,
        progress_token: None,
        notified_progress_token: None,
        request_id: None,
        is_error,
    };
    if let Some(params) = raw.params {
        scan_params(text, params, &mut env)?;
    }
    Ok(env)
}

/// The second pass: only the `params` keys routing reads.
fn scan_params<'a>(
    text: &'a str,
    params: &'a RawValue,
    env: &mut Envelope<'a>,
) -> Result<(), ScanError> {
    let Some(p) = sub_object::<RawParams<'a>>(params, "params")? else {
        return Ok(());
    };
    env.name = p.name.and_then(|v| str_field(text, v));
    env.uri = p.uri.and_then(|v| str_field(text, v));
    env.request_id = p.request_id.and_then(|v| token_span(text, v));
    env.notified_progress_token = p.progress_token.and_then(|v| token_span(text, v));
    if let Some(r) = p.reference {
        if let Some(r) = sub_object::<RawRef<'a>>(r, "params.ref")? {
            env.ref_name = r.name.and_then(|v| str_field(text, v));
            env.ref_uri = r.uri.and_then(|v| str_field(text, v));
        }
    }
    if let Some(m) = p.meta {
        if let Some(m) = sub_object::<RawMeta<'a>>(m, "params._meta")? {
            env.progress_token = m.progress_token.and_then(|v| token_span(text, v));
        }
    }
    Ok(())
}

/// Deserializes an already validated value as `T` if it is an object. The only possible failure is a
/// duplicate key among the fields `T` reads.
fn sub_object<'a, T: Deserialize<'a>>(
    raw: &'a RawValue,
    what: &str,
) -> Result<Option<T>, ScanError> {
    if first_byte(raw.get()) != Some(b'{') {
        return Ok(None);
    }
    serde_json::from_str(raw.get())
        .map(Some)
        .map_err(|e| invalid(&format!("{what}: {e}")))
}

/// Splits a top-level JSON array into its elements as zero-copy slices of `frame` (`frame.slice(span)`).
/// An empty array or invalid JSON is an error (InvalidRequest / InvalidJson).
pub fn split_batch(frame: &Bytes) -> Result<Vec<Bytes>, ScanError> {
    let text = utf8(frame)?;
    if first_byte(text) != Some(b'[') {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => invalid("not a batch (array)"),
            Err(e) => ScanError::InvalidJson(e.to_string()),
        });
    }
    let items: Vec<&RawValue> =
        serde_json::from_str(text).map_err(|e| ScanError::InvalidJson(e.to_string()))?;
    if items.is_empty() {
        return Err(invalid("empty batch"));
    }
    Ok(items
        .into_iter()
        .map(|item| {
            let span = span_of(text, item);
            frame.slice(span.start..span.end)
        })
        .collect())
}

fn utf8(frame: &[u8]) -> Result<&str, ScanError> {
    std::str::from_utf8(frame).map_err(|e| ScanError::InvalidJson(format!("invalid UTF-8: {e}")))
}

fn invalid(msg: &str) -> ScanError {
    ScanError::InvalidRequest(msg.to_owned())
}

/// Error path for a frame that does not start with `{`.
fn not_an_object(text: &str) -> ScanError {
    match serde_json::from_str::<IgnoredAny>(text) {
        Err(e) => ScanError::InvalidJson(e.to_string()),
        Ok(_) if first_byte(text) == Some(b'[') => ScanError::Batch,
        Ok(_) => invalid("not a JSON object"),
    }
}

/// Error path for an object that failed the struct parse: bad JSON, or a duplicate envelope key.
fn object_failure(text: &str, err: &serde_json::Error) -> ScanError {
    match serde_json::from_str::<IgnoredAny>(text) {
        Err(e) => ScanError::InvalidJson(e.to_string()),
        Ok(_) => invalid(&err.to_string()),
    }
}

fn first_byte(text: &str) -> Option<u8> {
    text.bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Where `raw` (borrowed from `text`) sits in `text`.
fn span_of(text: &str, raw: &RawValue) -> Span {
    let start = (raw.get().as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    debug_assert!(
        start + raw.get().len() <= text.len(),
        "RawValue not borrowed from the frame"
    );
    Span {
        start,
        end: start + raw.get().len(),
    }
}

fn is_version_2(v: &RawValue) -> bool {
    v.get() == "\"2.0\"" || str_value(v).is_some_and(|s| s == "2.0")
}

enum IdClass {
    Valid,
    Null,
    Invalid,
}

fn id_class(v: &RawValue) -> IdClass {
    let s = v.get();
    match s.as_bytes().first() {
        Some(b'"') => IdClass::Valid,
        Some(b'-' | b'0'..=b'9') if !s.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) => {
            IdClass::Valid
        }
        Some(b'n') => IdClass::Null,
        _ => IdClass::Invalid,
    }
}

/// The span of a string or integer token (ids, progress tokens); `None` for anything else.
fn token_span(text: &str, v: &RawValue) -> Option<Span> {
    matches!(id_class(v), IdClass::Valid).then(|| span_of(text, v))
}

/// Decodes a JSON string token, borrowing it when it has no escapes.
fn str_value(v: &RawValue) -> Option<Cow<'_, str>> {
    let s = v.get();
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    if memchr(b'\\', inner.as_bytes()).is_none() {
        // A validated string token without escapes is its own value.
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(s).ok().map(Cow::Owned)
}

fn str_field<'a>(text: &'a str, v: &'a RawValue) -> Option<StrField<'a>> {
    Some(StrField {
        value: str_value(v)?,
        span: span_of(text, v),
    })
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

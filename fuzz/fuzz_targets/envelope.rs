//! The envelope scan (and its neighbours `split_batch`, `recover_id`, `splice`) on any bytes,
//! judged against `serde_json::Value`.
//!
//! Properties:
//! - nothing panics;
//! - JSON validity agrees with `serde_json::Value`: the scan never calls valid JSON invalid
//!   (`InvalidJson`), and never accepts what `Value` rejects — except the differences
//!   `jsonrpc::envelope` documents (values the gateway never reads are checked by grammar only:
//!   nesting deeper than 128, numbers outside `f64` such as `1e400`, lone surrogate escapes);
//! - on an accepted frame, what the scan extracts is what `Value` sees: `jsonrpc` is "2.0", the
//!   kind follows from `method`/`id`/`result`/`error`, the id, params, progress tokens and request
//!   ids span exactly their values, `method`, `params.name`/`uri` and `params.ref.name`/`uri`
//!   decode to the same strings;
//! - `recover_id` on a whole valid frame finds the same id and kind hints as the scan;
//! - splicing a new id into an accepted request changes exactly the id;
//! - a batch splits into exactly the array's elements.
#![no_main]

use bytes::Bytes;
use gatekit::jsonrpc::envelope::value_rejects_beyond_grammar as beyond_grammar;
use gatekit::jsonrpc::{recover_id, scan, splice, split_batch, Envelope, Kind, ScanError, Span};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let value = serde_json::from_slice::<Value>(data);
    let scanned = scan(data);
    let recovered = recover_id(data);
    if let Some(span) = recovered.id {
        // Integer ids of any size are ids, so judge the token by grammar (`Value` would reject
        // integers beyond f64's range).
        let token = span.of(data);
        assert!(
            serde_json::from_slice::<IgnoredAny>(token).is_ok()
                && matches!(token[0], b'"' | b'-' | b'0'..=b'9'),
            "recovered id {:?} is not a string or integer token",
            String::from_utf8_lossy(token)
        );
    }

    let grammar_ok = !matches!(scanned, Err(ScanError::InvalidJson(_)));
    match &value {
        Ok(_) => assert!(grammar_ok, "scan rejects valid JSON: {scanned:?}"),
        Err(e) if !beyond_grammar(e) => assert!(!grammar_ok, "scan accepts invalid JSON ({e})"),
        Err(_) => {}
    }

    let frame = Bytes::copy_from_slice(data);
    let batch = split_batch(&frame);
    match (&scanned, &value) {
        (Ok(env), Ok(v)) => {
            agrees(data, env, v);
            assert_eq!(
                recovered.id, env.id,
                "recover_id and scan disagree on the id"
            );
            assert_eq!(recovered.has_method, env.method.is_some());
            assert_eq!(recovered.has_result_or_error, env.kind == Kind::Response);
            if let (Kind::Request, Some(id)) = (env.kind, env.id) {
                spliced_id_only(&frame, id, v);
            }
        }
        (Err(ScanError::Batch), Ok(Value::Array(items))) => match &batch {
            Ok(elements) => {
                assert_eq!(elements.len(), items.len());
                for (element, item) in elements.iter().zip(items) {
                    assert_eq!(&parse(element), item, "batch element");
                }
            }
            Err(e) => assert!(items.is_empty(), "valid batch rejected: {e}"),
        },
        _ => {}
    }
    if batch.is_ok() {
        assert!(
            matches!(scanned, Err(ScanError::Batch)),
            "split_batch on a non-batch"
        );
    }
});

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("a span of a valid frame is valid JSON")
}

fn spanned(data: &[u8], span: Option<Span>) -> Option<Value> {
    span.map(|s| parse(s.of(data)))
}

/// The value at `path` in `v`, treating JSON `null` as absent (as the scan does inside params).
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    (!cur.is_null()).then_some(cur)
}

/// An id-like token (string or integer): the scan reports its span, else nothing.
fn token_agrees(data: &[u8], span: Option<Span>, v: Option<&Value>, what: &str) {
    match span {
        Some(_) => assert_eq!(spanned(data, span).as_ref(), v, "{what}"),
        None => assert!(
            !v.is_some_and(|v| v.is_string() || v.is_i64() || v.is_u64()),
            "{what}: {v:?} not reported"
        ),
    }
}

/// A string the scan decodes: it reports exactly the decoded string, with its token's span.
fn str_agrees(
    data: &[u8],
    field: Option<&gatekit::jsonrpc::StrField<'_>>,
    v: Option<&Value>,
    what: &str,
) {
    let expected = v.and_then(Value::as_str);
    assert_eq!(field.map(|f| f.value.as_ref()), expected, "{what}");
    if let Some(f) = field {
        assert_eq!(parse(f.span.of(data)).as_str(), expected, "{what} span");
    }
}

fn agrees(data: &[u8], env: &Envelope<'_>, v: &Value) {
    let obj = v.as_object().expect("the scan accepts objects only");
    assert_eq!(obj.get("jsonrpc").and_then(Value::as_str), Some("2.0"));
    let id = obj.get("id");
    let method = obj.get("method").and_then(Value::as_str);
    assert_eq!(env.method.as_deref(), method, "method");
    let kind = match (method, id) {
        (Some(_), Some(id)) if !id.is_null() => Kind::Request,
        (Some(_), None) => Kind::Notification,
        (Some(_), Some(_)) => panic!("request with a null id accepted"),
        (None, _) => {
            assert_ne!(obj.contains_key("result"), obj.contains_key("error"));
            Kind::Response
        }
    };
    assert_eq!(env.kind, kind, "kind");
    assert_eq!(env.is_error, obj.contains_key("error"), "is_error");
    match env.id {
        Some(span) => {
            let id = id.expect("an id span without an id");
            assert_eq!(&parse(span.of(data)), id, "id");
            assert!(id.is_string() || id.is_number(), "id {id}");
        }
        None => assert!(id.is_none_or(Value::is_null), "id {id:?} not reported"),
    }
    assert_eq!(
        spanned(data, env.params),
        obj.get("params").cloned(),
        "params"
    );

    str_agrees(
        data,
        env.name.as_ref(),
        at(v, &["params", "name"]),
        "params.name",
    );
    str_agrees(
        data,
        env.uri.as_ref(),
        at(v, &["params", "uri"]),
        "params.uri",
    );
    str_agrees(
        data,
        env.ref_name.as_ref(),
        at(v, &["params", "ref", "name"]),
        "ref.name",
    );
    str_agrees(
        data,
        env.ref_uri.as_ref(),
        at(v, &["params", "ref", "uri"]),
        "ref.uri",
    );
    let meta_token = at(v, &["params", "_meta", "progressToken"]);
    token_agrees(data, env.progress_token, meta_token, "_meta.progressToken");
    token_agrees(
        data,
        env.request_id,
        at(v, &["params", "requestId"]),
        "params.requestId",
    );
    let token = at(v, &["params", "progressToken"]);
    token_agrees(
        data,
        env.notified_progress_token,
        token,
        "params.progressToken",
    );
}

/// Splices a gateway id over the request's id: the result is the same message with that id.
fn spliced_id_only(frame: &Bytes, id: Span, v: &Value) {
    let mut replacements = [(id, Bytes::from_static(b"4242"))];
    let out = splice(frame, &mut replacements).to_bytes();
    let mut expected = v.clone();
    expected["id"] = Value::from(4242);
    assert_eq!(parse(&out), expected, "splice changed more than the id");
}

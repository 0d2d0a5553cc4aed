//! `scan` against a `serde_json::Value` model of the same rules, on generated messages.

use super::value_rejects_beyond_grammar as beyond_grammar;
use super::*;
use proptest::prelude::*;
use serde_json::Value;

const KNOWN: [&str; 6] = ["jsonrpc", "id", "method", "params", "result", "error"];

/// Params literals; the ones in `PARAMS_WITH_DUPLICATES` repeat a key the scan reads.
const PARAMS: [&str; 9] = [
    r#"{"name":"srv__echo","arguments":{"name":"inner","id":1}}"#,
    r#"{"uri":"file:///x","_meta":{"progressToken":"p"}}"#,
    r#"{"ref":{"type":"ref/prompt","name":"a"},"argument":{"name":"n"}}"#,
    r#"{"requestId":"r-1","reason":"x"}"#,
    r#"{"name":"a\u0062c"}"#,
    r#"[1,2]"#,
    r#"{}"#,
    r#"{"name":"a","name":"b"}"#,
    r#"{"_meta":{"progressToken":1,"progressToken":2}}"#,
];
const PARAMS_WITH_DUPLICATES: [&str; 2] = [PARAMS[7], PARAMS[8]];

fn json_str() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| serde_json::to_string(&s).expect("a str serializes"))
}

fn id_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<i64>().prop_map(|n| n.to_string()),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        1 => Just("123456789012345678901234567890".to_owned()),
        4 => json_str(),
        1 => prop_oneof![Just("1.0"), Just("1e3"), Just("null"), Just("true"), Just("{}"), Just("[0]")]
            .prop_map(str::to_owned),
    ]
}

fn value_for(key: &'static str) -> BoxedStrategy<String> {
    let any_value = prop_oneof![
        Just("null".to_owned()),
        Just("7".to_owned()),
        Just(r#"{"code":-32601,"message":"m"}"#.to_owned()),
        json_str(),
    ];
    match key {
        "jsonrpc" => prop_oneof![
            8 => Just(r#""2.0""#.to_owned()),
            1 => prop_oneof![Just(r#""1.0""#), Just("2.0"), Just("null")].prop_map(str::to_owned),
        ]
        .boxed(),
        "id" => id_literal().boxed(),
        "method" => prop_oneof![4 => json_str(), 1 => Just("7".to_owned())].boxed(),
        "params" => proptest::sample::select(&PARAMS[..])
            .prop_map(str::to_owned)
            .boxed(),
        _ => any_value.boxed(),
    }
}

fn field() -> impl Strategy<Value = (&'static str, String)> {
    proptest::sample::select(
        &[
            "jsonrpc", "id", "method", "params", "result", "error", "x", "ID",
        ][..],
    )
    .prop_flat_map(|k| value_for(k).prop_map(move |v| (k, v)))
}

/// A message likely to be valid: the usual keys in random order, plus random extra fields.
fn message() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let base = (
        value_for("jsonrpc"),
        proptest::option::weighted(0.8, id_literal()),
        prop_oneof![
            Just(None),
            Just(Some("method")),
            Just(Some("result")),
            Just(Some("error"))
        ],
        proptest::option::of(value_for("params")),
        json_str(),
    );
    (base, proptest::collection::vec(field(), 0..3))
        .prop_map(|((jsonrpc, id, body, params, method), extra)| {
            let mut fields = vec![("jsonrpc", jsonrpc)];
            fields.extend(id.map(|id| ("id", id)));
            match body {
                Some("method") => fields.push(("method", method)),
                Some(k) => fields.push((k, r#"{"content":[]}"#.to_owned())),
                None => {}
            }
            fields.extend(params.map(|p| ("params", p)));
            fields.extend(extra);
            fields
        })
        .prop_shuffle()
}

fn render(fields: &[(&str, String)], ws: &[&str]) -> String {
    let mut w = ws.iter().cycle();
    let mut out = String::from(*w.next().unwrap_or(&""));
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (a, b, c) = (w.next(), w.next(), w.next());
        out += &format!(
            "{}\"{k}\"{}:{}{v}",
            a.unwrap_or(&""),
            b.unwrap_or(&""),
            c.unwrap_or(&"")
        );
    }
    out.push('}');
    out
}

#[derive(Debug, PartialEq, Eq)]
enum Class {
    Json,
    Request,
    Ok(Kind, Option<String>, Option<String>, Option<String>),
}

fn is_integer_literal(s: &str) -> bool {
    !s.contains(['.', 'e', 'E'])
}

/// The rules, applied to a DOM.
fn model(text: &str, fields: &[(&str, String)]) -> Class {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Class::Json;
    };
    let Some(obj) = v.as_object() else {
        return Class::Request;
    };
    let duplicate = KNOWN
        .iter()
        .any(|k| fields.iter().filter(|(f, _)| f == k).count() > 1);
    let bad_params = fields
        .iter()
        .any(|(k, v)| *k == "params" && PARAMS_WITH_DUPLICATES.contains(&v.as_str()));
    if duplicate || bad_params || obj.get("jsonrpc") != Some(&Value::from("2.0")) {
        return Class::Request;
    }
    let literal = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| v.clone());
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(_)) => literal("id"),
        Some(Value::Number(_)) if literal("id").is_some_and(|l| is_integer_literal(&l)) => {
            literal("id")
        }
        Some(_) => return Class::Request,
    };
    let name = obj
        .get("params")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (has_result, has_error) = (obj.contains_key("result"), obj.contains_key("error"));
    match obj.get("method") {
        Some(Value::String(m)) if !has_result && !has_error => {
            let kind = match obj.get("id") {
                Some(Value::Null) => return Class::Request,
                Some(_) => Kind::Request,
                None => Kind::Notification,
            };
            Class::Ok(kind, id, Some(m.clone()), name)
        }
        Some(_) => Class::Request,
        None if has_result != has_error => Class::Ok(Kind::Response, id, None, name),
        None => Class::Request,
    }
}

fn observed(frame: &[u8]) -> Class {
    match scan(frame) {
        Err(ScanError::InvalidJson(_)) => Class::Json,
        Err(ScanError::InvalidRequest(_)) => Class::Request,
        Err(ScanError::Batch) => panic!("objects are never batches"),
        Ok(e) => Class::Ok(
            e.kind,
            e.id.map(|s| String::from_utf8(s.of(frame).to_vec()).expect("utf8")),
            e.method.map(Cow::into_owned),
            e.name.map(|n| n.value.into_owned()),
        ),
    }
}

fn ws() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(
        proptest::sample::select(&["", "", " ", "\t", "\r\n", "  "][..]),
        1..6,
    )
}

proptest! {
    #[test]
    fn scan_agrees_with_the_value_model(fields in message(), ws in ws()) {
        let text = render(&fields, &ws);
        prop_assert_eq!(observed(text.as_bytes()), model(&text, &fields), "{}", text);
    }

    #[test]
    fn scan_agrees_on_validity_after_corruption(
        fields in message(),
        ws in ws(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0..3u8,
    ) {
        let mut bytes = render(&fields, &ws).into_bytes();
        let i = at.index(bytes.len());
        match how {
            0 => bytes.truncate(i),
            1 => bytes.insert(i, byte),
            _ => bytes[i] = byte,
        }
        let value = serde_json::from_slice::<Value>(&bytes);
        if !value.as_ref().is_err_and(beyond_grammar) {
            prop_assert_eq!(!matches!(scan(&bytes), Err(ScanError::InvalidJson(_))), value.is_ok());
        }
    }

    #[test]
    fn scan_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let value = serde_json::from_slice::<Value>(&bytes);
        if !value.as_ref().is_err_and(beyond_grammar) {
            prop_assert_eq!(!matches!(scan(&bytes), Err(ScanError::InvalidJson(_))), value.is_ok());
        }
        let _ = split_batch(&Bytes::from(bytes.clone()));
        let _ = recover_id(&bytes);
    }

    #[test]
    fn recover_id_finds_the_id_of_any_truncated_message(fields in message(), ws in ws(), cut in any::<prop::sample::Index>()) {
        let text = render(&fields, &ws);
        if let Class::Ok(Kind::Request, Some(id), ..) = model(&text, &fields) {
            let full = recover_id(text.as_bytes());
            prop_assert_eq!(full.id.map(|s| s.of(text.as_bytes()).to_vec()), Some(id.clone().into_bytes()));
            prop_assert!(full.has_method);
            // Cut anywhere: the id is either still found exactly, or not at all.
            let cut = &text.as_bytes()[..cut.index(text.len())];
            if let Some(span) = recover_id(cut).id {
                prop_assert_eq!(span.of(cut), id.as_bytes());
            }
        }
    }
}

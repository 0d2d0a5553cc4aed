//! A minimal JSON Schema (draft 2020-12) validator for the keywords the report schema uses.
//!
//! A full validator crate would dominate this crate's compile time for one test. This one
//! refuses any keyword it does not implement, so the schema cannot silently rely on one.

use serde_json::{Map, Value};

const ANNOTATIONS: &[&str] = &["$schema", "$id", "title", "description", "$defs"];

/// Validates `v` against `schema` (whose `$defs` resolve `$ref`s); returns every violation.
pub fn validate(schema: &Value, v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    check(schema, schema, v, "", &mut errs);
    errs
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        other => panic!("schema uses unknown type {other}"),
    }
}

fn check(root: &Value, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    let Some(s) = s.as_object() else {
        match s.as_bool() {
            Some(true) => return,
            Some(false) => return errs.push(format!("{at}: not allowed")),
            None => panic!("schema at {at} is neither an object nor a boolean"),
        }
    };
    for k in s.keys() {
        let known = ANNOTATIONS.contains(&k.as_str())
            || matches!(
                k.as_str(),
                "$ref"
                    | "type"
                    | "properties"
                    | "required"
                    | "additionalProperties"
                    | "items"
                    | "enum"
                    | "const"
                    | "minimum"
                    | "anyOf"
            );
        assert!(
            known,
            "schema keyword `{k}` at {at} is not supported by the test validator"
        );
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/$defs/")
            .unwrap_or_else(|| panic!("only local $defs refs: {r}"));
        let target = root["$defs"]
            .get(name)
            .unwrap_or_else(|| panic!("dangling $ref {r}"));
        check(root, target, v, at, errs);
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_matches(t, v),
            Value::Array(ts) => ts
                .iter()
                .any(|t| type_matches(t.as_str().unwrap_or_default(), v)),
            _ => panic!("bad type at {at}"),
        };
        if !ok {
            errs.push(format!("{at}: expected type {t}, got {v}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errs.push(format!("{at}: expected {c}, got {v}"));
        }
    }
    if let Some(Value::Array(e)) = s.get("enum") {
        if !e.contains(v) {
            errs.push(format!("{at}: {v} not in {e:?}"));
        }
    }
    if let (Some(m), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < m {
            errs.push(format!("{at}: {x} < minimum {m}"));
        }
    }
    if let Some(Value::Array(alts)) = s.get("anyOf") {
        let ok = alts.iter().any(|alt| {
            let mut e = Vec::new();
            check(root, alt, v, at, &mut e);
            e.is_empty()
        });
        if !ok {
            errs.push(format!("{at}: matches no anyOf alternative: {v}"));
        }
    }
    if let Some(o) = v.as_object() {
        object(root, s, o, at, errs);
    }
    if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            check(root, items, x, &format!("{at}/{i}"), errs);
        }
    }
}

fn object(
    root: &Value,
    s: &Map<String, Value>,
    o: &Map<String, Value>,
    at: &str,
    errs: &mut Vec<String>,
) {
    if let Some(Value::Array(req)) = s.get("required") {
        for r in req.iter().filter_map(Value::as_str) {
            if !o.contains_key(r) {
                errs.push(format!("{at}: missing required `{r}`"));
            }
        }
    }
    let props = s.get("properties").and_then(Value::as_object);
    for (k, x) in o {
        let path = format!("{at}/{k}");
        match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
            (Some(ps), _) => check(root, ps, x, &path, errs),
            (None, Some(extra)) => check(root, extra, x, &path, errs),
            (None, None) => {}
        }
    }
}

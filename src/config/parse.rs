//! YAML text → checked document shape → raw schema structs, collecting every issue on the way.
//!
//! Three steps, each reporting with key paths:
//! 1. [`document`] parses the text into a [`Value`] (syntax errors, duplicate keys, several
//!    documents and alias bombs are rejected by the YAML parser) and applies `<<` merge keys, which
//!    Gatekit's PyYAML loader honours too.
//! 2. The shape walk reports *every* unknown key (with a "did you mean" hint) and every struct-shaped
//!    section that is not a mapping, and removes them, so step 3 sees only known keys.
//! 3. [`typed`] deserializes into the raw structs. serde stops at the first type error, so after each
//!    one the offending entry is removed and the read repeated: all type errors get reported, each
//!    once, at its own path.
//!
//! Removal keeps key order (`shift_remove`), so issues come out in document order.
//!
//! Invariant: after a section passed the walk, its typed read can only fail on leaf values.

use super::error::{index_key, join_key, Issues, MAX_ISSUES};
use super::schema::{
    fields_of, RawLogging, RawProxy, RawRoot, RawSandbox, RawTimeouts, RawUpstream,
};
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use serde_yaml_ng::{Mapping, Value};

/// Parses `yaml` and reads its root into [`RawRoot`]; `None` when nothing usable remains.
pub(crate) fn document(yaml: &str, issues: &mut Issues) -> Option<RawRoot> {
    let mut root: Value = match serde_yaml_ng::from_str(yaml) {
        Ok(root) => root,
        Err(err) => {
            issues.push("", format!("not valid YAML: {err}"));
            return None;
        }
    };
    if let Err(err) = root.apply_merge() {
        issues.push("", format!("invalid `<<` merge key: {err}"));
        return None;
    }
    match &mut root {
        // An empty file is an empty mapping: validation then reports the missing `proxy`.
        Value::Null => root = Value::Mapping(Mapping::new()),
        Value::Mapping(map) => check_root(map, issues),
        _ => {
            issues.push("", "the file must be a YAML mapping with a `proxy` key");
            return None;
        }
    }
    typed(root, "", issues)
}

fn check_root(root: &mut Mapping, issues: &mut Issues) {
    check_keys(root, fields_of::<RawRoot>(), "", issues);
    if let Some(proxy) = section(root, "proxy", "", issues) {
        for misplaced in ["plugins", "logging"] {
            if proxy.shift_remove(misplaced).is_some() {
                let message = format!(
                    "`{misplaced}` must be at the top level of the file, not under `proxy`"
                );
                issues.push(join_key("proxy", misplaced), message);
            }
        }
        check_keys(proxy, fields_of::<RawProxy>(), "proxy", issues);
        if let Some(timeouts) = section(proxy, "timeouts", "proxy", issues) {
            check_keys(
                timeouts,
                fields_of::<RawTimeouts>(),
                "proxy.timeouts",
                issues,
            );
        }
    }
    if let Some(logging) = section(root, "logging", "", issues) {
        check_keys(logging, fields_of::<RawLogging>(), "logging", issues);
    }
}

/// Checks one upstream entry in place; `false` when it is not a mapping at all (already reported).
pub(crate) fn check_upstream(upstream: &mut Value, key: &str, issues: &mut Issues) -> bool {
    let Value::Mapping(map) = upstream else {
        issues.push(
            key,
            "an upstream must be a mapping with at least `name` and `command`",
        );
        return false;
    };
    check_keys(map, fields_of::<RawUpstream>(), key, issues);
    // Gatekit requires a list; a lone string gets a pointed message instead of serde's.
    if map.get("command").is_some_and(Value::is_string) {
        map.shift_remove("command");
        let message =
            "must be a list of strings, e.g. [\"npx\", \"-y\", \"@scope/server\"], not one string";
        issues.push(join_key(key, "command"), message);
    }
    if let Some(sandbox) = section(map, "sandbox", key, issues) {
        check_keys(
            sandbox,
            fields_of::<RawSandbox>(),
            &join_key(key, "sandbox"),
            issues,
        );
    }
    true
}

/// The mapping under `name`, if any. A present non-mapping, non-null value is reported and removed.
fn section<'m>(
    parent: &'m mut Mapping,
    name: &str,
    parent_key: &str,
    issues: &mut Issues,
) -> Option<&'m mut Mapping> {
    if matches!(parent.get(name), Some(v) if !v.is_mapping() && !v.is_null()) {
        parent.shift_remove(name);
        issues.push(join_key(parent_key, name), "must be a mapping");
        return None;
    }
    parent.get_mut(name).and_then(Value::as_mapping_mut)
}

/// Reports and removes every key of `map` that is not in `known`.
fn check_keys(map: &mut Mapping, known: &[&str], key: &str, issues: &mut Issues) {
    let mut unknown = Vec::new();
    for k in map.keys() {
        match k.as_str() {
            Some(name) if known.contains(&name) => {}
            Some(name) => {
                let message = match hint(name, known) {
                    Some(hint) => format!("unknown key ({hint})"),
                    None => "unknown key".to_owned(),
                };
                issues.push(join_key(key, name), message);
                unknown.push(k.clone());
            }
            None => {
                issues.push(
                    key,
                    format!("keys must be strings, found {}", scalar_text(k)),
                );
                unknown.push(k.clone());
            }
        }
    }
    for k in unknown {
        map.shift_remove(&k);
    }
}

/// A "did you mean" hint: Gatekit-doc spellings that are not in its real schema, then typos.
fn hint(name: &str, known: &[&str]) -> Option<String> {
    let known_has = |k: &str| known.contains(&k);
    let alias = match name {
        "servers" | "mcpServers" if known_has("proxy") || known_has("upstreams") => {
            Some("Gatekit's schema lists servers under `proxy.upstreams`")
        }
        "args" if known_has("command") => Some("arguments belong in the `command` list"),
        "type" if known_has("transport") => Some("did you mean `transport`?"),
        _ => None,
    };
    if let Some(alias) = alias {
        return Some(alias.to_owned());
    }
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2 && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| format!("did you mean `{k}`?"))
}

/// Levenshtein distance; key names are short, so the quadratic cost is irrelevant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Short text for a non-string key or value in a message.
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// Deserializes `value` into `T`, reporting every type error below `key` (see the module docs).
pub(crate) fn typed<T: DeserializeOwned>(
    mut value: Value,
    key: &str,
    issues: &mut Issues,
) -> Option<T> {
    // Each round removes one entry from a finite tree, so the loop ends; the cap is a backstop.
    for _ in 0..=MAX_ISSUES {
        let err = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(typed) => return Some(typed),
            Err(err) => err,
        };
        let segments: Vec<Segment> = err.path().iter().cloned().collect();
        issues.push(
            render_path(key, &segments),
            polish(&err.into_inner().to_string()),
        );
        if !remove_nearest_entry(&mut value, &segments) {
            return None;
        }
    }
    None
}

fn render_path(prefix: &str, segments: &[Segment]) -> String {
    let mut key = prefix.to_owned();
    for segment in segments {
        match segment {
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                key = join_key(&key, name)
            }
            Segment::Seq { index } => key = index_key(&key, *index),
            Segment::Unknown => key = join_key(&key, "?"),
        }
    }
    key
}

/// Removes the innermost mapping entry on `path` (a bad list element takes its whole list with it:
/// removing only the element would shift the indices of later errors).
fn remove_nearest_entry(value: &mut Value, path: &[Segment]) -> bool {
    let Some(last_map) = path.iter().rposition(|s| matches!(s, Segment::Map { .. })) else {
        return false;
    };
    let mut node = value;
    for segment in &path[..last_map] {
        let next = match (segment, node) {
            (Segment::Map { key }, Value::Mapping(map)) => map.get_mut(key.as_str()),
            (Segment::Seq { index }, Value::Sequence(seq)) => seq.get_mut(*index),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return false,
        }
    }
    match (&path[last_map], node) {
        (Segment::Map { key }, Value::Mapping(map)) => map.shift_remove(key.as_str()).is_some(),
        _ => false,
    }
}

/// Replaces serde's Rust type names with words a config author knows.
fn polish(message: &str) -> String {
    message
        .replace(
            "expected u32",
            "expected a non-negative integer (at most 4294967295)",
        )
        .replace("expected u64", "expected a non-negative integer")
        .replace("expected a sequence", "expected a list")
        .replace("expected a map", "expected a mapping")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_hints() {
        assert_eq!(
            hint("comand", fields_of::<RawUpstream>()).as_deref(),
            Some("did you mean `command`?")
        );
        assert_eq!(
            hint("args", fields_of::<RawUpstream>()).as_deref(),
            Some("arguments belong in the `command` list")
        );
        assert_eq!(hint("zzzzzzzz", fields_of::<RawUpstream>()), None);
    }

    #[test]
    fn every_type_error_is_reported_once() {
        let value: Value = serde_yaml_ng::from_str(
            "name: 5\nenabled: maybe\nmax_restart_attempts: -1\ncommand: [a, {b: c}]\n",
        )
        .unwrap_or(Value::Null);
        let mut issues = Issues::default();
        assert!(typed::<RawUpstream>(value, "up", &mut issues).is_some());
        let keys: Vec<String> = issues.into_vec().into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            [
                "up.name",
                "up.enabled",
                "up.max_restart_attempts",
                "up.command[1]"
            ]
        );
    }
}

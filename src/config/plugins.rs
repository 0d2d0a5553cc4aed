//! The top-level `plugins:` section: its accepted shape, and the "not supported yet" gate.
//!
//! Shape (GATEKIT.md §3.1): category (`security` | `middleware` | `auditing`) → scope (`_global` or
//! an upstream name matching `^[a-z][a-z0-9_-]*$`) → list of plugin entries. Other `_`-prefixed
//! keys at the category and scope levels are ignored, as in Gatekit (room for YAML anchors).
//!
//! gatekit runs no plugins yet, so the section is accepted only when it configures none: empty, null,
//! empty lists, `_` keys. The first plugin entry found is reported as "not supported yet" with its
//! path (one issue, not one per entry: the fix is the same for all of them).

use super::error::{index_key, join_key, unsupported, Issues};
use super::parse::scalar_text;
use serde_yaml_ng::Value;

const KEY: &str = "plugins";
const CATEGORIES: [&str; 3] = ["security", "middleware", "auditing"];

/// Checks the value of `plugins:`.
pub(crate) fn check(plugins: &Value, issues: &mut Issues) {
    let Some(categories) = mapping(plugins, KEY, "a mapping of plugin categories", issues) else {
        return;
    };
    let mut reported_entry = false;
    for (category, scopes) in categories {
        let Some(category) = string_key(category, KEY, issues) else {
            continue;
        };
        if category.starts_with('_') {
            continue;
        }
        let category_key = join_key(KEY, category);
        if !CATEGORIES.contains(&category) {
            issues.push(
                category_key,
                "unknown key (plugin categories are security, middleware and auditing)",
            );
            continue;
        }
        let Some(scopes) = mapping(
            scopes,
            &category_key,
            "a mapping of scopes (`_global` or upstream names)",
            issues,
        ) else {
            continue;
        };
        for (scope, entries) in scopes {
            let Some(scope) = string_key(scope, &category_key, issues) else {
                continue;
            };
            if scope.starts_with('_') && scope != "_global" {
                continue;
            }
            let scope_key = join_key(&category_key, scope);
            if scope != "_global" && !is_scope_name(scope) {
                issues.push(scope_key, "a plugin scope must be `_global` or an upstream name matching ^[a-z][a-z0-9_-]*$");
                continue;
            }
            match entries {
                Value::Null => {}
                Value::Sequence(list) if list.is_empty() => {}
                Value::Sequence(list) => {
                    if !reported_entry {
                        reported_entry = true;
                        let at = index_key(&scope_key, 0);
                        let handler = list[0]
                            .get("handler")
                            .and_then(Value::as_str)
                            .unwrap_or("?");
                        let message = format!(
                            "{} (handler {handler:?}: gatekit does not run plugins yet; remove the entries to run without them)",
                            unsupported(&at, None)
                        );
                        issues.push(at, message);
                    }
                }
                other => issues.push(
                    scope_key,
                    format!(
                        "must be a list of plugin entries, found {}",
                        scalar_text(other)
                    ),
                ),
            }
        }
    }
}

/// `value` as a mapping; null counts as empty. Anything else is reported as not being `what`.
fn mapping<'v>(
    value: &'v Value,
    key: &str,
    what: &str,
    issues: &mut Issues,
) -> Option<&'v serde_yaml_ng::Mapping> {
    match value {
        Value::Null => None,
        Value::Mapping(map) => Some(map),
        other => {
            issues.push(key, format!("must be {what}, found {}", scalar_text(other)));
            None
        }
    }
}

fn string_key<'v>(key: &'v Value, parent: &str, issues: &mut Issues) -> Option<&'v str> {
    let name = key.as_str();
    if name.is_none() {
        issues.push(
            parent,
            format!("keys must be strings, found {}", scalar_text(key)),
        );
    }
    name
}

/// `^[a-z][a-z0-9_-]*$`, Gatekit's rule for scope keys.
fn is_scope_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(yaml: &str) -> Vec<String> {
        let value: Value = serde_yaml_ng::from_str(yaml).unwrap_or(Value::Null);
        let mut issues = Issues::default();
        check(&value, &mut issues);
        issues.into_vec().into_iter().map(|i| i.key).collect()
    }

    #[test]
    fn empty_plugin_sections_are_accepted() {
        assert!(keys("{}").is_empty());
        assert!(keys(
            "security: {_global: []}\nauditing:\n  _global:\n  filesystem: []\n  _anchors: [1]\n"
        )
        .is_empty());
        assert!(keys("_defaults: {a: 1}\nmiddleware: null\n").is_empty());
    }

    #[test]
    fn the_first_plugin_entry_is_not_supported_yet() {
        let yaml = "security:\n  fs: []\nauditing:\n  _global:\n    - handler: audit_jsonl\n    - handler: audit_csv\n  fs:\n    - handler: x\n";
        assert_eq!(keys(yaml), ["plugins.auditing._global[0]"]);
    }

    #[test]
    fn bad_shapes_are_named() {
        assert_eq!(keys("[1]"), ["plugins"]);
        assert_eq!(keys("filters: {}"), ["plugins.filters"]);
        assert_eq!(keys("security: {Bad: []}"), ["plugins.security.Bad"]);
        assert_eq!(
            keys("security: {_global: {handler: x}}"),
            ["plugins.security._global"]
        );
    }
}

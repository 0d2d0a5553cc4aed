//! `proxy.upstreams`: shape (a list, or Gatekit's single-mapping form), per-entry validation and
//! resolution, and the cross-entry rules (unique names, at least one enabled).
//!
//! Each entry is walked and deserialized on its own, so a broken entry never hides the issues of
//! the next one. Entries of Gatekit features gatekit lacks (`transport: http`, `url`, `tls_verify`,
//! `sandbox.enabled: true`) are "not supported yet" errors even on disabled upstreams: a config
//! gatekit accepts is one it can fully run.

use super::error::{index_key, join_key, unsupported, Issues};
use super::parse::{self, scalar_text};
use super::paths::anchor;
use super::schema::{Flag, RawSandbox, RawUpstream};
use super::validate::{duration, in_flight, Context};
use super::UpstreamConfig;
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const KEY: &str = "proxy.upstreams";

/// Gatekit's default `max_restart_attempts`.
const DEFAULT_MAX_RESTART_ATTEMPTS: u32 = 3;

/// Validates every upstream; `None` when any is invalid (all are still checked).
pub(crate) fn all(
    raw: Option<Value>,
    ctx: &Context<'_>,
    issues: &mut Issues,
) -> Option<Vec<UpstreamConfig>> {
    let entries: Vec<(String, Value)> = match raw {
        None | Some(Value::Null) => {
            if !issues.touches(KEY) {
                issues.push(KEY, "required: a list of at least one upstream");
            }
            return None;
        }
        // Gatekit accepts one upstream written as a mapping; its keys read `proxy.upstreams.name`.
        Some(single @ Value::Mapping(_)) => vec![(KEY.to_owned(), single)],
        Some(Value::Sequence(list)) if list.is_empty() => {
            issues.push(KEY, "must list at least one upstream");
            return None;
        }
        Some(Value::Sequence(list)) => list
            .into_iter()
            .enumerate()
            .map(|(i, entry)| (index_key(KEY, i), entry))
            .collect(),
        Some(other) => {
            issues.push(
                KEY,
                format!("must be a list of upstreams, found {}", scalar_text(&other)),
            );
            return None;
        }
    };
    let reported_before = issues.total();
    let mut upstreams = Vec::with_capacity(entries.len());
    let mut first_use: HashMap<String, String> = HashMap::new();
    for (key, mut entry) in entries {
        if !parse::check_upstream(&mut entry, &key, issues) {
            continue;
        }
        let Some(raw) = parse::typed::<RawUpstream>(entry, &key, issues) else {
            continue;
        };
        if let Some(name) = &raw.name {
            if let Some(first) = first_use.get(name) {
                let message = format!("duplicate upstream name {name:?} (first used at {first})");
                issues.push(join_key(&key, "name"), message);
            } else {
                first_use.insert(name.clone(), key.clone());
            }
        }
        upstreams.extend(one(raw, &key, ctx, issues));
    }
    // Judged only on a clean list: with a broken entry, "none enabled" may be untrue.
    let ok = issues.total() == reported_before;
    if ok && !upstreams.iter().any(|u| u.enabled) {
        issues.push(
            KEY,
            "no upstream is enabled: set `enabled: true` on at least one",
        );
        return None;
    }
    ok.then_some(upstreams)
}

fn one(
    raw: RawUpstream,
    key: &str,
    ctx: &Context<'_>,
    issues: &mut Issues,
) -> Option<UpstreamConfig> {
    let reported_before = issues.total();
    let sub = |name: &str| join_key(key, name);
    match raw.name.as_deref() {
        Some(name) => {
            if let Err(message) = check_name(name) {
                issues.push(sub("name"), message);
            }
        }
        None if issues.touches(&sub("name")) => {}
        None => issues.push(
            sub("name"),
            "required: the upstream's name (its `name__` prefix)",
        ),
    }
    let stdio = match raw.transport.as_deref() {
        None | Some("stdio") => true,
        Some("http") => {
            issues.push(
                sub("transport"),
                unsupported(&sub("transport"), Some("http")),
            );
            false
        }
        Some(other) => {
            issues.push(
                sub("transport"),
                format!("must be \"stdio\" (or \"http\"), found {other:?}"),
            );
            false
        }
    };
    if raw.url.as_ref().is_some_and(|url| !url.is_null()) {
        issues.push(sub("url"), unsupported(&sub("url"), None));
    }
    if raw.tls_verify.is_some() {
        issues.push(sub("tls_verify"), unsupported(&sub("tls_verify"), None));
    }
    if let Some(sandbox) = &raw.sandbox {
        check_sandbox(sandbox, &sub("sandbox"), issues);
    }
    let command = match &raw.command {
        Some(command) => self::command(command, &sub("command"), ctx, issues),
        // Only a stdio upstream needs a command; an http one was reported above.
        None if !stdio || issues.touches(&sub("command")) => None,
        None => {
            let message =
                "required for a stdio upstream: a list like [\"npx\", \"-y\", \"@scope/server\"]";
            issues.push(sub("command"), message);
            None
        }
    };
    let env = match &raw.env {
        Some(env) => self::env(env, &sub("env"), ctx, issues),
        None => Some(BTreeMap::new()),
    };
    let cwd = match &raw.cwd {
        Some(cwd) => match ctx.path(cwd, &sub("cwd"), issues) {
            Some(dir) if dir.is_dir() => Some(Some(dir)),
            Some(dir) => {
                issues.push(
                    sub("cwd"),
                    format!("not an existing directory: {}", dir.display()),
                );
                None
            }
            None => None,
        },
        None => Some(None),
    };
    let request_timeout = duration(raw.request_timeout, &sub("request_timeout"), issues);
    let max_in_flight = in_flight(raw.max_in_flight, &sub("max_in_flight"), issues);
    let upstream = UpstreamConfig {
        name: raw.name?,
        enabled: raw.enabled.is_none_or(|Flag(on)| on),
        command: command?,
        env: env?,
        cwd: cwd?,
        restart_on_failure: raw.restart_on_failure.is_none_or(|Flag(on)| on),
        max_restart_attempts: raw
            .max_restart_attempts
            .unwrap_or(DEFAULT_MAX_RESTART_ATTEMPTS),
        request_timeout: request_timeout?,
        max_in_flight: max_in_flight?,
        // As Gatekit: surrounding whitespace stripped, blank means none.
        server_identity: raw
            .server_identity
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty()),
    };
    (issues.total() == reported_before).then_some(upstream)
}

/// Upstream names: non-empty, ASCII letters, digits, `_` and `-` only, no `__` (the namespace
/// separator), and no trailing `_`. Together these make splitting `server__tool` at its *first*
/// `__` always right: the first `__` cannot lie inside the name, nor straddle its last character
/// (Gatekit allows `a_`, and `a_` + `__` + `t` splits as `a` + `_t`). Plugin *scope* keys are
/// stricter, `^[a-z][a-z0-9_-]*$` (see the plugins module).
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if name.contains("__") {
        return Err(format!(
            "{name:?} must not contain `__`: it separates server and tool in `server__tool`"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "{name:?} may contain only ASCII letters, digits, `_` and `-`; found {bad:?}"
        ));
    }
    if name.ends_with('_') {
        return Err(format!(
            "{name:?} must not end with `_`: `{name}__tool` would split at the wrong `__`"
        ));
    }
    Ok(())
}

fn command(
    raw: &[String],
    key: &str,
    ctx: &Context<'_>,
    issues: &mut Issues,
) -> Option<Vec<String>> {
    if raw.is_empty() {
        issues.push(
            key,
            "must not be empty: the first element is the program to run",
        );
        return None;
    }
    let mut ok = true;
    let mut command = Vec::with_capacity(raw.len());
    for (i, arg) in raw.iter().enumerate() {
        let at = index_key(key, i);
        let Some(expanded) = ctx.expand(arg, &at, issues) else {
            ok = false;
            continue;
        };
        if expanded.contains('\0') {
            ok = false;
            issues.push(at, "must not contain a NUL byte");
        } else if i == 0 && expanded.is_empty() {
            ok = false;
            issues.push(at, "the program must not be empty");
        } else if i == 0 && expanded.contains('/') && Path::new(&expanded).is_relative() {
            // `./server.py` means next to the config file; bare `npx` stays a PATH lookup.
            match anchor(Path::new(&expanded), ctx.dir)
                .into_os_string()
                .into_string()
            {
                Ok(program) => command.push(program),
                Err(_) => {
                    ok = false;
                    issues.push(at, "the config folder's path is not valid UTF-8");
                }
            }
        } else {
            command.push(expanded);
        }
    }
    ok.then_some(command)
}

fn env(
    raw: &BTreeMap<String, String>,
    key: &str,
    ctx: &Context<'_>,
    issues: &mut Issues,
) -> Option<BTreeMap<String, String>> {
    let mut ok = true;
    let mut env = BTreeMap::new();
    for (name, value) in raw {
        let at = join_key(key, name);
        if name.is_empty() || name.contains(['=', '\0']) {
            ok = false;
            issues.push(at, "variable names must be non-empty, without `=` or NUL");
            continue;
        }
        match ctx.expand_vars(value, &at, issues) {
            Some(value) if value.contains('\0') => {
                ok = false;
                issues.push(at, "must not contain a NUL byte");
            }
            Some(value) => {
                env.insert(name.clone(), value);
            }
            None => ok = false,
        }
    }
    ok.then_some(env)
}

/// Sandboxing is not implemented: `enabled: true` is an error (Gatekit fails closed without a
/// backend, and so does gatekit). A disabled sandbox is checked for Gatekit's rules and accepted.
fn check_sandbox(raw: &RawSandbox, key: &str, issues: &mut Issues) {
    if raw.enabled == Some(Flag(true)) {
        let at = join_key(key, "enabled");
        issues.push(&at, unsupported(&at, Some("true")));
    }
    for (i, path) in raw.paths.iter().flatten().enumerate() {
        if path.is_empty() || path.contains(['*', '?', '[', ']', '{', '}']) {
            issues.push(
                index_key(&join_key(key, "paths"), i),
                "must be a non-empty path without glob characters *?[]{}",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_follow_the_namespace_rules() {
        for good in ["filesystem", "my-server", "A1", "_x", "a_b-c"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in ["", "a__b", "a.b", "a b", "é", "a_", "x/y"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}

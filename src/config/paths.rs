//! Expansion and resolution of paths and strings taken from the config: `~`, `${VAR}`, and
//! relative paths against the config file's folder (ADR-012: the MCP client picks our CWD, so the
//! CWD means nothing).
//!
//! Rules, applied in this order, once (an expanded value is never expanded again):
//! 1. A leading `~` (alone or before `/`) becomes `$HOME`. `~user` is left as written.
//! 2. `${NAME}` (`NAME` = `[A-Za-z_][A-Za-z0-9_]*`) becomes the variable's value; an undefined or
//!    non-UTF-8 variable is an error, never an empty string. `$${` is a literal `${`. A bare `$`
//!    (as in `$1` or `^a$`) stays as written: unlike Python's `expandvars`, gatekit never guesses
//!    where a bare `$NAME` ends, so command arguments with `$` in them survive unchanged.
//! 3. Paths only: a relative result is joined to the config directory; `.` components are dropped.

use std::ffi::OsString;
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// Looks up an environment variable; injected so tests need not mutate the process environment.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Why a string could not be expanded. Rendered after the key path that held the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    Undefined(String),
    NotUnicode(String),
    Malformed,
    NoHome,
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undefined(name) => write!(f, "environment variable `{name}` is not set"),
            Self::NotUnicode(name) => write!(f, "environment variable `{name}` is not valid UTF-8"),
            Self::Malformed => f.write_str(
                "malformed `${...}`: expected `${NAME}` (write `$${` for a literal `${`)",
            ),
            Self::NoHome => f.write_str("`~` used but HOME is not set"),
        }
    }
}

/// Expands `~` and `${VAR}` in `raw` (rules 1 and 2 of the module docs).
pub(crate) fn expand(raw: &str, env: EnvLookup<'_>) -> Result<String, ExpandError> {
    let homed = expand_home(raw, env)?;
    expand_vars(&homed, env)
}

/// Expands `raw`, then resolves a relative result against `dir` (all three rules).
pub(crate) fn resolve_path(
    raw: &str,
    dir: &Path,
    env: EnvLookup<'_>,
) -> Result<PathBuf, ExpandError> {
    let expanded = expand(raw, env)?;
    Ok(anchor(Path::new(&expanded), dir))
}

/// Joins a relative path to `dir` and drops `.` components; absolute paths are kept as written
/// (minus `.` components). `..` is kept: resolving it lexically is wrong across symlinks.
pub(crate) fn anchor(path: &Path, dir: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn expand_home(raw: &str, env: EnvLookup<'_>) -> Result<String, ExpandError> {
    let Some(rest) = raw.strip_prefix('~') else {
        return Ok(raw.to_owned());
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Ok(raw.to_owned());
    }
    let home = env("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(ExpandError::NoHome)?;
    let home = home
        .into_string()
        .map_err(|_| ExpandError::NotUnicode("HOME".to_owned()))?;
    Ok(format!("{}{rest}", home.trim_end_matches('/')))
}

/// Expands `${VAR}` only (rule 2): for values that are not paths, such as `env` entries.
pub(crate) fn expand_vars(raw: &str, env: EnvLookup<'_>) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after.find('}').ok_or(ExpandError::Malformed)?;
            let name = &after[..end];
            if !is_var_name(name) {
                return Err(ExpandError::Malformed);
            }
            let value = env(name).ok_or_else(|| ExpandError::Undefined(name.to_owned()))?;
            let value = value
                .into_string()
                .map_err(|_| ExpandError::NotUnicode(name.to_owned()))?;
            out.push_str(&value);
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<OsString> {
        match name {
            "HOME" => Some("/home/u/".into()),
            "DATA" => Some("/srv/data".into()),
            "TILDE" => Some("~/x".into()),
            "NESTED" => Some("${DATA}".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_home_only_at_the_start() {
        assert_eq!(expand("~", &env).as_deref(), Ok("/home/u"));
        assert_eq!(expand("~/docs", &env).as_deref(), Ok("/home/u/docs"));
        assert_eq!(expand("~bob/docs", &env).as_deref(), Ok("~bob/docs"));
        assert_eq!(expand("a/~/b", &env).as_deref(), Ok("a/~/b"));
        assert_eq!(expand("~", &|_| None), Err(ExpandError::NoHome));
    }

    #[test]
    fn expands_braced_variables_once() {
        assert_eq!(expand("${DATA}/in", &env).as_deref(), Ok("/srv/data/in"));
        assert_eq!(expand("${TILDE}", &env).as_deref(), Ok("~/x"));
        assert_eq!(expand("${NESTED}", &env).as_deref(), Ok("${DATA}"));
        assert_eq!(expand("a$${DATA}", &env).as_deref(), Ok("a${DATA}"));
        assert_eq!(expand("^x$ $1 $", &env).as_deref(), Ok("^x$ $1 $"));
        assert_eq!(
            expand("${NOPE}", &env),
            Err(ExpandError::Undefined("NOPE".into()))
        );
        assert_eq!(expand("${DATA", &env), Err(ExpandError::Malformed));
        assert_eq!(expand("${1X}", &env), Err(ExpandError::Malformed));
        assert_eq!(expand("${}", &env), Err(ExpandError::Malformed));
    }

    #[test]
    fn resolves_relative_paths_against_the_config_dir() {
        let dir = Path::new("/etc/gk");
        assert_eq!(
            resolve_path("logs/g.log", dir, &env),
            Ok(PathBuf::from("/etc/gk/logs/g.log"))
        );
        assert_eq!(
            resolve_path("./a/./b", dir, &env),
            Ok(PathBuf::from("/etc/gk/a/b"))
        );
        assert_eq!(
            resolve_path("../x", dir, &env),
            Ok(PathBuf::from("/etc/gk/../x"))
        );
        assert_eq!(
            resolve_path("/var/log", dir, &env),
            Ok(PathBuf::from("/var/log"))
        );
        assert_eq!(
            resolve_path("~/l", dir, &env),
            Ok(PathBuf::from("/home/u/l"))
        );
    }
}

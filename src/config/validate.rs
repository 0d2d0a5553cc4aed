//! Semantic validation: raw structs → [`ProxyConfig`] and [`LoggingConfig`], with defaults filled
//! in, ranges checked and paths resolved. Every check runs even after an earlier one failed, so one
//! load reports every issue; a key that already had an issue (a type error) is not reported again
//! as "required".

use super::error::{index_key, unsupported, Issues};
use super::paths::{self, EnvLookup};
use super::schema::{Number, RawLogging, RawProxy, RawRoot, RawTimeouts};
use super::{plugins, upstream, LogHandler, LogLevel, LoggingConfig, ProxyConfig};
use std::path::Path;
use std::time::Duration;

/// Defaults and bounds of every numeric setting, each with its reason.
pub mod limits {
    use std::time::Duration;

    /// Gatekit's default for `proxy.timeouts.request_timeout`.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
    /// Gatekit's default for `proxy.timeouts.connection_timeout`.
    pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default `proxy.timeouts.shutdown_grace`: Gatekit gives `disconnect_all()` 5 s.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
    /// Upper bound of every timeout: one day. Longer values are typos, and deadlines computed as
    /// `Instant + timeout` must never overflow.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

    /// Default `proxy.max_message_bytes`: real tool results carry multi-MiB base64 payloads.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
    /// Smallest `max_message_bytes`: below this even an `initialize` reply may not fit.
    pub const MIN_MESSAGE_BYTES: u64 = 1024;
    /// Largest `max_message_bytes`: each stream may buffer one frame this big, so 1 GiB per stream
    /// is already a memory hazard.
    pub const MAX_MESSAGE_BYTES: u64 = 1024 * 1024 * 1024;

    /// Default `max_in_flight` per upstream (the correlation table's capacity).
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
    /// Largest `max_in_flight`: the table is preallocated, so this bounds its memory.
    pub const MAX_IN_FLIGHT: u64 = 1_000_000;

    /// Gatekit's default `logging.max_file_size_mb`.
    pub const DEFAULT_MAX_FILE_SIZE_MB: u64 = 10;
    /// Largest `max_file_size_mb` (1 TiB): keeps the byte count far from overflow.
    pub const MAX_FILE_SIZE_MB: u64 = 1024 * 1024;
    /// `DEFAULT_MAX_FILE_SIZE_MB` in bytes.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = DEFAULT_MAX_FILE_SIZE_MB * 1024 * 1024;
    /// Gatekit's default `logging.backup_count`.
    pub const DEFAULT_BACKUP_COUNT: u32 = 5;
    /// Largest `backup_count`: every rotation renames each backup once.
    pub const MAX_BACKUP_COUNT: u32 = 1000;
}

/// What resolution needs besides the file: its folder and the environment.
pub(crate) struct Context<'a> {
    pub dir: &'a Path,
    pub env: EnvLookup<'a>,
}

impl Context<'_> {
    /// `~`/`${VAR}` expansion of the string at `key`; failures are reported there.
    pub fn expand(&self, raw: &str, key: &str, issues: &mut Issues) -> Option<String> {
        paths::expand(raw, self.env)
            .map_err(|err| issues.push(key, err.to_string()))
            .ok()
    }

    /// `${VAR}` expansion only (no `~`) of the string at `key`.
    pub fn expand_vars(&self, raw: &str, key: &str, issues: &mut Issues) -> Option<String> {
        paths::expand_vars(raw, self.env)
            .map_err(|err| issues.push(key, err.to_string()))
            .ok()
    }

    /// Expansion plus resolution against the config folder of the path at `key`.
    pub fn path(&self, raw: &str, key: &str, issues: &mut Issues) -> Option<std::path::PathBuf> {
        // Gatekit strips surrounding whitespace from paths, and rejects blank ones.
        let raw = raw.trim();
        if raw.is_empty() {
            issues.push(key, "must not be empty");
            return None;
        }
        paths::resolve_path(raw, self.dir, self.env)
            .map_err(|err| issues.push(key, err.to_string()))
            .ok()
    }
}

/// Validates the whole document; `None` when any part is invalid (all parts are still checked).
pub(crate) fn root(
    raw: RawRoot,
    ctx: &Context<'_>,
    issues: &mut Issues,
) -> Option<(ProxyConfig, LoggingConfig)> {
    let proxy = match raw.proxy {
        Some(raw_proxy) => proxy(raw_proxy, ctx, issues),
        None => {
            if !issues.touches("proxy") {
                issues.push(
                    "proxy",
                    "required: the `proxy` section (transport and upstreams)",
                );
            }
            None
        }
    };
    let logging = logging(raw.logging, ctx, issues);
    if let Some(raw_plugins) = &raw.plugins {
        plugins::check(raw_plugins, issues);
    }
    Some((proxy?, logging?))
}

fn proxy(raw: RawProxy, ctx: &Context<'_>, issues: &mut Issues) -> Option<ProxyConfig> {
    match raw.transport.as_deref() {
        Some("stdio") => {}
        Some("http") => issues.push(
            "proxy.transport",
            unsupported("proxy.transport", Some("http")),
        ),
        Some(other) => issues.push(
            "proxy.transport",
            format!("must be \"stdio\" (or \"http\"), found {other:?}"),
        ),
        None if issues.touches("proxy.transport") => {}
        None => issues.push("proxy.transport", "required: \"stdio\""),
    }
    match raw.hot_reload.as_deref() {
        None | Some("disabled") => {}
        Some(mode @ ("auto" | "enabled")) => {
            issues.push(
                "proxy.hot_reload",
                unsupported("proxy.hot_reload", Some(mode)),
            );
        }
        Some(other) => issues.push(
            "proxy.hot_reload",
            format!("must be \"disabled\", \"auto\" or \"enabled\", found {other:?}"),
        ),
    }
    if raw.http.as_ref().is_some_and(|http| !http.is_null()) {
        issues.push("proxy.http", unsupported("proxy.http", None));
    }
    let timeouts = timeouts(raw.timeouts, issues);
    let max_message_bytes = bounded(
        raw.max_message_bytes,
        "proxy.max_message_bytes",
        limits::MIN_MESSAGE_BYTES..=limits::MAX_MESSAGE_BYTES,
        issues,
    );
    let max_in_flight = in_flight(raw.max_in_flight, "proxy.max_in_flight", issues);
    let upstreams = upstream::all(raw.upstreams, ctx, issues);
    let [request_timeout, connection_timeout, shutdown_grace] = timeouts?;
    Some(ProxyConfig {
        upstreams: upstreams?,
        request_timeout,
        connection_timeout,
        shutdown_grace,
        max_message_bytes: max_message_bytes?.unwrap_or(limits::DEFAULT_MAX_MESSAGE_BYTES),
        max_in_flight: max_in_flight?.unwrap_or(limits::DEFAULT_MAX_IN_FLIGHT),
    })
}

/// `[request_timeout, connection_timeout, shutdown_grace]`.
fn timeouts(raw: Option<RawTimeouts>, issues: &mut Issues) -> Option<[Duration; 3]> {
    let (request, connection, grace) = raw.map_or((None, None, None), |t| {
        (t.request_timeout, t.connection_timeout, t.shutdown_grace)
    });
    let request = duration(request, "proxy.timeouts.request_timeout", issues);
    let connection = duration(connection, "proxy.timeouts.connection_timeout", issues);
    let grace = duration(grace, "proxy.timeouts.shutdown_grace", issues);
    Some([
        request?.unwrap_or(limits::DEFAULT_REQUEST_TIMEOUT),
        connection?.unwrap_or(limits::DEFAULT_CONNECTION_TIMEOUT),
        grace?.unwrap_or(limits::DEFAULT_SHUTDOWN_GRACE),
    ])
}

/// A timeout in seconds: finite, positive, at most [`limits::MAX_TIMEOUT`]. `Some(None)` = absent.
pub(crate) fn duration(
    raw: Option<Number>,
    key: &str,
    issues: &mut Issues,
) -> Option<Option<Duration>> {
    let Some(Number(secs)) = raw else {
        return Some(None);
    };
    let max = limits::MAX_TIMEOUT.as_secs_f64();
    if !(secs.is_finite() && secs > 0.0 && secs <= max) {
        issues.push(
            key,
            format!("must be a number of seconds greater than 0 and at most {max}, found {secs}"),
        );
        return None;
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(duration) => Some(Some(duration)),
        Err(err) => {
            issues.push(key, format!("not a usable duration: {err}"));
            None
        }
    }
}

/// An in-flight limit in `1..=MAX_IN_FLIGHT`. `Some(None)` = absent.
pub(crate) fn in_flight(raw: Option<u64>, key: &str, issues: &mut Issues) -> Option<Option<usize>> {
    bounded(raw, key, 1..=limits::MAX_IN_FLIGHT, issues)
}

/// An integer within `range`, as `usize`. `Some(None)` = absent.
fn bounded(
    raw: Option<u64>,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
    issues: &mut Issues,
) -> Option<Option<usize>> {
    let Some(value) = raw else {
        return Some(None);
    };
    match usize::try_from(value) {
        Ok(fits) if range.contains(&value) => Some(Some(fits)),
        _ => {
            issues.push(
                key,
                format!(
                    "must be from {} to {}, found {value}",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

fn logging(
    raw: Option<RawLogging>,
    ctx: &Context<'_>,
    issues: &mut Issues,
) -> Option<LoggingConfig> {
    let mut config = LoggingConfig::default();
    let Some(raw) = raw else {
        return Some(config);
    };
    let reported_before = issues.total();
    if let Some(level) = &raw.level {
        match parse_level(level) {
            Some(parsed) => config.level = parsed,
            None => issues.push(
                "logging.level",
                format!("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; found {level:?}"),
            ),
        }
    }
    if let Some(handlers) = &raw.handlers {
        config.handlers.clear();
        for (i, name) in handlers.iter().enumerate() {
            let key = index_key("logging.handlers", i);
            let handler = match name.as_str() {
                "stderr" => LogHandler::Stderr,
                "file" => LogHandler::File,
                other => {
                    issues.push(
                        key,
                        format!("must be \"stderr\" or \"file\", found {other:?}"),
                    );
                    continue;
                }
            };
            if config.handlers.contains(&handler) {
                issues.push(key, format!("{name:?} is listed twice"));
            }
            config.handlers.push(handler);
        }
    }
    if let Some(file_path) = &raw.file_path {
        config.file_path = ctx.path(file_path, "logging.file_path", issues);
    } else if config.handlers.contains(&LogHandler::File) && !issues.touches("logging.file_path") {
        issues.push(
            "logging.file_path",
            "required when `logging.handlers` contains \"file\"",
        );
    }
    if let Some(Number(mb)) = raw.max_file_size_mb {
        let max = limits::MAX_FILE_SIZE_MB as f64;
        if mb.is_finite() && mb > 0.0 && mb <= max {
            // In range, so both casts are exact enough and cannot overflow.
            config.max_file_bytes = ((mb * 1024.0 * 1024.0).round() as u64).max(1);
            config.max_file_size_mb = mb.ceil() as u64;
        } else {
            issues.push(
                "logging.max_file_size_mb",
                format!("must be greater than 0 and at most {max}, found {mb}"),
            );
        }
    }
    if let Some(backups) = raw.backup_count {
        if backups <= limits::MAX_BACKUP_COUNT {
            config.backup_count = backups;
        } else {
            let message = format!(
                "must be from 0 to {}, found {backups}",
                limits::MAX_BACKUP_COUNT
            );
            issues.push("logging.backup_count", message);
        }
    }
    config.format = raw.format;
    config.date_format = raw.date_format;
    (issues.total() == reported_before).then_some(config)
}

/// Python's level names, in any case (Gatekit upper-cases them before `logging.getLevelName`).
fn parse_level(name: &str) -> Option<LogLevel> {
    const LEVELS: [LogLevel; 5] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
    ];
    LEVELS
        .into_iter()
        .find(|level| level.as_str().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_must_be_positive_finite_and_bounded() {
        let mut issues = Issues::default();
        assert_eq!(
            duration(Some(Number(1.5)), "k", &mut issues),
            Some(Some(Duration::from_millis(1500)))
        );
        assert_eq!(duration(None, "k", &mut issues), Some(None));
        assert!(issues.is_empty());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e12] {
            assert_eq!(duration(Some(Number(bad)), "k", &mut issues), None);
        }
        assert_eq!(issues.into_vec().len(), 5);
    }

    #[test]
    fn levels_parse_in_any_case() {
        assert_eq!(parse_level("warning"), Some(LogLevel::Warning));
        assert_eq!(parse_level("CRITICAL"), Some(LogLevel::Critical));
        assert_eq!(parse_level("WARN"), None);
    }
}

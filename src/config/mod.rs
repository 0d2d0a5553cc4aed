//! Configuration: Python Gatekit 0.3.0's YAML schema (GATEKIT.md §3), loaded strictly, plus a few
//! gatekit extensions (per-upstream `env`, `cwd`, `request_timeout`, `max_in_flight`; proxy-wide
//! `max_message_bytes`, `max_in_flight`, `timeouts.shutdown_grace`).
//!
//! Loading is `text → YAML value → shape walk → raw serde structs → validated Config`:
//! `parse` owns the first three, `validate` (with `upstream`, `plugins` and `paths`)
//! the last. What the rest of gatekit gets is already resolved: absolute paths, expanded commands,
//! `Duration`s, defaults filled in.
//!
//! Invariants of a loaded [`Config`]:
//! - every key in the file was known, well-typed and in range; nothing was silently ignored — keys
//!   of Gatekit features gatekit lacks (plugins, HTTP transports, sandboxing, hot reload) are
//!   "not supported yet" errors;
//! - upstream names are unique, non-empty, `[A-Za-z0-9_-]` only, without `__` and not ending in `_`;
//! - every upstream has a non-empty `command`, and at least one upstream is enabled;
//! - every path is absolute (relative ones were resolved against the config file's folder).
//!
//! Errors ([`ConfigError::Invalid`]) list every issue found, each with its key path.

mod error;
mod parse;
mod paths;
mod plugins;
mod schema;
mod upstream;
mod validate;

pub use error::{ConfigError, Issue, DOCUMENT_KEY, MAX_ISSUES, UNSUPPORTED};
pub use validate::limits;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A validated gatekit configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The config file, canonicalized when it exists.
    pub path: PathBuf,
    /// The folder holding the config file: the base of every relative path in it.
    pub dir: PathBuf,
    /// `proxy:`.
    pub proxy: ProxyConfig,
    /// `logging:` (defaults when absent).
    pub logging: LoggingConfig,
}

impl Config {
    /// The upstreams to start (`enabled: true`), in file order.
    pub fn enabled_upstreams(&self) -> impl Iterator<Item = &UpstreamConfig> {
        self.proxy.upstreams.iter().filter(|u| u.enabled)
    }
}

/// `proxy:`: the gateway itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// Every upstream in file order, disabled ones included (they stay known for reloads).
    pub upstreams: Vec<UpstreamConfig>,
    /// `timeouts.request_timeout` (default 60 s): deadline of one upstream request.
    pub request_timeout: Duration,
    /// `timeouts.connection_timeout` (default 60 s): how long an upstream may take to answer `initialize`.
    pub connection_timeout: Duration,
    /// Extension `timeouts.shutdown_grace` (default 5 s): how long shutdown drains before killing.
    pub shutdown_grace: Duration,
    /// Extension `max_message_bytes` (default 16 MiB): the largest frame accepted on any stream.
    pub max_message_bytes: usize,
    /// Extension `max_in_flight` (default 1024, 1..=1_000_000): pending requests per upstream.
    pub max_in_flight: usize,
}

/// One entry of `proxy.upstreams`: an MCP server run as a child process over stdio.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamConfig {
    /// The namespace prefix (`name__tool`). Non-empty, unique, only ASCII letters, digits, `_` and
    /// `-`, no `__`, and no trailing `_` (`a_` + `__` + `t` would split as `a` + `_t`).
    pub name: String,
    /// `enabled` (default true).
    pub enabled: bool,
    /// Program and arguments, non-empty; `~` and `${VAR}` expanded in every element, and a relative
    /// program path containing `/` resolved against the config folder (bare names use `PATH`).
    pub command: Vec<String>,
    /// Extension: variables added to the inherited environment (values `${VAR}`-expanded; no `~`).
    pub env: BTreeMap<String, String>,
    /// Extension: working directory (absolute; it existed at load time).
    pub cwd: Option<PathBuf>,
    /// `restart_on_failure` (default true): respawn after the process exits.
    pub restart_on_failure: bool,
    /// `max_restart_attempts` (default 3).
    pub max_restart_attempts: u32,
    /// Extension: overrides [`ProxyConfig::request_timeout`].
    pub request_timeout: Option<Duration>,
    /// Extension: overrides [`ProxyConfig::max_in_flight`].
    pub max_in_flight: Option<usize>,
    /// `server_identity`: the last-known `serverInfo.name` (Gatekit TUI bookkeeping; informational).
    pub server_identity: Option<String>,
}

impl UpstreamConfig {
    /// This upstream's request deadline: its own override, else the proxy-wide value.
    pub fn effective_request_timeout(&self, proxy: &ProxyConfig) -> Duration {
        self.request_timeout.unwrap_or(proxy.request_timeout)
    }

    /// This upstream's in-flight limit: its own override, else the proxy-wide value.
    pub fn effective_max_in_flight(&self, proxy: &ProxyConfig) -> usize {
        self.max_in_flight.unwrap_or(proxy.max_in_flight)
    }
}

/// `logging:`: the gateway's own log (never stdout, which carries the protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingConfig {
    /// `level` (default INFO).
    pub level: LogLevel,
    /// `handlers` (default `[stderr]`); an empty list turns logging off.
    pub handlers: Vec<LogHandler>,
    /// `file_path`, resolved; always set when `handlers` contains [`LogHandler::File`].
    pub file_path: Option<PathBuf>,
    /// `max_file_size_mb` (default 10), rounded up to whole MiB; see [`Self::max_file_bytes`].
    pub max_file_size_mb: u64,
    /// `max_file_size_mb` exactly, in bytes (Gatekit takes fractional megabytes): the file rotates
    /// before a write would take it past this size.
    pub max_file_bytes: u64,
    /// `backup_count` (default 5): rotated files kept as `file.1` .. `file.N`.
    pub backup_count: u32,
    /// `format`: a Python `logging` format string (`%(asctime)s [%(levelname)s] ...`).
    pub format: Option<String>,
    /// `date_format`: a `strftime` pattern for `%(asctime)s`.
    pub date_format: Option<String>,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: LogLevel::Info,
            handlers: vec![LogHandler::Stderr],
            file_path: None,
            max_file_size_mb: limits::DEFAULT_MAX_FILE_SIZE_MB,
            max_file_bytes: limits::DEFAULT_MAX_FILE_BYTES,
            backup_count: limits::DEFAULT_BACKUP_COUNT,
            format: None,
            date_format: None,
        }
    }
}

/// `logging.level`, with Python's names (case-insensitive in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `DEBUG`
    Debug,
    /// `INFO`
    Info,
    /// `WARNING`
    Warning,
    /// `ERROR`
    Error,
    /// `CRITICAL`: tracing has no such level, so it logs errors only, like `ERROR`.
    Critical,
}

impl LogLevel {
    /// The spelling in Gatekit files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }

    /// The most verbose `tracing` level that passes.
    pub fn as_tracing(self) -> tracing::Level {
        match self {
            Self::Debug => tracing::Level::DEBUG,
            Self::Info => tracing::Level::INFO,
            Self::Warning => tracing::Level::WARN,
            Self::Error | Self::Critical => tracing::Level::ERROR,
        }
    }
}

/// One entry of `logging.handlers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogHandler {
    /// `stderr`
    Stderr,
    /// `file`: written to [`LoggingConfig::file_path`], size-rotated.
    File,
}

/// Reads, parses, validates and resolves the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_error)?;
    let canonical = std::fs::canonicalize(path).map_err(read_error)?;
    match String::from_utf8(bytes) {
        Ok(text) => load_resolved(&text, canonical, &process_env),
        Err(_) => Err(ConfigError::Invalid {
            path: canonical,
            issues: vec![Issue::new(DOCUMENT_KEY, "the file is not valid UTF-8")],
        }),
    }
}

/// Like [`load`], from text; relative paths resolve against `config_path`'s folder. Never panics.
pub fn load_str(yaml: &str, config_path: &Path) -> Result<Config, ConfigError> {
    let path = std::fs::canonicalize(config_path)
        .or_else(|_| std::path::absolute(config_path))
        .unwrap_or_else(|_| config_path.to_path_buf());
    load_resolved(yaml, path, &process_env)
}

fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The whole pipeline, with the environment injected (unit tests use a fixed one).
fn load_resolved(
    yaml: &str,
    path: PathBuf,
    env: paths::EnvLookup<'_>,
) -> Result<Config, ConfigError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut issues = error::Issues::default();
    let ctx = validate::Context { dir: &dir, env };
    let proxy_logging =
        parse::document(yaml, &mut issues).and_then(|raw| validate::root(raw, &ctx, &mut issues));
    match proxy_logging {
        Some((proxy, logging)) if issues.is_empty() => Ok(Config {
            path,
            dir,
            proxy,
            logging,
        }),
        _ => {
            if issues.is_empty() {
                // Defensive: every failing step reports first, but an error must never be empty.
                issues.push(DOCUMENT_KEY, "invalid configuration");
            }
            Err(ConfigError::Invalid {
                path,
                issues: issues.into_vec(),
            })
        }
    }
}

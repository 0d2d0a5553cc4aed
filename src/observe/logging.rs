//! The gateway's own log: a global `tracing` subscriber built from `logging:` in the config.
//!
//! Invariants:
//! - Never stdout: in stdio mode stdout is the MCP protocol channel. Targets are stderr and/or a
//!   size-rotated file (`file`, `file.1` .. `file.N`, Python `RotatingFileHandler` semantics).
//! - Emitting an event never blocks: records go through a bounded queue to one writer thread, and
//!   are dropped and counted when it falls behind (see the writer module for why).
//! - Records are rendered with the config's Python `format`/`date_format` (Gatekit's defaults when
//!   absent), so logs read as Gatekit's did.
//!
//! Level: `RUST_LOG`, when set and non-empty, wins; else `--verbose` forces DEBUG; else
//! `logging.level`. With `handlers: []` nothing is installed and every event is a no-op.

mod pyformat;
mod render;
mod rotate;
mod writer;

pub use writer::LogGuard;

use crate::config::{LogHandler, LoggingConfig};
use std::path::PathBuf;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The log file (or its folder) could not be opened or created.
    #[error("cannot open log file {}: {source}", path.display())]
    OpenFile {
        /// `logging.file_path`.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file handler is configured without a path (a config that did not come from `load`).
    #[error("logging.handlers contains \"file\" but logging.file_path is not set")]
    MissingFilePath,
    /// `logging.date_format` contains a NUL byte.
    #[error("logging.date_format must not contain a NUL byte")]
    DateFormat,
    /// `RUST_LOG` is set but is not a valid filter.
    #[error("invalid RUST_LOG: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// The writer thread could not be started.
    #[error("cannot start the log writer thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// A global subscriber was installed already.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Installs the global tracing subscriber from the config: never stdout. Stderr and/or a
/// size-rotated file (`max_file_size_mb`, `backup_count` → `file.1` .. `file.N`) written through a
/// non-blocking bounded writer thread: our stderr is a pipe the MCP client may stop reading, and a
/// blocking write there must never stall a runtime worker (the writer module explains it). A
/// `verbose` flag forces DEBUG; `RUST_LOG`, when set, overrides the level. Returns a guard that
/// flushes on drop (waiting at most 2 s).
pub fn init(cfg: &LoggingConfig, verbose: bool) -> Result<LogGuard, LoggingError> {
    if cfg.handlers.is_empty() {
        return Ok(LogGuard::inert());
    }
    let filter = filter(cfg, verbose, std::env::var("RUST_LOG").ok().as_deref())?;
    let format = pyformat::PyFormat::new(cfg.format.as_deref(), cfg.date_format.as_deref())
        .map_err(|_| LoggingError::DateFormat)?;
    let file = if cfg.handlers.contains(&LogHandler::File) {
        let path = cfg
            .file_path
            .as_deref()
            .ok_or(LoggingError::MissingFilePath)?;
        let file = rotate::RotatingFile::open(path, cfg.max_file_bytes, cfg.backup_count).map_err(
            |source| LoggingError::OpenFile {
                path: path.to_path_buf(),
                source,
            },
        )?;
        Some(file)
    } else {
        None
    };
    let targets = writer::Targets {
        stderr: cfg.handlers.contains(&LogHandler::Stderr),
        file,
    };
    let (make_writer, guard) = writer::spawn(targets).map_err(LoggingError::Spawn)?;
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(make_writer)
        .event_format(format);
    // The level filter applies to the log only, so tokio-console (feature `console`) still sees
    // the runtime's own trace-level instrumentation.
    let registry = tracing_subscriber::registry().with(layer.with_filter(filter));
    #[cfg(feature = "console")]
    let registry = registry.with(console_subscriber::spawn());
    registry
        .try_init()
        .map_err(|_| LoggingError::AlreadyInstalled)?;
    Ok(guard)
}

/// The level filter: `RUST_LOG` (if set and non-empty), else DEBUG if `verbose`, else the config.
fn filter(
    cfg: &LoggingConfig,
    verbose: bool,
    rust_log: Option<&str>,
) -> Result<EnvFilter, LoggingError> {
    if let Some(directives) = rust_log.filter(|d| !d.trim().is_empty()) {
        return Ok(EnvFilter::builder().parse(directives)?);
    }
    let level = if verbose {
        LevelFilter::DEBUG
    } else {
        LevelFilter::from_level(cfg.level.as_tracing())
    };
    Ok(EnvFilter::default().add_directive(level.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogLevel;
    use tracing::level_filters::LevelFilter;

    fn max_level(
        cfg: &LoggingConfig,
        verbose: bool,
        rust_log: Option<&str>,
    ) -> Option<LevelFilter> {
        filter(cfg, verbose, rust_log)
            .ok()
            .and_then(|f| f.max_level_hint())
    }

    #[test]
    fn rust_log_beats_verbose_beats_config() {
        let cfg = LoggingConfig {
            level: LogLevel::Warning,
            ..LoggingConfig::default()
        };
        assert_eq!(max_level(&cfg, false, None), Some(LevelFilter::WARN));
        assert_eq!(max_level(&cfg, true, None), Some(LevelFilter::DEBUG));
        assert_eq!(
            max_level(&cfg, true, Some("error")),
            Some(LevelFilter::ERROR)
        );
        assert_eq!(max_level(&cfg, false, Some("  ")), Some(LevelFilter::WARN));
        assert!(filter(&cfg, false, Some("gatekit=notalevel")).is_err());
    }

    #[test]
    fn events_render_in_the_python_format() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gk.log");
        let file = rotate::RotatingFile::open(&path, 1 << 20, 1)?;
        let (make_writer, guard) = writer::spawn(writer::Targets {
            stderr: false,
            file: Some(file),
        })?;
        let format = pyformat::PyFormat::new(Some("[%(levelname)s] %(name)s: %(message)s"), None)?;
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(make_writer)
                .event_format(format),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("upstream", name = "fs");
            let _entered = span.enter();
            tracing::warn!(target: "gatekit::test", attempts = 3, "restarting");
        });
        guard.flush();
        let text = std::fs::read_to_string(&path)?;
        assert_eq!(
            text,
            "[WARNING] gatekit::test: upstream{name=\"fs\"}: restarting attempts=3\n"
        );
        Ok(())
    }
}

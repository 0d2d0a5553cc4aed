//! `observe::logging::init` from a loaded `logging:` section: the Gatekit line format, the level,
//! rotation into `file.1 .. file.N`, and the guard's flush. One test: the subscriber is global.

use gatekit::config::{self, LogHandler};
use gatekit::observe::logging::{self, LoggingError};
use std::path::Path;

#[test]
fn file_logging_uses_gatekit_format_levels_and_rotation() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let yaml = "\
proxy:
  transport: stdio
  upstreams: {name: a, command: [a]}
logging:
  level: info
  handlers: [file]
  file_path: logs/gatekit.log
  backup_count: 2
";
    let mut cfg = config::load_str(yaml, &dir.path().join("gatekit.yaml"))?.logging;
    assert_eq!(cfg.handlers, [LogHandler::File]);
    // A tiny limit (the schema's smallest is 1 MiB) so a few lines rotate.
    cfg.max_file_bytes = 300;
    let guard = logging::init(&cfg, false)?;
    assert!(matches!(
        logging::init(&cfg, false),
        Err(LoggingError::AlreadyInstalled)
    ));

    for i in 0..30 {
        tracing::info!(line = i, "hello from the test");
    }
    tracing::debug!("filtered out at INFO");
    drop(guard);
    // After the guard is gone, logging is a silent no-op.
    tracing::warn!("nobody hears this");

    let path = dir.path().join("logs/gatekit.log");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let current = read(&path);
    let (one, two) = (
        read(&path.with_extension("log.1")),
        read(&path.with_extension("log.2")),
    );
    assert!(!path.with_extension("log.3").exists());
    for file in [&current, &one, &two] {
        assert!(!file.is_empty() && file.len() <= 300, "{file:?}");
    }
    // Gatekit's default format: `%(asctime)s [%(levelname)s] %(name)s: %(message)s`.
    let last = current.lines().last().unwrap_or_default();
    let (date, rest) = last.split_at(last.find(" [").unwrap_or(0));
    assert_eq!(date.len(), "2025-01-12 15:30:45".len(), "{last}");
    assert!(
        date.chars()
            .all(|c| c.is_ascii_digit() || " -:".contains(c)),
        "{last}"
    );
    assert_eq!(rest, " [INFO] config_logging: hello from the test line=29");
    let all = format!("{two}{one}{current}");
    if std::env::var_os("RUST_LOG").is_none() {
        assert!(
            !all.contains("filtered out") && !all.contains("nobody hears"),
            "{all}"
        );
    }
    // Rotation keeps whole records, newest last, and the oldest ones fall off.
    let numbers: Vec<u32> = all
        .lines()
        .filter_map(|l| l.rsplit("line=").next()?.parse().ok())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    assert_eq!(numbers.last(), Some(&29));
    assert!(
        numbers[0] > 0,
        "the oldest records were rotated away: {numbers:?}"
    );
    Ok(())
}

//! [`Behaviour`]: the parsed flags plus everything derived from them once (list pages, the default
//! payload, the record file, the counters), shared read-only by every session.
//!
//! Invariant: building a `Behaviour` is the only place that can fail on bad configuration; a
//! running session never re-validates flags.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use clap::Parser;

use super::args::MockArgs;
use super::catalog::Catalog;
use super::stats::Stats;

/// The largest payload a call may ask for (`payload.size`, `oversize.bytes`, `stderr_flood.bytes`):
/// well above the 16 MiB the benchmarks need, low enough that a typo cannot exhaust memory.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024 * 1024;

/// Why a behaviour could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BehaviourError {
    /// The flags did not parse.
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// `--record` could not be opened.
    #[error("cannot open record file {path}: {source}")]
    Record {
        /// The file given to `--record`.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A flag value is out of range.
    #[error("invalid flag: {0}")]
    Invalid(String),
}

/// How the mock behaves: flags plus the data built from them.
#[derive(Debug)]
pub struct Behaviour {
    /// The flags this behaviour was built from.
    pub args: MockArgs,
    /// Process-wide counters (all sessions).
    pub stats: Stats,
    pub(crate) catalog: Catalog,
    /// The `payload` tool's default text, built once.
    pub(crate) default_payload: Bytes,
    /// `--record`: append-only copy of all input. A blocking write per read chunk is acceptable:
    /// recording is a test feature and the file is local.
    record: Option<Mutex<File>>,
}

/// `len` bytes of JSON-safe text (no escaping needed), deterministic.
pub(crate) fn payload_text(len: usize) -> Bytes {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    ALPHABET
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect::<Vec<u8>>()
        .into()
}

/// `len` deterministic binary bytes for base64 blobs (every byte value appears).
pub(crate) fn payload_binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) % 256) as u8).collect()
}

impl Behaviour {
    /// Builds a behaviour from parsed flags.
    pub fn from_args(args: MockArgs) -> Result<Self, BehaviourError> {
        if args.payload_bytes > MAX_PAYLOAD_BYTES {
            return Err(BehaviourError::Invalid(format!(
                "--payload-bytes {} exceeds {MAX_PAYLOAD_BYTES}",
                args.payload_bytes
            )));
        }
        if args.max_line_bytes < 2 {
            return Err(BehaviourError::Invalid(
                "--max-line-bytes must be >= 2".into(),
            ));
        }
        if args.garbage_every == Some(0) {
            return Err(BehaviourError::Invalid(
                "--garbage-every must be >= 1".into(),
            ));
        }
        let record = match &args.record {
            None => None,
            Some(path) => Some(Mutex::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| BehaviourError::Record {
                        path: path.clone(),
                        source,
                    })?,
            )),
        };
        Ok(Self {
            catalog: Catalog::new(args.page_size, args.extra_tools, args.resources),
            default_payload: payload_text(args.payload_bytes),
            stats: Stats::default(),
            record,
            args,
        })
    }

    /// Parses flags (the first item is the program name, as with `std::env::args`) and builds.
    pub fn parse_from<I, T>(args: I) -> Result<Self, BehaviourError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::from_args(MockArgs::try_parse_from(args)?)
    }

    /// Appends raw input bytes to the record file, if recording.
    pub(crate) fn record(&self, bytes: &[u8]) {
        if let Some(file) = &self.record {
            // A poisoned lock only means another session panicked mid-write; keep recording.
            let mut f = file
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(e) = f.write_all(bytes) {
                tracing::warn!(error = %e, "cannot append to record file");
            }
        }
    }
}

impl Default for Behaviour {
    /// The behaviour of a bare `gatekit-mock` (no flags).
    fn default() -> Self {
        let args = MockArgs::default();
        Self {
            catalog: Catalog::new(args.page_size, args.extra_tools, args.resources),
            default_payload: payload_text(args.payload_bytes),
            stats: Stats::default(),
            record: None,
            args,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_from_flags_and_rejects_bad_values() {
        let b = Behaviour::parse_from(["gatekit-mock", "--payload-bytes", "10"]).expect("ok");
        assert_eq!(b.default_payload.len(), 10);
        assert!(Behaviour::parse_from(["gatekit-mock", "--garbage-every", "0"]).is_err());
        assert!(Behaviour::parse_from(["gatekit-mock", "--bogus"]).is_err());
        assert!(Behaviour::parse_from(["gatekit-mock", "--record", "/nonexistent/dir/x"]).is_err());
    }

    #[test]
    fn payload_text_is_json_safe() {
        let t = payload_text(1000);
        assert_eq!(t.len(), 1000);
        assert!(t.iter().all(u8::is_ascii_alphanumeric));
        let b = payload_binary(512);
        assert!((0..=255u8).all(|v| b.contains(&v)));
    }

    #[test]
    fn record_appends_exact_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rec");
        let b = Behaviour::parse_from([
            "gatekit-mock".as_ref(),
            "--record".as_ref(),
            path.as_os_str(),
        ])
        .expect("ok");
        b.record(b"{\"a\":1}\n{\"b\"");
        b.record(b":2}\n");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            b"{\"a\":1}\n{\"b\":2}\n"
        );
    }
}

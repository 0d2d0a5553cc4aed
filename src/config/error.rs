//! Config errors: what went wrong, and where in the file.
//!
//! Invariants: every [`Issue`] carries a non-empty key path (`proxy.upstreams[1].comand`); problems
//! with the document as a whole (YAML syntax, encoding) use [`DOCUMENT_KEY`]. The collector caps the
//! list at [`MAX_ISSUES`] so a pathological file cannot produce an unbounded report.

use std::fmt;
use std::path::PathBuf;

/// Key path used for problems that belong to the whole document rather than one key.
pub const DOCUMENT_KEY: &str = "<document>";

/// Prefix of every issue about a Gatekit feature gatekit does not implement yet.
pub const UNSUPPORTED: &str = "not supported yet";

/// At most this many issues are reported; past it the report says how many were left out. A human
/// fixes a config a few issues at a time, and a fuzzer's garbage must not build huge reports.
pub const MAX_ISSUES: usize = 64;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid gatekit (Gatekit 0.3.0) configuration.
    #[error("invalid configuration {}:{}", path.display(), IssueList(issues))]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Every problem found, in document order where possible.
        issues: Vec<Issue>,
    },
}

impl ConfigError {
    /// The issues of an [`ConfigError::Invalid`] error; empty for a read error.
    pub fn issues(&self) -> &[Issue] {
        match self {
            Self::Read { .. } => &[],
            Self::Invalid { issues, .. } => issues,
        }
    }
}

/// One problem, at one key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Dotted key path with list indices, e.g. `proxy.upstreams[1].comand`, or [`DOCUMENT_KEY`].
    pub key: String,
    /// What is wrong, in words a user acts on.
    pub message: String,
}

impl Issue {
    /// An issue at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    /// `key: message`, except a "not supported yet" message, which names its key itself
    /// (`not supported yet: proxy.transport = http`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.starts_with(UNSUPPORTED) && self.message.contains(&self.key) {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Renders issues one per line under the error's headline.
struct IssueList<'a>(&'a [Issue]);

impl fmt::Display for IssueList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for issue in self.0 {
            write!(f, "\n  - {issue}")?;
        }
        Ok(())
    }
}

/// Collects issues during one load, bounded by [`MAX_ISSUES`].
#[derive(Debug, Default)]
pub(crate) struct Issues {
    list: Vec<Issue>,
    dropped: usize,
}

impl Issues {
    /// Records an issue at `key` (an empty key becomes [`DOCUMENT_KEY`]).
    pub fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        if self.list.len() >= MAX_ISSUES {
            self.dropped += 1;
            return;
        }
        let mut key = key.into();
        if key.is_empty() {
            DOCUMENT_KEY.clone_into(&mut key);
        }
        self.list.push(Issue::new(key, message));
    }

    /// Whether some issue was already reported at `key` or below it, so a follow-up such as
    /// "required" for a key that was dropped after a type error is not reported twice.
    pub fn touches(&self, key: &str) -> bool {
        self.list.iter().any(|issue| {
            issue.key.strip_prefix(key).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
            })
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many issues were reported so far, capped ones included: a validation step compares it
    /// before and after to learn whether it found anything.
    pub fn total(&self) -> usize {
        self.list.len() + self.dropped
    }

    /// The final list; a summary issue stands in for any that were capped.
    pub fn into_vec(mut self) -> Vec<Issue> {
        if self.dropped > 0 {
            let message = format!("{} more issue(s) not shown", self.dropped);
            self.list.push(Issue::new(DOCUMENT_KEY, message));
        }
        self.list
    }
}

/// The `not supported yet: <key>[ = value]` issue text.
pub(crate) fn unsupported(key: &str, value: Option<&str>) -> String {
    match value {
        Some(value) => format!("{UNSUPPORTED}: {key} = {value}"),
        None => format!("{UNSUPPORTED}: {key}"),
    }
}

/// `parent.child`, or `child` at the root.
pub(crate) fn join_key(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// `parent[index]`.
pub(crate) fn index_key(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

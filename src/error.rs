//! The crate's error umbrella: what can stop the gateway binary before or outside a session.

use crate::config::ConfigError;
use crate::observe::logging::LoggingError;

/// Errors that end the gateway process (mapped to exit code 1, as Gatekit does).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Logging could not be set up.
    #[error("logging: {0}")]
    Logging(#[from] LoggingError),
    /// The runtime or the gateway's own stdio could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

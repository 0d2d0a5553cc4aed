//! Command-line arguments of `gatekit-gateway`, the same flags as Python Gatekit's
//! (`--config FILE [--verbose|-v] [--validate-only] [--version]`, GATEKIT.md §2).
//!
//! Parse only: the binary decides what the flags do. Bad flags exit 2 with clap's usage text.

use std::path::PathBuf;

/// `gatekit-gateway` arguments.
#[derive(Debug, clap::Parser)]
#[command(
    name = "gatekit-gateway",
    version,
    about = "A fast MCP gateway: one stdio MCP server in front of many, with Gatekit's config file"
)]
pub struct GatewayArgs {
    /// Path to the gatekit YAML configuration file (Gatekit 0.3.0 schema).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Log at DEBUG level, whatever the config says (RUST_LOG still wins).
    #[arg(short, long)]
    pub verbose: bool,

    /// Check the configuration, print `Configuration valid: <path>` and exit.
    #[arg(long)]
    pub validate_only: bool,
}

#[cfg(test)]
mod tests {
    use super::GatewayArgs;
    use clap::{CommandFactory, Parser};

    #[test]
    fn the_definition_is_consistent() {
        GatewayArgs::command().debug_assert();
    }

    #[test]
    fn parses_gatekit_flags() {
        let args = GatewayArgs::try_parse_from([
            "gatekit-gateway",
            "--config",
            "g.yaml",
            "-v",
            "--validate-only",
        ]);
        let args = args.map_err(|e| e.to_string());
        let args = args
            .as_ref()
            .map(|a| (a.config.to_str(), a.verbose, a.validate_only));
        assert_eq!(args, Ok((Some("g.yaml"), true, true)));
    }

    #[test]
    fn config_is_required_and_unknown_flags_fail() {
        assert!(GatewayArgs::try_parse_from(["gatekit-gateway"]).is_err());
        assert!(
            GatewayArgs::try_parse_from(["gatekit-gateway", "--config", "x", "--bogus"]).is_err()
        );
        let version = GatewayArgs::try_parse_from(["gatekit-gateway", "--version"]).map(|_| ());
        assert_eq!(
            version.map_err(|e| e.kind()),
            Err(clap::error::ErrorKind::DisplayVersion)
        );
    }
}

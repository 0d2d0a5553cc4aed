//! `gatekit-gateway`: args → config → runtime → gateway::run → exit code.
//!
//! Exit codes: 0 after a clean session, 1 for configuration errors or a session that could not
//! start (as Gatekit), 2 for bad flags (as clap). Set `GATEKIT_RUNTIME=current_thread` for
//! one-core deployments; the default is a multi-thread runtime.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use gatekit::cli::GatewayArgs;
use gatekit::transport::stdio::own_stdio;
use gatekit::transport::ProcessConnector;
use gatekit::{config, gateway, observe, shutdown};

fn main() -> ExitCode {
    let args = GatewayArgs::parse();
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: GatewayArgs) -> Result<u8, gatekit::error::Error> {
    let config = config::load(&args.config)?;
    if args.validate_only {
        #[allow(clippy::print_stdout)]
        {
            println!("Configuration valid: {}", args.config.display());
        }
        return Ok(0);
    }
    let _log = observe::logging::init(&config.logging, args.verbose)?;
    let runtime = match std::env::var("GATEKIT_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    };
    let report = runtime.block_on(async {
        let (r, w) = own_stdio()?;
        let report = gateway::run(
            &config,
            Arc::new(ProcessConnector),
            r,
            w,
            shutdown::signal(),
        )
        .await;
        Ok::<_, std::io::Error>(report)
    })?;
    // Children are reaped; nothing may keep the process alive past this point.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(report.exit_code as u8)
}

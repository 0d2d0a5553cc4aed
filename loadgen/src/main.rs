//! `gatekit-loadgen`: parse, build the runtime, execute, map the outcome to an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use loadgen::app::execute;
use loadgen::cli::{Cli, RuntimeKind};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match cli.runtime {
        RuntimeKind::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        RuntimeKind::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    match rt.block_on(execute(cli.command, &mut out, &mut err)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            ExitCode::from(e.exit_code())
        }
    }
}

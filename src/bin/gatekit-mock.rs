//! `gatekit-mock`: flags -> behaviour -> runtime -> one stdio session -> exit code.
//! Exit codes: 0 after stdin EOF (or the eof_no_newline fault), the crash fault's code, 1 on
//! setup errors, 2 on bad flags (clap).

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use gatekit::mock::{stdio, Behaviour, MockArgs, SessionEnd};

fn main() -> ExitCode {
    let args = MockArgs::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();

    let threads = args.threads;
    let behaviour = match Behaviour::from_args(args) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e:#}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(stdio::run(behaviour.clone()));
    // `writeln!` with errors ignored: if stderr shares the (now non-blocking) stdout pipe, a full
    // pipe must not become a panic at exit.
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "gatekit-mock stats: {}",
        behaviour.stats.snapshot().to_json()
    );
    let code = match result {
        Ok(SessionEnd::Crash { code }) => code,
        Ok(_) => 0,
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            1
        }
    };
    // Exit without dropping the runtime: tasks still waiting (a flood, a SIGTERM watcher, calls
    // abandoned after the drain timeout) must not hold the process open.
    std::process::exit(code)
}

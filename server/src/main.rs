use std::process::ExitCode;

use clap::Parser;
use latchd::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Some(Command::Seed(args)) => latchd::seed::run(args).and_then(|sessions| {
            for session in sessions {
                let line = serde_json::to_string(&session).map_err(|e| e.to_string())?;
                println!("{line}");
            }
            Ok(())
        }),
        // All database work queues on one connection, so a larger blocking
        // pool only adds threads waiting on its mutex: a burst of 10,000
        // event streams opening grew ~250 of them (stacks and malloc arenas,
        // ~3 KiB of every stream's measured memory).
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(16)
            .build()
            .map_err(|e| format!("can't start the runtime: {e}"))
            .and_then(|runtime| runtime.block_on(latchd::serve(cli.serve))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latchd: {message}");
            ExitCode::FAILURE
        }
    }
}

use std::process::ExitCode;

use anyhow::Context;
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
                let line = serde_json::to_string(&session)?;
                println!("{line}");
            }
            Ok(())
        }),
        // Database calls run on the database's own thread (db.rs). They
        // once ran on the blocking pool, where a burst of requests (or of
        // 10,000 event streams opening) parked a thread each, up to tokio's
        // 512, on the connection's mutex; what still uses the pool (name
        // lookups for SMTP) needs few.
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(8)
            .build()
            .context("can't start the runtime")
            .and_then(|runtime| runtime.block_on(latchd::serve(cli.serve))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `:#` writes the causes too: "can't open the database …: why".
            eprintln!("latchd: {error:#}");
            ExitCode::FAILURE
        }
    }
}

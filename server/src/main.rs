use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use latchd::config::{AdminCommand, Cli, Command};

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
        Some(Command::Admin(args)) => run_admin(args),
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

/// `latchd admin …`: one call to the running server of the database.
fn run_admin(args: latchd::config::AdminArgs) -> anyhow::Result<()> {
    let database = latchd::config::database_path(args.database)?;
    match args.command {
        AdminCommand::Revoke(revoke) => revoke_sessions(&database, revoke),
    }
}

#[cfg(unix)]
fn revoke_sessions(
    database: &std::path::Path,
    args: latchd::config::RevokeArgs,
) -> anyhow::Result<()> {
    use latchd::admin::{send, AdminAnswer, AdminRequest};
    let request = AdminRequest::Revoke {
        email: args.email,
        all: args.all,
    };
    match send(database, &request)? {
        AdminAnswer::Revoked { revoked } => {
            let noun = if revoked == 1 { "session" } else { "sessions" };
            println!("Signed out {revoked} {noun}.");
            Ok(())
        }
        AdminAnswer::Error { error } => anyhow::bail!("{error}"),
    }
}

#[cfg(not(unix))]
fn revoke_sessions(_: &std::path::Path, _: latchd::config::RevokeArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "latchd admin needs a Unix socket, which this platform's latchd does not offer yet"
    )
}

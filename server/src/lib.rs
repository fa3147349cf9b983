//! `latchd`, Latch's reference account server: passwordless sign-in by
//! emailed link or code, sessions per device, four ways to sign out, and a
//! live event stream — the whole of `docs/protocol.md` over axum and SQLite.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

pub mod admin;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
mod html;
pub mod http;
pub mod hub;
pub mod limits;
pub mod mail;
pub mod proxy;
pub mod secrets;
pub mod seed;
pub mod serve;
pub mod state;
pub mod store;

use clock::{duration_ms, Clock};
use config::ServeArgs;
use db::Db;
use hub::Hub;
use limits::IpLimiter;
use mail::{DevMailbox, Mailer};
pub use state::{AppState, Inner};
use store::Lifetimes;

/// How often expiry and idleness are swept (`docs/protocol.md`: at least once a minute).
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// Builds the state from flags; fails with a message a person can act on.
/// `local` is the bound address (the default public URL names its real port,
/// also when `--listen` asked for port 0).
pub fn build_state(
    args: ServeArgs,
    local: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<AppState> {
    let public_url = match &args.public_url {
        Some(url) => url.clone(),
        None => format!("http://{local}/")
            .parse()
            .context("can't derive --public-url from --listen")?,
    };
    let db = Db::open(&config::database_path(args.database.clone())?, Hub::new())?;
    let clock = Arc::new(Clock::default());
    let mailbox = args.dev.then(DevMailbox::default);
    let mailer = Mailer::new(
        public_url,
        &args.mail_from,
        args.smtp_url.as_ref(),
        mailbox,
        clock.clone(),
    )?;
    Ok(AppState(Arc::new(Inner {
        db,
        clock,
        lifetimes: Lifetimes {
            idle_ms: duration_ms(args.idle_timeout),
            absolute_ms: duration_ms(args.absolute_lifetime),
        },
        ip_limiter: IpLimiter::new(args.auth_requests_per_minute),
        config: args,
        mailer,
        log_salt: secrets::LogSalt::new(),
        shutdown,
    })))
}

/// Serves until SIGINT or SIGTERM, then closes event streams and finishes
/// the requests in flight.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    config::check(&args)?;
    let (stop, shutdown) = watch::channel(false);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("can't listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let database = config::database_path(args.database.clone())?;
    let state = build_state(args, local, shutdown)?;
    // Before the line below, so a lowered cap is in the log when it's read.
    let mut options = state.config.conn_options();
    options.max_connections = serve::fit_to_file_limit(options.max_connections);
    // Before the "listening" line, so whoever waits for it can call admin.
    let _admin = admin_socket(&state, &database)?;
    let signals = ShutdownSignals::listen();
    // Tests and scripts read this line to find an ephemeral port.
    println!("latchd listening on http://{local}");
    tracing::info!(%local, dev = state.config.dev, smtp = state.config.smtp_url.is_some(), "latchd started");

    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            if let Err(e) = sweeper.sweep().await {
                tracing::warn!(error = %e, "sweep failed; will try again");
            }
        }
    });

    let shutdown = state.shutdown.clone();
    let app = http::router(state);
    serve::run(listener, app, options, shutdown, async move {
        signals.recv().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    })
    .await;
    Ok(())
}

/// The admin socket (`latchd admin`), when this platform and the data dir
/// allow one. A server that can't create it still serves (a read-only data
/// dir, say), and says that `latchd admin` won't reach it; one that finds
/// another server answering there refuses to start.
#[cfg(unix)]
fn admin_socket(
    state: &AppState,
    database: &std::path::Path,
) -> anyhow::Result<Option<admin::AdminSocket>> {
    if let Some(path) = admin::answering(database) {
        // Two servers on one file would each tell only their own streams.
        anyhow::bail!(
            "another latchd is already serving {} (its admin socket {} answers)",
            database.display(),
            path.display()
        );
    }
    match admin::listen(state.clone(), database) {
        Ok(socket) => Ok(Some(socket)),
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "no admin socket: `latchd admin` won't reach this server");
            Ok(None)
        }
    }
}

#[cfg(not(unix))]
fn admin_socket(_: &AppState, _: &std::path::Path) -> anyhow::Result<Option<()>> {
    Ok(None)
}

/// SIGINT and SIGTERM, listened for from the moment this is made. It is
/// made before the "listening" line: a supervisor that signals as soon as it
/// reads that line would otherwise meet the default action, and latchd would
/// die without closing its streams or removing its admin socket.
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    fn listen() -> ShutdownSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            ShutdownSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        ShutdownSignals {}
    }

    /// Waits for the first of them.
    async fn recv(self) {
        #[cfg(unix)]
        {
            async fn next(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = next(self.interrupt) => {},
                _ = next(self.terminate) => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

//! `LatchClient`: the sign-in state machine wired to the server, the secret
//! store, the live event stream and the heartbeat. The window only asks and
//! renders: every change of state is published on watch channels that the
//! desktop shell forwards to the window (see [`LatchClient::connect`]).
//!
//! One file per concern, each an `impl LatchClient` block:
//! * here: the state ([`Core`], one [`Account`]) and publishing it;
//! * `lifecycle`: start-up (restoring the last run, the readiness gate) and
//!   the server;
//! * `sign_in`: links, codes and the token exchange;
//! * `links`: deep links from the OS, queued until the client is ready;
//! * `sessions`: what a signed-in device does with its sessions, and how a
//!   session ends;
//! * `background`: the event stream, the heartbeat and the lifetimes;
//! * `logout_queue`: "Log out" that still reaches a server that was offline;
//! * `persistence`: the secret store and `client-state.json`.

mod background;
mod lifecycle;
pub mod links;
mod logout_queue;
mod persistence;
mod sessions;
mod sign_in;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use latch_protocol::{normalize_name, Session};
use tokio::sync::{broadcast, watch, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::device::DeviceIdentity;
use crate::error::ClientError;
use crate::link_intake::LinkIntake;
use crate::secret_store::SecretStore;
use crate::server_url::ServerUrl;
use crate::state::SignInState;
use crate::status::Lifetimes;
use crate::view::{AuthState, SessionView, SessionsSnapshot};

/// Where an unconfigured debug build looks for `latchd --dev`.
const DEBUG_SERVER: &str = "http://127.0.0.1:8787";
/// The server to use when none is saved (tests, scripts/dev).
pub const SERVER_URL_ENV: &str = "LATCH_SERVER_URL";

/// Where the client keeps its files, what it starts with, and its timings
/// (settable so tests don't wait minutes).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub data_dir: PathBuf,
    /// The server to use when none is saved.
    pub server: Option<String>,
    /// This device's name when none is saved (else the computer's name).
    pub device_name: Option<String>,
    /// The shell's `settings.json` from before the client saved the server
    /// and the device name itself: read once, when `client-state.json` is
    /// older than version 1.
    pub legacy_settings: Option<PathBuf>,
    /// Follow `/v1/events` while signed in (off only to test the paths
    /// that don't depend on it).
    pub live_events: bool,
    /// Longest wait between reconnects of the event stream.
    pub backoff_cap: Duration,
    /// A stream silent this long is dead: reconnect.
    pub silence_timeout: Duration,
    /// A heartbeat this often while signed in, and on every change.
    pub heartbeat_every: Duration,
    /// No input or focus for this long: idle.
    pub idle_after: Duration,
    /// How often an offline "Log out" is retried.
    pub logout_retry_every: Duration,
    /// How far this computer's clock is off (tests set it to show that a
    /// wrong clock breaks nothing: every deadline comes from the server).
    pub clock_skew: chrono::Duration,
}

impl ClientConfig {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            server: None,
            device_name: None,
            legacy_settings: None,
            live_events: true,
            backoff_cap: Duration::from_secs(30),
            silence_timeout: Duration::from_secs(45),
            heartbeat_every: Duration::from_secs(60),
            idle_after: Duration::from_secs(5 * 60),
            logout_retry_every: Duration::from_secs(30),
            clock_skew: chrono::Duration::zero(),
        }
    }

    /// The app's: with no saved server, `LATCH_SERVER_URL`, else (debug
    /// builds) the local dev server, else none and the window asks.
    pub fn for_app(data_dir: PathBuf, legacy_settings: PathBuf) -> Self {
        let server = std::env::var(SERVER_URL_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| cfg!(debug_assertions).then(|| DEBUG_SERVER.to_owned()));
        Self {
            server,
            legacy_settings: Some(legacy_settings),
            ..Self::new(data_dir)
        }
    }
}

/// One account on one server: its sign-in, its session list and the
/// background work that keeps them fresh. One today; the accounts issue
/// keeps several side by side.
struct Account {
    /// `None` until a server is set (the state is then `NeedsServer`).
    api: Option<Api>,
    lifetimes: Lifetimes,
    state: SignInState,
    sessions: Vec<Session>,
    fetched_at: Option<chrono::DateTime<Utc>>,
    sessions_error: Option<String>,
    /// Ends the event stream and heartbeat of the current sign-in.
    background: Option<CancellationToken>,
    /// Counts sign-ins, so a late answer for an old one changes nothing.
    generation: u64,
}

impl Account {
    fn new() -> Self {
        Self {
            api: None,
            lifetimes: Lifetimes::default(),
            state: SignInState::NeedsServer,
            sessions: Vec::new(),
            fetched_at: None,
            sessions_error: None,
            background: None,
            generation: 0,
        }
    }
}

/// What belongs to this device rather than to an account.
struct Core {
    account: Account,
    device_name: String,
    last_input: Instant,
    focused: bool,
    /// Why the saved state couldn't be used, for the window.
    warning: Option<String>,
    /// Deep links refused before any window connected.
    unheard_link_errors: Vec<ClientError>,
}

struct Inner {
    config: ClientConfig,
    identity: DeviceIdentity,
    store: Arc<dyn SecretStore>,
    core: Mutex<Core>,
    auth: watch::Sender<AuthState>,
    sessions: watch::Sender<SessionsSnapshot>,
    /// Deep links refused, for the window.
    link_errors: broadcast::Sender<ClientError>,
    intake: LinkIntake,
    activity: Notify,
    /// Set once `start` has restored the last run: the readiness gate.
    ready: watch::Sender<bool>,
    /// One user operation at a time (request, exchange, sign-out…), so two
    /// clicks can't interleave their state changes.
    operation: tokio::sync::Mutex<()>,
    /// Held from reading the state to renaming its file into place, so two
    /// saves at once land in the order they read (and don't share the
    /// temporary file half-way).
    saving: Mutex<()>,
    logout_retry_running: std::sync::atomic::AtomicBool,
}

#[derive(Clone)]
pub struct LatchClient {
    inner: Arc<Inner>,
}

impl LatchClient {
    pub fn new(
        config: ClientConfig,
        identity: DeviceIdentity,
        store: Arc<dyn SecretStore>,
    ) -> Self {
        let device_name = config
            .device_name
            .as_deref()
            .and_then(|n| normalize_name(n).ok())
            .unwrap_or_else(|| identity.default_name.clone());
        let inner = Inner {
            config,
            identity,
            store,
            core: Mutex::new(Core {
                account: Account::new(),
                device_name,
                last_input: Instant::now(),
                focused: true,
                warning: None,
                unheard_link_errors: Vec::new(),
            }),
            auth: watch::channel(AuthState::NeedsServer).0,
            sessions: watch::channel(SessionsSnapshot::default()).0,
            link_errors: broadcast::channel(16).0,
            intake: LinkIntake::new(),
            activity: Notify::new(),
            ready: watch::channel(false).0,
            operation: tokio::sync::Mutex::new(()),
            saving: Mutex::new(()),
            logout_retry_running: std::sync::atomic::AtomicBool::new(false),
        };
        LatchClient {
            inner: Arc::new(inner),
        }
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        // A panic while holding this lock is a bug elsewhere; the state it
        // guards is still consistent (every write is a whole assignment).
        self.inner
            .core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This computer's idea of now (skewed in tests).
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc::now() + self.inner.config.clock_skew
    }

    /// Waits until `start` has restored the last run: anything asked
    /// before that would see a half-started client.
    pub async fn ready(&self) {
        let mut ready = self.inner.ready.subscribe();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// Waits until the client is [`ready`](Self::ready), then takes the
    /// operation lock: one action on the account at a time.
    async fn begin_operation(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.ready().await;
        self.inner.operation.lock().await
    }

    /// The sign-in state, now and as it changes (the window uses
    /// [`LatchClient::connect`]).
    pub fn subscribe_auth(&self) -> watch::Receiver<AuthState> {
        self.inner.auth.subscribe()
    }

    pub fn auth_state(&self) -> AuthState {
        self.inner.auth.borrow().clone()
    }

    pub fn sessions_snapshot(&self) -> SessionsSnapshot {
        self.inner.sessions.borrow().clone()
    }

    pub fn device_name(&self) -> String {
        self.core().device_name.clone()
    }

    pub fn server(&self) -> Option<ServerUrl> {
        self.core()
            .account
            .api
            .as_ref()
            .map(|api| api.server().clone())
    }

    /// Why the saved state was not used (a damaged file), for the window.
    pub fn warning(&self) -> Option<String> {
        self.core().warning.clone()
    }

    // ------------------------------------------------------------- output

    fn set_state(&self, state: SignInState) {
        self.core().account.state = state;
        self.persist();
        self.publish();
    }

    /// Sends the current state and list to every subscriber.
    ///
    /// Sent while the lock is held: two tasks publishing at once (the event
    /// stream applying an event, a command answering) would otherwise each
    /// read the state, let go of the lock and send, in either order, and the
    /// older state could be sent last and stay — a laptop signed out by "Log
    /// out of all devices" kept showing "signed in". Sending only swaps the
    /// value and wakes the receivers, and no receiver takes this lock while
    /// it borrows a value, so holding it costs nothing and can't deadlock.
    fn publish(&self) {
        let core = self.core();
        let now = self.now();
        let account = &core.account;
        let auth = match &account.state {
            SignInState::NeedsServer => AuthState::NeedsServer,
            SignInState::SignedOut { notice } => AuthState::SignedOut {
                notice: notice.clone(),
            },
            SignInState::AwaitingLink(p) => AuthState::AwaitingLink {
                email: p.email.clone(),
                flow_id: p.flow_id.0.clone(),
                expires_at: p.expires_at,
                resend_after: p.resend_after,
                device_name: p.device_name.clone(),
            },
            SignInState::SignedIn {
                account: who,
                session,
                ..
            } => AuthState::SignedIn {
                account: who.clone(),
                session: SessionView::of(session, &account.lifetimes, now),
            },
        };
        let mut sessions = account.sessions.clone();
        // Current first, then most recently active (the server's order,
        // kept when events add or change rows).
        sessions.sort_by(|a, b| {
            b.current
                .cmp(&a.current)
                .then(b.last_active_at.cmp(&a.last_active_at))
        });
        let snapshot = SessionsSnapshot {
            sessions: sessions
                .iter()
                .map(|s| SessionView::of(s, &account.lifetimes, now))
                .collect(),
            fetched_at: account.fetched_at,
            stale: account.sessions_error.is_some(),
            error: account.sessions_error.clone(),
        };
        self.inner
            .auth
            .send_if_modified(|current| replace_if_changed(current, auth));
        self.inner
            .sessions
            .send_if_modified(|current| replace_if_changed(current, snapshot));
        drop(core);
    }
}

fn upsert(sessions: &mut Vec<Session>, session: Session) {
    match sessions.iter_mut().find(|s| s.id == session.id) {
        Some(existing) => *existing = session,
        None => sessions.push(session),
    }
}

fn replace_if_changed<T: PartialEq>(current: &mut T, new: T) -> bool {
    if *current == new {
        false
    } else {
        *current = new;
        true
    }
}

//! `LatchClient`: the sign-in state machine wired to the server, the secret
//! store, the live event stream and the heartbeat. The window only asks and
//! renders: every change of state is published on two watch channels
//! (`auth` and `sessions`) that the desktop shell forwards as events.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use latch_protocol::{
    normalize_code, normalize_email, normalize_name, Event, FlowId, Revocation, RevocationReason,
    Session, SessionState, SessionToken,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::deep_link::DeepLink;
use crate::device::DeviceIdentity;
use crate::error::{ClientError, Result};
use crate::pkce::Pkce;
use crate::secret_store::SecretStore;
use crate::server_url::ServerUrl;
use crate::sse::SseDecoder;
use crate::state::{PendingFlow, SignInState};
use crate::status::{signed_out_message_local, Lifetimes};
use crate::view::{AuthState, SessionView, SessionsSnapshot, SignedOutNotice};

const TOKEN_KEY: &str = "session_token";
const VERIFIER_KEY: &str = "pending_verifier";
const PENDING_LOGOUTS_KEY: &str = "pending_logouts";
const STATE_FILE: &str = "client-state.json";

/// Timings, settable so tests don't wait minutes.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub data_dir: PathBuf,
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
            live_events: true,
            backoff_cap: Duration::from_secs(30),
            silence_timeout: Duration::from_secs(45),
            heartbeat_every: Duration::from_secs(60),
            idle_after: Duration::from_secs(5 * 60),
            logout_retry_every: Duration::from_secs(30),
            clock_skew: chrono::Duration::zero(),
        }
    }
}

/// What survives a restart besides the secrets (no secret in here).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Persisted {
    server: Option<String>,
    lifetimes: Option<Lifetimes>,
    pending: Option<PendingFlow>,
    signed_in: Option<(latch_protocol::Account, Session)>,
    notice: Option<SignedOutNotice>,
}

#[derive(Serialize, Deserialize)]
struct StoredVerifier {
    flow_id: FlowId,
    verifier: String,
}

#[derive(Serialize, Deserialize)]
struct PendingLogout {
    server: String,
    token: SessionToken,
}

struct Core {
    state: SignInState,
    api: Option<Api>,
    lifetimes: Lifetimes,
    device_name: String,
    sessions: Vec<Session>,
    fetched_at: Option<chrono::DateTime<Utc>>,
    sessions_error: Option<String>,
    /// Ends the event stream and heartbeat of the current sign-in.
    background: Option<CancellationToken>,
    /// Counts sign-ins, so a late answer for an old one changes nothing.
    generation: u64,
    last_input: Instant,
    focused: bool,
}

struct Inner {
    config: ClientConfig,
    identity: DeviceIdentity,
    store: Arc<dyn SecretStore>,
    core: Mutex<Core>,
    auth: watch::Sender<AuthState>,
    sessions: watch::Sender<SessionsSnapshot>,
    activity: Notify,
    /// One user operation at a time (request, exchange, sign-out…), so two
    /// clicks can't interleave their state changes.
    operation: tokio::sync::Mutex<()>,
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
        let device_name = identity.default_name.clone();
        let inner = Inner {
            config,
            identity,
            store,
            core: Mutex::new(Core {
                state: SignInState::NeedsServer,
                api: None,
                lifetimes: Lifetimes::default(),
                device_name,
                sessions: Vec::new(),
                fetched_at: None,
                sessions_error: None,
                background: None,
                generation: 0,
                last_input: Instant::now(),
                focused: true,
            }),
            auth: watch::channel(AuthState::NeedsServer).0,
            sessions: watch::channel(SessionsSnapshot::default()).0,
            activity: Notify::new(),
            operation: tokio::sync::Mutex::new(()),
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

    pub fn subscribe_auth(&self) -> watch::Receiver<AuthState> {
        self.inner.auth.subscribe()
    }

    pub fn subscribe_sessions(&self) -> watch::Receiver<SessionsSnapshot> {
        self.inner.sessions.subscribe()
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
        self.core().api.as_ref().map(|api| api.server().clone())
    }

    // ------------------------------------------------------------ lifecycle

    /// Restores what the last run left: a signed-in session, a pending flow
    /// (so a link clicked while Latch was closed still works), or the notice
    /// of why this device was signed out.
    pub async fn start(&self, server: Option<&str>, device_name: Option<&str>) {
        let _op = self.inner.operation.lock().await;
        if let Some(name) = device_name.and_then(|n| normalize_name(n).ok()) {
            self.core().device_name = name;
        }
        let persisted = self.load();
        let api = server
            .and_then(|s| ServerUrl::parse(s).ok())
            .and_then(|url| self.api_for(url).ok());
        let Some(api) = api else {
            self.set_state(SignInState::NeedsServer);
            return;
        };
        let same_server = persisted.server.as_deref() == Some(api.server().as_str());
        let now = self.now();
        let token = self.secret(TOKEN_KEY).map(SessionToken::new);
        let verifier = self.stored_verifier();
        let state = {
            let mut core = self.core();
            core.api = Some(api);
            core.lifetimes = persisted.lifetimes.unwrap_or_default();
            match (token, persisted.signed_in, persisted.pending) {
                (Some(token), Some((account, session)), _) if same_server => {
                    SignInState::SignedIn {
                        account,
                        session,
                        token,
                    }
                }
                (_, _, Some(pending))
                    if same_server
                        && pending.expires_at > now
                        && verifier
                            .as_ref()
                            .is_some_and(|v| v.flow_id == pending.flow_id) =>
                {
                    SignInState::AwaitingLink(pending)
                }
                _ => SignInState::SignedOut {
                    notice: persisted.notice.filter(|_| same_server),
                },
            }
        };
        if !matches!(state, SignInState::SignedIn { .. }) {
            self.forget(TOKEN_KEY);
        }
        if !matches!(state, SignInState::AwaitingLink(_)) {
            self.forget(VERIFIER_KEY);
        }
        let signed_in = matches!(state, SignInState::SignedIn { .. });
        self.set_state(state);
        if signed_in {
            self.start_background(Freshness::Restored);
        }
        self.spawn_lifetimes_refresh();
        self.spawn_logout_retries();
    }

    fn api_for(&self, server: ServerUrl) -> Result<Api> {
        Ok(Api::new(server, &self.inner.identity.user_agent())?
            .with_clock_skew(self.inner.config.clock_skew))
    }

    /// Points Latch at another server after checking it answers as one.
    /// A change signs this device out (the window confirms first).
    pub async fn set_server(&self, address: &str) -> Result<AuthState> {
        let url = ServerUrl::parse(address)?;
        let api = self.api_for(url)?;
        let info = api.server_info().await?;
        let _op = self.inner.operation.lock().await;
        if self.server().as_ref() == Some(api.server()) {
            self.core().lifetimes = lifetimes_of(&info);
            self.persist();
            return Ok(self.auth_state());
        }
        self.sign_out_locally(None);
        self.forget(VERIFIER_KEY);
        {
            let mut core = self.core();
            core.api = Some(api);
            core.lifetimes = lifetimes_of(&info);
        }
        self.set_state(SignInState::SignedOut { notice: None });
        self.spawn_logout_retries();
        Ok(self.auth_state())
    }

    /// Asks the current server what it is (`GET /v1/server`), changing
    /// nothing: for diagnostics.
    pub async fn server_info(&self) -> Result<latch_protocol::ServerInfo> {
        self.api()?.server_info().await
    }

    fn api(&self) -> Result<Api> {
        self.core()
            .api
            .clone()
            .ok_or_else(|| ClientError::InvalidServer("Set the server address first.".into()))
    }

    // -------------------------------------------------------------- sign-in

    pub async fn request_link(&self, email: &str) -> Result<AuthState> {
        let _op = self.inner.operation.lock().await;
        self.request_link_locked(email).await
    }

    async fn request_link_locked(&self, email: &str) -> Result<AuthState> {
        self.core().state.can_request_link()?;
        let email = normalize_email(email)
            .map_err(|e| ClientError::InvalidEmail(capitalise(&e.to_string())))?;
        let api = self.api()?;
        let device_name = self.device_name();
        let pkce = Pkce::generate();
        let device = self.inner.identity.device(&device_name);
        let started = api.email_link(&email, &pkce.challenge, &device).await?;
        let stored = StoredVerifier {
            flow_id: started.flow_id.clone(),
            verifier: pkce.verifier,
        };
        let json =
            serde_json::to_string(&stored).map_err(|e| ClientError::Server(e.to_string()))?;
        self.keep(VERIFIER_KEY, &json);
        self.forget_verifier_when_expired(&started.flow_id, started.expires_at);
        self.set_state(SignInState::AwaitingLink(PendingFlow {
            email,
            flow_id: started.flow_id,
            expires_at: started.expires_at,
            resend_after: started.resend_after,
            device_name,
        }));
        Ok(self.auth_state())
    }

    /// The verifier is useless after its flow expires: delete it then (the
    /// window still shows the expired flow, with "Send a new link").
    fn forget_verifier_when_expired(&self, flow_id: &FlowId, expires_at: chrono::DateTime<Utc>) {
        let me = self.clone();
        let flow_id = flow_id.clone();
        let wait = (expires_at - self.now()).to_std().unwrap_or_default();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if me.stored_verifier().is_some_and(|v| v.flow_id == flow_id) {
                me.forget(VERIFIER_KEY);
            }
        });
    }

    /// A new link to the same address (the server retires the old one).
    pub async fn resend_link(&self) -> Result<AuthState> {
        let _op = self.inner.operation.lock().await;
        let email = self
            .core()
            .state
            .pending()
            .map(|p| p.email.clone())
            .ok_or_else(|| {
                ClientError::NotPending("There is no sign-in to resend. Enter your email.".into())
            })?;
        self.request_link_locked(&email).await
    }

    /// "Use a different email": drops the pending flow and its verifier.
    pub async fn cancel_sign_in(&self) -> AuthState {
        let _op = self.inner.operation.lock().await;
        if self.core().state.pending().is_some() {
            self.forget(VERIFIER_KEY);
            self.set_state(SignInState::SignedOut { notice: None });
        }
        self.auth_state()
    }

    /// The code typed from the email (`ABCD-EFGH`, any case, hyphen optional).
    pub async fn submit_code(&self, typed: &str) -> Result<AuthState> {
        let _op = self.inner.operation.lock().await;
        let code = normalize_code(typed)
            .map_err(|e| ClientError::InvalidRequest(capitalise(&e.to_string())))?;
        let flow_id = self.core().state.flow_for_code(self.now())?.flow_id.clone();
        self.exchange(&flow_id, &code).await
    }

    /// A deep link from the OS. Only the pending flow's link is accepted;
    /// anything else is refused with a reason and changes nothing.
    pub async fn open_deep_link(&self, url: &str) -> Result<AuthState> {
        let link = DeepLink::parse(url).map_err(|e| ClientError::InvalidLink(e.to_string()))?;
        let _op = self.inner.operation.lock().await;
        let flow_id = self
            .core()
            .state
            .flow_for_link(&link, self.now())?
            .flow_id
            .clone();
        self.exchange(&flow_id, link.code()).await
    }

    async fn exchange(&self, flow_id: &FlowId, code: &str) -> Result<AuthState> {
        let verifier = self
            .stored_verifier()
            .filter(|v| &v.flow_id == flow_id)
            .ok_or(ClientError::FlowExpired)?;
        let api = self.api()?;
        let signed = api.token(flow_id, code, &verifier.verifier).await?;
        self.keep(TOKEN_KEY, signed.session_token.expose());
        self.forget(VERIFIER_KEY);
        if let Ok(name) = normalize_name(&signed.session.device.name) {
            self.core().device_name = name;
        }
        self.set_state(SignInState::SignedIn {
            account: signed.account,
            session: signed.session,
            token: signed.session_token,
        });
        tracing::info!("signed in");
        self.start_background(Freshness::JustSignedIn);
        Ok(self.auth_state())
    }

    // ---------------------------------------------------------- signed in

    fn signed_in(&self) -> Result<(Api, SessionToken, u64)> {
        let core = self.core();
        let (_, _, token) = core.state.signed_in()?;
        let api = core.api.clone().ok_or(ClientError::NotSignedIn)?;
        Ok((api, token.clone(), core.generation))
    }

    /// Runs a call as this session; a `session_revoked` answer signs this
    /// device out with the reason.
    async fn as_session<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: FnOnce(Api, SessionToken) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let (api, token, generation) = self.signed_in()?;
        let result = call(api, token).await;
        if let Err(ClientError::SessionEnded(revocation)) = &result {
            self.end_session(generation, revocation.clone());
        }
        result
    }

    /// Fetches the list from the server. Never fails for a server that is
    /// down: the last known list comes back marked stale, with why.
    pub async fn list_sessions(&self) -> SessionsSnapshot {
        match self
            .as_session(|api, token| async move { api.sessions(&token).await })
            .await
        {
            Ok(sessions) => {
                let mut core = self.core();
                if let Some(current) = sessions.iter().find(|s| s.current).cloned() {
                    // Renamed from another device while the stream was down:
                    // the list is the only news of it.
                    core.device_name = current.device.name.clone();
                    if let SignInState::SignedIn { session, .. } = &mut core.state {
                        *session = current;
                    }
                }
                core.sessions = sessions;
                core.fetched_at = Some(self.now());
                core.sessions_error = None;
            }
            Err(ClientError::NotSignedIn | ClientError::SessionEnded(_)) => {}
            Err(e) => self.core().sessions_error = Some(e.to_string()),
        }
        self.publish();
        self.sessions_snapshot()
    }

    pub async fn rename_session(&self, id: &str, name: &str) -> Result<SessionView> {
        let name = normalize_name(name)
            .map_err(|e| ClientError::InvalidName(format!("A device name {e}.")))?;
        let renamed = self
            .as_session(|api, token| async move { api.rename_session(&token, id, &name).await })
            .await?;
        {
            let mut core = self.core();
            if renamed.current {
                core.device_name = renamed.device.name.clone();
                if let SignInState::SignedIn { session, .. } = &mut core.state {
                    *session = renamed.clone();
                }
            }
            upsert(&mut core.sessions, renamed.clone());
        }
        self.publish();
        let lifetimes = self.core().lifetimes;
        Ok(SessionView::of(&renamed, &lifetimes, self.now()))
    }

    /// This device's name: shown in sign-in emails and, when signed in,
    /// renamed on the server too.
    pub async fn set_device_name(&self, name: &str) -> Result<String> {
        let name = normalize_name(name)
            .map_err(|e| ClientError::InvalidName(format!("A device name {e}.")))?;
        if self.signed_in().is_ok() {
            self.rename_session("current", &name).await?;
        } else {
            self.core().device_name = name;
            self.publish();
        }
        Ok(self.device_name())
    }

    pub async fn rename_account(&self, name: &str) -> Result<latch_protocol::Account> {
        let name = normalize_name(name)
            .map_err(|e| ClientError::InvalidName(format!("A display name {e}.")))?;
        let account = self
            .as_session(|api, token| async move { api.rename_account(&token, &name).await })
            .await?;
        if let SignInState::SignedIn {
            account: current, ..
        } = &mut self.core().state
        {
            *current = account.clone();
        }
        self.publish();
        self.persist();
        Ok(account)
    }

    pub async fn terminate(&self, id: &str) -> Result<()> {
        self.as_session(|api, token| async move { api.delete_session(&token, id).await })
            .await?;
        self.core().sessions.retain(|s| s.id.0 != id);
        self.publish();
        Ok(())
    }

    /// Signs out every other device; answers how many.
    pub async fn log_out_others(&self) -> Result<u32> {
        let count = self
            .as_session(|api, token| async move { api.revoke_others(&token).await })
            .await?;
        self.core().sessions.retain(|s| s.current);
        self.publish();
        Ok(count)
    }

    /// Signs out every device, this one included; answers how many.
    pub async fn log_out_everywhere(&self) -> Result<u32> {
        let (_, _, generation) = self.signed_in()?;
        let count = self
            .as_session(|api, token| async move { api.revoke_all(&token).await })
            .await?;
        let revocation = Revocation {
            reason: RevocationReason::LoggedOutEverywhere,
            by_device: Some(self.device_name()),
            at: self.now(),
        };
        self.end_session(generation, Some(revocation));
        Ok(count)
    }

    /// "Log out" of this device: signed out at once, even offline. The token
    /// is kept only to tell the server, and dropped on its 204 or 401.
    pub async fn log_out(&self) -> AuthState {
        let _op = self.inner.operation.lock().await;
        self.sign_out_locally(None);
        self.set_state(SignInState::SignedOut { notice: None });
        self.spawn_logout_retries();
        self.auth_state()
    }

    /// Ends the local session now; the server is told in the background.
    fn sign_out_locally(&self, notice: Option<SignedOutNotice>) {
        let ended = {
            let mut core = self.core();
            let ended = match &core.state {
                SignInState::SignedIn { token, .. } => core
                    .api
                    .as_ref()
                    .map(|api| (api.server().clone(), token.clone())),
                _ => None,
            };
            if let Some(cancel) = core.background.take() {
                cancel.cancel();
            }
            core.generation += 1;
            core.sessions.clear();
            core.fetched_at = None;
            core.sessions_error = None;
            if ended.is_some() {
                core.state = SignInState::SignedOut { notice };
            }
            ended
        };
        if let Some((server, token)) = ended {
            self.queue_logout(&server, token);
        }
        self.forget(TOKEN_KEY);
    }

    /// This device's session ended on the server (revoked, expired, or
    /// unknown): wipe the token and say why.
    fn end_session(&self, generation: u64, revocation: Option<Revocation>) {
        let lifetimes = {
            let mut core = self.core();
            if core.generation != generation || !matches!(core.state, SignInState::SignedIn { .. })
            {
                return;
            }
            if let Some(cancel) = core.background.take() {
                cancel.cancel();
            }
            core.generation += 1;
            core.sessions.clear();
            core.fetched_at = None;
            core.lifetimes
        };
        self.forget(TOKEN_KEY);
        let notice = revocation.map(|r| SignedOutNotice {
            message: signed_out_message_local(&r, &lifetimes, self.now()),
            reason: r.reason,
            by_device: r.by_device,
            at: r.at,
        });
        tracing::info!(reason = ?notice.as_ref().map(|n| n.reason.clone()), "this device was signed out");
        self.set_state(SignInState::SignedOut { notice });
    }

    /// The window's news of the user: `active` on input or focus, `false`
    /// when the window loses focus.
    pub fn report_activity(&self, active: bool) {
        {
            let mut core = self.core();
            if active {
                core.last_input = Instant::now();
            }
            core.focused = active;
        }
        self.inner.activity.notify_one();
    }

    // ------------------------------------------------------------- output

    fn set_state(&self, state: SignInState) {
        self.core().state = state;
        self.persist();
        self.publish();
    }

    /// Sends the current state and list to every subscriber.
    fn publish(&self) {
        let (auth, snapshot) = {
            let core = self.core();
            let now = self.now();
            let auth = match &core.state {
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
                    account, session, ..
                } => AuthState::SignedIn {
                    account: account.clone(),
                    session: SessionView::of(session, &core.lifetimes, now),
                },
            };
            let mut sessions = core.sessions.clone();
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
                    .map(|s| SessionView::of(s, &core.lifetimes, now))
                    .collect(),
                fetched_at: core.fetched_at,
                stale: core.sessions_error.is_some(),
                error: core.sessions_error.clone(),
            };
            (auth, snapshot)
        };
        self.inner
            .auth
            .send_if_modified(|current| replace_if_changed(current, auth));
        self.inner
            .sessions
            .send_if_modified(|current| replace_if_changed(current, snapshot));
    }

    // ----------------------------------------------------------- background

    fn start_background(&self, freshness: Freshness) {
        let cancel = CancellationToken::new();
        let generation = {
            let mut core = self.core();
            if let Some(old) = core.background.replace(cancel.clone()) {
                old.cancel();
            }
            core.generation
        };
        if self.inner.config.live_events {
            let stream = self.clone();
            let stream_cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = stream_cancel.cancelled() => {}
                    _ = stream.run_event_stream(generation) => {}
                }
            });
        }
        let heartbeat = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = heartbeat.run_heartbeat(generation, freshness) => {}
            }
        });
        if freshness == Freshness::JustSignedIn {
            // The exchange just answered the account and session.
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            if let Ok(account) = me
                .as_session(|api, token| async move { api.me(&token).await })
                .await
            {
                if let SignInState::SignedIn {
                    account: current, ..
                } = &mut me.core().state
                {
                    *current = account;
                }
                me.persist();
                me.publish();
            }
        });
    }

    /// Follows `/v1/events` for one sign-in: reconnects with exponential
    /// backoff and jitter, resumes with `Last-Event-ID`, refetches the list
    /// after every (re)connect and on `resync`, and reconnects when the
    /// stream falls silent.
    async fn run_event_stream(&self, generation: u64) {
        let mut last_event_id: Option<String> = None;
        let mut failures: u32 = 0;
        loop {
            let Ok((api, token, current)) = self.signed_in() else {
                return;
            };
            if current != generation {
                return;
            }
            match api.events(&token, last_event_id.as_deref()).await {
                Err(ClientError::SessionEnded(revocation)) => {
                    self.end_session(generation, revocation);
                    return;
                }
                Err(error) => {
                    failures += 1;
                    self.stream_lost(generation, &error);
                }
                Ok(response) => {
                    self.list_sessions().await;
                    let mut bytes = response.bytes_stream();
                    let mut decoder = SseDecoder::default();
                    loop {
                        let chunk = match tokio::time::timeout(
                            self.inner.config.silence_timeout,
                            bytes.next(),
                        )
                        .await
                        {
                            Ok(Some(Ok(chunk))) => chunk,
                            // Ended, broken, or silent past the limit.
                            _ => break,
                        };
                        let Ok(frames) = decoder.push(&chunk) else {
                            break;
                        };
                        for frame in frames {
                            if frame.id.is_some() {
                                last_event_id = frame.id.clone();
                            }
                            match Event::parse(&frame.event, &frame.data) {
                                Ok(event) => {
                                    if self.apply_event(generation, event).await {
                                        return;
                                    }
                                }
                                Err(e) => tracing::debug!(error = %e, "ignored an event"),
                            }
                        }
                    }
                    // The first retry after a working stream is quick.
                    failures = 1;
                }
            }
            let delay = backoff(failures, self.inner.config.backoff_cap);
            tracing::debug!(?delay, "event stream reconnecting");
            tokio::time::sleep(delay).await;
        }
    }

    /// The event stream can't get through: the list is kept but shown as
    /// last known, with why, until a reconnect refetches it.
    fn stream_lost(&self, generation: u64, error: &ClientError) {
        {
            let mut core = self.core();
            if core.generation != generation || core.sessions_error.is_some() {
                return;
            }
            core.sessions_error = Some(error.to_string());
        }
        self.publish();
    }

    /// Applies one event; true when it ended this device's session.
    async fn apply_event(&self, generation: u64, event: Event) -> bool {
        let own_id = match self.core().state.signed_in() {
            Ok((_, session, _)) => session.id.clone(),
            Err(_) => return true,
        };
        match event {
            Event::SessionRevoked(revoked) if revoked.session_id == own_id => {
                self.end_session(generation, Some(revoked.revocation));
                return true;
            }
            Event::SessionRevoked(revoked) => {
                self.core().sessions.retain(|s| s.id != revoked.session_id);
            }
            Event::SessionCreated(session) | Event::SessionUpdated(session) => {
                let mut core = self.core();
                if session.current {
                    core.device_name = session.device.name.clone();
                    if let SignInState::SignedIn { session: own, .. } = &mut core.state {
                        *own = session.clone();
                    }
                }
                upsert(&mut core.sessions, session);
            }
            Event::Resync => {
                self.list_sessions().await;
                return false;
            }
        }
        self.core().fetched_at = Some(self.now());
        self.persist();
        self.publish();
        false
    }

    /// Tells the server `active`/`idle` when it changes and every
    /// `heartbeat_every` while signed in. Idle: no input or focus for
    /// `idle_after`.
    async fn run_heartbeat(&self, generation: u64, freshness: Freshness) {
        // A new session starts `active` on the server: nothing to say yet.
        let mut last_sent = match freshness {
            Freshness::JustSignedIn => Some((SessionState::Active, Instant::now())),
            Freshness::Restored => None,
        };
        loop {
            let (state, idle_at) = {
                let core = self.core();
                let idle_at = core.last_input + self.inner.config.idle_after;
                let active = core.focused && Instant::now() < idle_at;
                (
                    if active {
                        SessionState::Active
                    } else {
                        SessionState::Idle
                    },
                    idle_at,
                )
            };
            let due = match last_sent {
                Some((sent, at)) => {
                    sent != state || at.elapsed() >= self.inner.config.heartbeat_every
                }
                None => true,
            };
            let mut retry_at = None;
            if due {
                let Ok((api, token, current)) = self.signed_in() else {
                    return;
                };
                if current != generation {
                    return;
                }
                match api.heartbeat(&token, state).await {
                    Ok(()) => last_sent = Some((state, Instant::now())),
                    Err(ClientError::SessionEnded(revocation)) => {
                        self.end_session(generation, revocation);
                        return;
                    }
                    // Offline: try again shortly; the event stream shows the truth.
                    Err(_) => {
                        retry_at = Some(
                            Instant::now()
                                + self
                                    .inner
                                    .config
                                    .heartbeat_every
                                    .min(Duration::from_secs(5)),
                        )
                    }
                }
            }
            let next_beat = match (retry_at, last_sent) {
                (Some(at), _) => at,
                (None, Some((_, at))) => at + self.inner.config.heartbeat_every,
                (None, None) => Instant::now() + Duration::from_secs(5),
            };
            let wake = if state == SessionState::Active {
                next_beat.min(idle_at)
            } else {
                next_beat
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = self.inner.activity.notified() => {}
            }
        }
    }

    fn spawn_lifetimes_refresh(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let Ok(api) = me.api() else { return };
            if let Ok(info) = api.server_info().await {
                me.core().lifetimes = lifetimes_of(&info);
                me.persist();
                me.publish();
            }
        });
    }

    // ------------------------------------------------------ offline logout

    fn queue_logout(&self, server: &ServerUrl, token: SessionToken) {
        let mut queue = self.pending_logouts();
        queue.push(PendingLogout {
            server: server.as_str().to_owned(),
            token,
        });
        self.save_pending_logouts(&queue);
    }

    fn pending_logouts(&self) -> Vec<PendingLogout> {
        self.secret(PENDING_LOGOUTS_KEY)
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    fn save_pending_logouts(&self, queue: &[PendingLogout]) {
        if queue.is_empty() {
            self.forget(PENDING_LOGOUTS_KEY);
        } else if let Ok(json) = serde_json::to_string(queue) {
            self.keep(PENDING_LOGOUTS_KEY, &json);
        }
    }

    /// How many logouts still wait to reach their server.
    pub fn pending_logout_count(&self) -> usize {
        self.pending_logouts().len()
    }

    /// Tries every queued logout once; keeps the ones the server didn't get.
    pub async fn flush_pending_logouts(&self) {
        let attempted = self.pending_logouts();
        let mut undelivered = Vec::new();
        for logout in &attempted {
            let delivered = match ServerUrl::parse(&logout.server).and_then(|url| self.api_for(url))
            {
                Ok(api) => matches!(
                    api.delete_session(&logout.token, "current").await,
                    Ok(()) | Err(ClientError::SessionEnded(_))
                ),
                // An address that no longer parses can never be told.
                Err(_) => true,
            };
            if !delivered {
                undelivered.push(logout.token.clone());
            }
        }
        // Keep what failed, plus anything queued while we were trying.
        let remaining: Vec<PendingLogout> = self
            .pending_logouts()
            .into_iter()
            .filter(|l| {
                undelivered.contains(&l.token) || !attempted.iter().any(|a| a.token == l.token)
            })
            .collect();
        self.save_pending_logouts(&remaining);
    }

    fn spawn_logout_retries(&self) {
        use std::sync::atomic::Ordering;
        if self.pending_logouts().is_empty()
            || self.inner.logout_retry_running.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.flush_pending_logouts().await;
                if me.pending_logouts().is_empty() {
                    break;
                }
                tokio::time::sleep(me.inner.config.logout_retry_every).await;
            }
            me.inner.logout_retry_running.store(false, Ordering::SeqCst);
        });
    }

    // -------------------------------------------------------------- storage

    fn secret(&self, key: &str) -> Option<String> {
        self.inner.store.get(key).unwrap_or_else(|e| {
            tracing::warn!(error = %e, key, "can't read a secret");
            None
        })
    }

    fn keep(&self, key: &str, value: &str) {
        if let Err(e) = self.inner.store.set(key, value) {
            tracing::error!(error = %e, key, "can't store a secret");
        }
    }

    fn forget(&self, key: &str) {
        if let Err(e) = self.inner.store.delete(key) {
            tracing::warn!(error = %e, key, "can't delete a secret");
        }
    }

    fn stored_verifier(&self) -> Option<StoredVerifier> {
        self.secret(VERIFIER_KEY)
            .and_then(|json| serde_json::from_str(&json).ok())
    }

    fn state_path(&self) -> PathBuf {
        self.inner.config.data_dir.join(STATE_FILE)
    }

    /// A missing or damaged state file is a fresh start, never an error.
    fn load(&self) -> Persisted {
        match std::fs::read_to_string(self.state_path()) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "client state damaged; starting fresh");
                Persisted::default()
            }),
            Err(_) => Persisted::default(),
        }
    }

    fn persist(&self) {
        let persisted = {
            let core = self.core();
            Persisted {
                server: core
                    .api
                    .as_ref()
                    .map(|api| api.server().as_str().to_owned()),
                lifetimes: Some(core.lifetimes),
                pending: core.state.pending().cloned(),
                signed_in: match &core.state {
                    SignInState::SignedIn {
                        account, session, ..
                    } => Some((account.clone(), session.clone())),
                    _ => None,
                },
                notice: match &core.state {
                    SignInState::SignedOut { notice } => notice.clone(),
                    _ => None,
                },
            }
        };
        let path = self.state_path();
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.inner.config.data_dir)?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, serde_json::to_vec(&persisted)?)?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            tracing::warn!(error = %e, "can't save client state");
        }
    }
}

/// Whether a sign-in was just made here or restored from the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    JustSignedIn,
    Restored,
}

fn lifetimes_of(info: &latch_protocol::ServerInfo) -> Lifetimes {
    Lifetimes {
        idle_timeout_s: info.idle_timeout_s,
        absolute_lifetime_s: info.absolute_lifetime_s,
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

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Exponential backoff with jitter: 250 ms × 2^(n-1), capped, then a random
/// point in its upper half so many clients don't reconnect in step.
fn backoff(failures: u32, cap: Duration) -> Duration {
    let base =
        Duration::from_millis(250).saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let ceiling = base.min(cap);
    let low = ceiling / 2;
    let jitter_ms =
        rand::thread_rng().gen_range(0..=u64::try_from((ceiling - low).as_millis()).unwrap_or(0));
    low + Duration::from_millis(jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let cap = Duration::from_secs(30);
        for failures in 1..40 {
            let d = backoff(failures, cap);
            assert!(d <= cap, "{failures}: {d:?}");
        }
        assert!(backoff(1, cap) <= Duration::from_millis(250));
        assert!(backoff(30, cap) >= Duration::from_secs(15));
        assert!(backoff(3, Duration::from_millis(100)) <= Duration::from_millis(100));
    }
}

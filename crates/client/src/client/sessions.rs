//! What a signed-in device does with its sessions, and how its own
//! session ends (its "Log out", or the server's word).

use latch_protocol::{normalize_name, Revocation, RevocationReason, SessionToken};
use tokio::time::Instant;

use super::persistence::TOKEN_KEY;
use super::{upsert, LatchClient};
use crate::api::Api;
use crate::error::{ClientError, Result};
use crate::state::SignInState;
use crate::status::signed_out_message_local;
use crate::view::{AuthState, SessionView, SessionsSnapshot, SignedOutNotice};

impl LatchClient {
    pub(super) fn signed_in(&self) -> Result<(Api, SessionToken, u64)> {
        let core = self.core();
        let (_, _, token) = core.account.state.signed_in()?;
        let api = core.account.api.clone().ok_or(ClientError::NotSignedIn)?;
        Ok((api, token.clone(), core.account.generation))
    }

    /// Runs a call as this session; a `session_revoked` answer signs this
    /// device out with the reason.
    pub(super) async fn as_session<T, F, Fut>(&self, call: F) -> Result<T>
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
        self.ready().await;
        let generation = self.signed_in().map(|(_, _, generation)| generation).ok();
        let answer = self
            .as_session(|api, token| async move { api.sessions(&token).await })
            .await;
        // An answer for a sign-in that has ended since (a "Log out" while
        // it was on its way) changes nothing.
        if generation != Some(self.core().account.generation) {
            return self.sessions_snapshot();
        }
        match answer {
            Ok(sessions) => {
                let mut core = self.core();
                if let Some(current) = sessions.iter().find(|s| s.current).cloned() {
                    // Renamed from another device while the stream was down:
                    // the list is the only news of it.
                    core.device_name = current.device.name.clone();
                    if let SignInState::SignedIn { session, .. } = &mut core.account.state {
                        *session = current;
                    }
                }
                core.account.sessions = sessions;
                core.account.fetched_at = Some(self.now());
                core.account.sessions_error = None;
            }
            Err(ClientError::NotSignedIn | ClientError::SessionEnded(_)) => {}
            Err(e) => self.core().account.sessions_error = Some(e.to_string()),
        }
        self.publish();
        self.sessions_snapshot()
    }

    pub async fn rename_session(&self, id: &str, name: &str) -> Result<SessionView> {
        self.ready().await;
        let name = normalize_name(name)
            .map_err(|e| ClientError::InvalidName(format!("A device name {e}.")))?;
        let renamed = self
            .as_session(|api, token| async move { api.rename_session(&token, id, &name).await })
            .await?;
        {
            let mut core = self.core();
            if renamed.current {
                core.device_name = renamed.device.name.clone();
                if let SignInState::SignedIn { session, .. } = &mut core.account.state {
                    *session = renamed.clone();
                }
            }
            upsert(&mut core.account.sessions, renamed.clone());
        }
        self.publish();
        let lifetimes = self.core().account.lifetimes;
        Ok(SessionView::of(&renamed, &lifetimes, self.now()))
    }

    /// This device's name: shown in sign-in emails and, when signed in,
    /// renamed on the server too.
    pub async fn set_device_name(&self, name: &str) -> Result<String> {
        self.ready().await;
        let name = normalize_name(name)
            .map_err(|e| ClientError::InvalidName(format!("A device name {e}.")))?;
        if self.signed_in().is_ok() {
            self.rename_session("current", &name).await?;
        } else {
            self.core().device_name = name;
            self.publish();
            self.persist();
        }
        Ok(self.device_name())
    }

    pub async fn rename_account(&self, name: &str) -> Result<latch_protocol::Account> {
        self.ready().await;
        let name = normalize_name(name)
            .map_err(|e| ClientError::InvalidName(format!("A display name {e}.")))?;
        let account = self
            .as_session(|api, token| async move { api.rename_account(&token, &name).await })
            .await?;
        if let SignInState::SignedIn {
            account: current, ..
        } = &mut self.core().account.state
        {
            *current = account.clone();
        }
        self.publish();
        self.persist();
        Ok(account)
    }

    pub async fn terminate(&self, id: &str) -> Result<()> {
        self.ready().await;
        self.as_session(|api, token| async move { api.delete_session(&token, id).await })
            .await?;
        self.core().account.sessions.retain(|s| s.id.0 != id);
        self.publish();
        Ok(())
    }

    /// Signs out every other device; answers how many.
    pub async fn log_out_others(&self) -> Result<u32> {
        self.ready().await;
        let count = self
            .as_session(|api, token| async move { api.revoke_others(&token).await })
            .await?;
        self.core().account.sessions.retain(|s| s.current);
        self.publish();
        Ok(count)
    }

    /// Signs out every device, this one included; answers how many.
    pub async fn log_out_everywhere(&self) -> Result<u32> {
        self.ready().await;
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
        let _op = self.begin_operation().await;
        self.sign_out_locally(None);
        self.set_state(SignInState::SignedOut { notice: None });
        self.spawn_logout_retries();
        self.auth_state()
    }

    /// Ends the local session now; the server is told in the background.
    pub(super) fn sign_out_locally(&self, notice: Option<SignedOutNotice>) {
        let ended = {
            let mut core = self.core();
            let ended = match &core.account.state {
                SignInState::SignedIn { token, .. } => core
                    .account
                    .api
                    .as_ref()
                    .map(|api| (api.server().clone(), token.clone())),
                _ => None,
            };
            if let Some(cancel) = core.account.background.take() {
                cancel.cancel();
            }
            core.account.generation += 1;
            core.account.sessions.clear();
            core.account.fetched_at = None;
            core.account.sessions_error = None;
            if ended.is_some() {
                core.account.state = SignInState::SignedOut { notice };
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
    pub(super) fn end_session(&self, generation: u64, revocation: Option<Revocation>) {
        let lifetimes = {
            let mut core = self.core();
            if core.account.generation != generation
                || !matches!(core.account.state, SignInState::SignedIn { .. })
            {
                return;
            }
            if let Some(cancel) = core.account.background.take() {
                cancel.cancel();
            }
            core.account.generation += 1;
            core.account.sessions.clear();
            core.account.fetched_at = None;
            core.account.lifetimes
        };
        self.forget(TOKEN_KEY);
        let notice = revocation.map(|r| SignedOutNotice {
            message: signed_out_message_local(&r, &lifetimes, self.now()),
            reason: r.reason,
            by_device: r.by_device,
            at: r.at,
        });
        tracing::info!(reason = ?notice.as_ref().map(|n| &n.reason), "this device was signed out");
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
}

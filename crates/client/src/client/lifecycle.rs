//! Start-up (restoring the last run, then opening the readiness gate and
//! letting deep links in) and the server this device uses.

use super::background::{lifetimes_of, Freshness};
use super::persistence::{TOKEN_KEY, VERIFIER_KEY};
use super::LatchClient;
use crate::api::Api;
use crate::error::{ClientError, Result};
use crate::server_url::ServerUrl;
use crate::state::SignInState;
use crate::view::AuthState;

impl LatchClient {
    /// Restores what the last run left: the server, this device's name, a
    /// signed-in session, a pending flow (so a link clicked while Latch was
    /// closed still works), or the notice of why this device was signed
    /// out. Then opens the readiness gate and lets deep links in.
    pub async fn start(&self) {
        let op = self.inner.operation.lock().await;
        let restored = self.restore();
        let signed_in = matches!(restored, SignInState::SignedIn { .. });
        if !signed_in {
            self.forget(TOKEN_KEY);
        }
        if !matches!(restored, SignInState::AwaitingLink(_)) {
            self.forget(VERIFIER_KEY);
        }
        self.set_state(restored);
        if signed_in {
            self.start_background(Freshness::Restored);
        }
        self.spawn_lifetimes_refresh();
        self.spawn_logout_retries();
        drop(op);
        // send_replace: the value must change even when nobody waits yet.
        self.inner.ready.send_replace(true);
        self.spawn_link_consumer();
    }

    pub(super) fn api_for(&self, server: ServerUrl) -> Result<Api> {
        Ok(Api::new(server, &self.inner.identity.user_agent())?
            .with_clock_skew(self.inner.config.clock_skew))
    }

    /// Points Latch at another server after checking it answers as one.
    /// A change signs this device out (the window confirms first).
    pub async fn set_server(&self, address: &str) -> Result<AuthState> {
        self.ready().await;
        let url = ServerUrl::parse(address)?;
        let api = self.api_for(url)?;
        let info = api.server_info().await?;
        let _op = self.inner.operation.lock().await;
        if self.server().as_ref() == Some(api.server()) {
            self.core().account.lifetimes = lifetimes_of(&info);
            self.persist();
            return Ok(self.auth_state());
        }
        self.sign_out_locally(None);
        self.forget(VERIFIER_KEY);
        {
            let mut core = self.core();
            core.account.api = Some(api);
            core.account.lifetimes = lifetimes_of(&info);
        }
        self.set_state(SignInState::SignedOut { notice: None });
        self.spawn_logout_retries();
        Ok(self.auth_state())
    }

    /// Asks the current server what it is (`GET /v1/server`), changing
    /// nothing: for diagnostics.
    pub async fn server_info(&self) -> Result<latch_protocol::ServerInfo> {
        self.ready().await;
        self.api()?.server_info().await
    }

    pub(super) fn api(&self) -> Result<Api> {
        self.core()
            .account
            .api
            .clone()
            .ok_or_else(|| ClientError::InvalidServer("Set the server address first.".into()))
    }
}

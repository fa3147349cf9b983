//! Signing in: a link or code for the pending flow, then the token exchange.

use latch_protocol::{normalize_code, normalize_email, normalize_name, FlowId};

use super::background::Freshness;
use super::persistence::{StoredVerifier, TOKEN_KEY, VERIFIER_KEY};
use super::LatchClient;
use crate::deep_link::DeepLink;
use crate::error::{ClientError, Result};
use crate::pkce::Pkce;
use crate::state::{PendingFlow, SignInState};
use crate::status::capitalise;
use crate::view::AuthState;

impl LatchClient {
    pub async fn request_link(&self, email: &str) -> Result<AuthState> {
        let _op = self.begin_operation().await;
        self.request_link_locked(email).await
    }

    async fn request_link_locked(&self, email: &str) -> Result<AuthState> {
        self.core().account.state.can_request_link()?;
        let email = normalize_email(email)
            .map_err(|e| ClientError::InvalidEmail(format!("{}.", capitalise(&e.to_string()))))?;
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
    fn forget_verifier_when_expired(
        &self,
        flow_id: &FlowId,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) {
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
        let _op = self.begin_operation().await;
        let email = self
            .core()
            .account
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
        let _op = self.begin_operation().await;
        if self.core().account.state.pending().is_some() {
            self.forget(VERIFIER_KEY);
            self.set_state(SignInState::SignedOut { notice: None });
        }
        self.auth_state()
    }

    /// The code typed from the email (`ABCD-EFGH`, any case, hyphen optional).
    pub async fn submit_code(&self, typed: &str) -> Result<AuthState> {
        let _op = self.begin_operation().await;
        let code = normalize_code(typed)
            .map_err(|e| ClientError::InvalidRequest(format!("{}.", capitalise(&e.to_string()))))?;
        let flow_id = self
            .core()
            .account
            .state
            .flow_for_code(self.now())?
            .flow_id
            .clone();
        self.exchange(&flow_id, &code).await
    }

    /// A deep link given as its URL (what a test or a person pastes):
    /// parsed, then [`LatchClient::open_link`].
    pub async fn open_deep_link(&self, url: &str) -> Result<AuthState> {
        let link = DeepLink::parse(url).map_err(|e| ClientError::InvalidLink(e.to_string()))?;
        self.open_link(&link).await
    }

    /// A deep link, parsed where it came in. Only the pending flow's link
    /// is accepted; anything else is refused with a reason and changes
    /// nothing.
    pub async fn open_link(&self, link: &DeepLink) -> Result<AuthState> {
        let _op = self.begin_operation().await;
        let flow_id = self
            .core()
            .account
            .state
            .flow_for_link(link, self.now())?
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
}

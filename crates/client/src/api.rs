//! One method per call of the wire contract (`docs/protocol.md`), over reqwest with
//! rustls. Every failure becomes a typed [`ClientError`].

use std::time::Duration;

use latch_protocol::{
    Account, CodeVerifier, Device, EmailLinkRequest, EmailLinkResponse, ErrorBody, FlowId,
    HeartbeatRequest, OneTimeCode, RenameSessionRequest, RevokedCount, ServerInfo, Session,
    SessionList, SessionState, SessionToken, TokenRequest, TokenResponse, UpdateAccountRequest,
    CODE_CHALLENGE_METHOD_S256,
};
use reqwest::{header, Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{ClientError, Result};
use crate::server_url::ServerUrl;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct Api {
    server: ServerUrl,
    http: reqwest::Client,
    /// How far this computer's clock is off (see `ClientConfig::clock_skew`).
    clock_skew: chrono::Duration,
}

impl Api {
    pub fn new(server: ServerUrl, user_agent: &str) -> Result<Api> {
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            // Redirects could carry a bearer token elsewhere: never follow them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Server(format!("can't set up HTTP: {e}")))?;
        Ok(Api {
            server,
            http,
            clock_skew: chrono::Duration::zero(),
        })
    }

    pub fn with_clock_skew(mut self, skew: chrono::Duration) -> Api {
        self.clock_skew = skew;
        self
    }

    pub fn server(&self) -> &ServerUrl {
        &self.server
    }

    fn request(&self, method: Method, path: &str, token: Option<&SessionToken>) -> RequestBuilder {
        let mut request = self.http.request(method, self.server.join(path));
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        request
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|_| self.unreachable())?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = response.json::<ErrorBody>().await.ok();
        Err(ClientError::from_body(status, body, retry_after))
    }

    async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T> {
        let response = self.send(request).await?;
        response.json().await.map_err(|e| {
            ClientError::Server(format!("The server's answer could not be read ({e})."))
        })
    }

    fn unreachable(&self) -> ClientError {
        ClientError::Unreachable {
            server: self.server.display(),
        }
    }

    pub async fn server_info(&self) -> Result<ServerInfo> {
        self.json(self.request(Method::GET, "v1/server", None))
            .await
            .map_err(|e| match e {
                ClientError::Unreachable { .. } => e,
                _ => ClientError::InvalidServer(format!(
                    "{} doesn't look like a Latch account server.",
                    self.server.display()
                )),
            })
    }

    /// Starts a flow. Its times come back on this computer's clock: the
    /// server's `Date` header says how far the two clocks differ, so a
    /// wrong local clock doesn't expire a link early or late.
    pub async fn email_link(
        &self,
        email: &str,
        challenge: &str,
        device: &Device,
    ) -> Result<EmailLinkResponse> {
        let body = EmailLinkRequest {
            email: email.to_owned(),
            code_challenge: challenge.to_owned(),
            code_challenge_method: CODE_CHALLENGE_METHOD_S256.to_owned(),
            device: device.clone(),
        };
        let response = self
            .send(
                self.request(Method::POST, "v1/auth/email-link", None)
                    .json(&body),
            )
            .await?;
        let skew = response
            .headers()
            .get(header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .map(|server_now| {
                server_now.with_timezone(&chrono::Utc) - (chrono::Utc::now() + self.clock_skew)
            })
            // Within a second or two the Date header's rounding is the error.
            .filter(|skew| skew.num_seconds().abs() > 2)
            .unwrap_or_else(chrono::Duration::zero);
        let mut started: EmailLinkResponse = response.json().await.map_err(|e| {
            ClientError::Server(format!("The server's answer could not be read ({e})."))
        })?;
        started.expires_at -= skew;
        started.resend_after -= skew;
        Ok(started)
    }

    pub async fn token(
        &self,
        flow_id: &FlowId,
        code: &str,
        verifier: &str,
    ) -> Result<TokenResponse> {
        let body = TokenRequest {
            flow_id: flow_id.clone(),
            code: OneTimeCode::new(code.to_owned()),
            code_verifier: CodeVerifier::new(verifier.to_owned()),
        };
        self.json(
            self.request(Method::POST, "v1/auth/token", None)
                .json(&body),
        )
        .await
    }

    pub async fn me(&self, token: &SessionToken) -> Result<Account> {
        self.json(self.request(Method::GET, "v1/me", Some(token)))
            .await
    }

    pub async fn rename_account(
        &self,
        token: &SessionToken,
        display_name: &str,
    ) -> Result<Account> {
        let body = UpdateAccountRequest {
            display_name: display_name.to_owned(),
        };
        self.json(
            self.request(Method::PATCH, "v1/me", Some(token))
                .json(&body),
        )
        .await
    }

    pub async fn sessions(&self, token: &SessionToken) -> Result<Vec<Session>> {
        let list: SessionList = self
            .json(self.request(Method::GET, "v1/sessions", Some(token)))
            .await?;
        Ok(list.sessions)
    }

    pub async fn heartbeat(&self, token: &SessionToken, state: SessionState) -> Result<()> {
        let body = HeartbeatRequest { state };
        self.send(
            self.request(Method::POST, "v1/sessions/current/heartbeat", Some(token))
                .json(&body),
        )
        .await?;
        Ok(())
    }

    /// `id` is a session id or `current`.
    pub async fn rename_session(
        &self,
        token: &SessionToken,
        id: &str,
        device_name: &str,
    ) -> Result<Session> {
        let body = RenameSessionRequest {
            device_name: device_name.to_owned(),
        };
        self.json(
            self.request(Method::PATCH, &session_path(id)?, Some(token))
                .json(&body),
        )
        .await
    }

    /// `id` is another session's id, or `current` to log out this device.
    pub async fn delete_session(&self, token: &SessionToken, id: &str) -> Result<()> {
        self.send(self.request(Method::DELETE, &session_path(id)?, Some(token)))
            .await?;
        Ok(())
    }

    pub async fn revoke_others(&self, token: &SessionToken) -> Result<u32> {
        self.revoke(token, "v1/sessions/revoke-others").await
    }

    pub async fn revoke_all(&self, token: &SessionToken) -> Result<u32> {
        self.revoke(token, "v1/sessions/revoke-all").await
    }

    async fn revoke(&self, token: &SessionToken, path: &str) -> Result<u32> {
        let count: RevokedCount = self
            .json(self.request(Method::POST, path, Some(token)))
            .await?;
        Ok(count.revoked)
    }

    /// Opens `GET /v1/events`; the caller reads the body as it arrives.
    pub async fn events(
        &self,
        token: &SessionToken,
        last_event_id: Option<&str>,
    ) -> Result<Response> {
        let mut request = self
            .request(Method::GET, "v1/events", Some(token))
            .header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        // No overall timeout: the stream lives as long as it is healthy; the
        // reader enforces the silence limit.
        let response = request.send().await.map_err(|_| self.unreachable())?;
        if response.status() == StatusCode::OK {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = response.json::<ErrorBody>().await.ok();
        Err(ClientError::from_body(status, body, None))
    }
}

/// Session ids are opaque but never need escaping; refuse anything that would.
fn session_path(id: &str) -> Result<String> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ClientError::NotFound);
    }
    Ok(format!("v1/sessions/{id}"))
}

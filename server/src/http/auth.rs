//! Signing in: `GET /v1/server`, `POST /v1/auth/email-link`, `POST /v1/auth/token`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use latch_protocol::{
    normalize_email, EmailLinkRequest, EmailLinkResponse, ErrorBody, FlowId, ServerInfo,
    TokenRequest, TokenResponse, CODE_CHALLENGE_METHOD_S256,
};

use super::{ClientIp, Json, SignInErrors};
use crate::clock::{duration_ms, to_datetime};
use crate::error::{ApiError, ApiResult};
use crate::limits::retry_after_s;
use crate::mail::SignInMail;
use crate::state::AppState;
use crate::store::{FlowRequest, SendLimit, SendLimits};
use crate::{secrets, store};

#[utoipa::path(get, path = "/v1/server", tag = "server",
    responses((status = 200, description = "Server version and session lifetimes", body = ServerInfo)))]
pub async fn server_info(State(app): State<AppState>) -> axum::Json<ServerInfo> {
    axum::Json(ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        idle_timeout_s: app.config.idle_timeout.as_secs(),
        absolute_lifetime_s: app.config.absolute_lifetime.as_secs(),
    })
}

#[utoipa::path(post, path = "/v1/auth/email-link", tag = "auth", request_body = EmailLinkRequest,
    responses(
        (status = 202, description = "A flow started and its email queued (the same answer for any well-formed request, known email or not)", body = EmailLinkResponse),
        (status = 400, description = "invalid_request", body = ErrorBody),
        SignInErrors,
    ))]
pub async fn email_link(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<EmailLinkRequest>,
) -> ApiResult<impl IntoResponse> {
    let email =
        normalize_email(&request.email).map_err(|e| ApiError::invalid(format!("email: {e}")))?;
    if request.code_challenge_method != CODE_CHALLENGE_METHOD_S256 {
        return Err(ApiError::invalid("code_challenge_method must be S256"));
    }
    if !secrets::is_s256_challenge(&request.code_challenge) {
        return Err(ApiError::invalid(
            "code_challenge must be the unpadded base64url SHA-256 of the verifier (43 characters)",
        ));
    }
    let device = request
        .device
        .normalized()
        .map_err(|(field, e)| ApiError::invalid(format!("{field} {e}")))?;

    let interval_ms = duration_ms(app.config.email_link_interval);
    let limits = SendLimits {
        interval_ms,
        per_hour: app.config.email_link_per_hour,
        per_hour_total: app.config.email_link_per_hour_total,
        per_domain_per_hour: app.config.mail_per_domain_per_hour,
        mail_per_hour: app.config.mail_per_hour,
    };
    let now = app.now_ms();
    let flow = {
        let email = email.clone();
        let device = device.clone();
        app.db
            .write(move |store| {
                let request = FlowRequest {
                    email: &email,
                    code_challenge: &request.code_challenge,
                    device: &device,
                    ip,
                };
                store::start_flow(store, &request, &limits, now)
            })
            .await?
    };
    let flow = match flow {
        Ok(flow) => flow,
        Err(refused) => {
            if refused.limits.contains(&SendLimit::MailPerHour) {
                tracing::warn!(
                    cap = limits.mail_per_hour,
                    "--mail-per-hour reached: refusing sign-in links until the hour's oldest mail ages out"
                );
            }
            let limits: Vec<&str> = refused.limits.iter().map(|l| l.as_str()).collect();
            tracing::info!(email = %app.tag(&email), limits = ?limits, "sign-in link refused");
            return Err(ApiError::RateLimited {
                retry_after_s: retry_after_s(refused.wait_ms),
            });
        }
    };
    tracing::info!(email = %app.tag(&email), flow = %app.tag(&flow.id), "sign-in link requested");
    app.mailer.send(SignInMail {
        to: email,
        flow_id: flow.id.clone(),
        code: flow.code,
        device,
        ip,
        requested_at: now,
    });
    let response = EmailLinkResponse {
        flow_id: FlowId(flow.id),
        expires_at: to_datetime(flow.expires_at),
        resend_after: to_datetime(now + interval_ms),
    };
    Ok((StatusCode::ACCEPTED, axum::Json(response)))
}

#[utoipa::path(post, path = "/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in: the session token (once), the session and the account", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_code, verifier_mismatch, flow_expired, flow_used or flow_locked", body = ErrorBody),
        SignInErrors,
    ))]
pub async fn token(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<TokenRequest>,
) -> ApiResult<axum::Json<TokenResponse>> {
    let lifetimes = app.lifetimes;
    let now = app.now_ms();
    let flow_id = request.flow_id.0.clone();
    let exchanged = app
        .db
        .write(move |store| store::exchange(store, &request, &ip.to_string(), &lifetimes, now))
        .await?;
    let exchanged = match exchanged {
        Ok(exchanged) => exchanged,
        Err(refusal) => {
            tracing::info!(flow = %app.tag(&flow_id), code = refusal.code().as_str(), "sign-in refused");
            return Err(refusal);
        }
    };
    tracing::info!(
        flow = %app.tag(&flow_id),
        session = %app.tag(&exchanged.session.id),
        platform = exchanged.session.device.platform.as_str(),
        "signed in"
    );
    Ok(axum::Json(TokenResponse {
        session_token: exchanged.token,
        session: exchanged.session.to_wire(&app.lifetimes, true),
        account: exchanged.account.to_wire(),
    }))
}

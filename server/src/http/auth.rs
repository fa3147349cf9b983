//! Signing in: `GET /v1/server`, `POST /v1/auth/email-link`, `POST /v1/auth/token`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use latch_protocol::{
    normalize_email, EmailLinkRequest, EmailLinkResponse, ErrorBody, FlowId, ServerInfo,
    TokenRequest, TokenResponse, CODE_CHALLENGE_METHOD_S256,
};

use super::{ClientIp, Json, SignInErrors};
use crate::clock::{duration_ms, to_datetime, Millis};
use crate::error::{ApiError, ApiResult};
use crate::limits::retry_after_s;
use crate::mail::SignInMail;
use crate::state::AppState;
use crate::{secrets, store};

const HOUR_MS: Millis = 3_600_000;

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
    let per_hour = app.config.email_link_per_hour as usize;
    let now = app.now_ms();
    let flow = {
        let email = email.clone();
        let device = device.clone();
        app.db
            .write(move |store| {
                let since = now - HOUR_MS.max(interval_ms);
                // Refused requests make no flow, so they don't count.
                let times = store.recent_flow_times(&email, since)?;
                let mut wait_ms: Millis = 0;
                if let Some(&last) = times.last().filter(|_| interval_ms > 0) {
                    wait_ms = wait_ms.max(last + interval_ms - now);
                }
                if per_hour > 0 {
                    let in_hour: Vec<Millis> =
                        times.into_iter().filter(|&t| t > now - HOUR_MS).collect();
                    if in_hour.len() >= per_hour {
                        wait_ms = wait_ms.max(in_hour[in_hour.len() - per_hour] + HOUR_MS - now);
                    }
                }
                if wait_ms > 0 {
                    return Err(ApiError::RateLimited {
                        retry_after_s: retry_after_s(wait_ms),
                    });
                }
                store::create_flow(store, &email, &request.code_challenge, &device, now)
            })
            .await?
    };
    tracing::info!(email = %app.tag(&email), flow = %app.tag(&flow.id), "sign-in link requested");
    app.mailer.send(SignInMail {
        to: email,
        flow_id: flow.id.clone(),
        code: flow.code,
        device,
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

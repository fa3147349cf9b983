//! The HTTP surface: one module per resource, the extractors they share, and
//! the router with its layers.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use serde::de::DeserializeOwned;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

mod auth;
mod dev;
mod me;
mod open;
pub mod openapi;
mod sessions;
mod stream;

pub(crate) use stream::shutdown_signalled;

/// Declares a set of error answers for the OpenAPI description (the enums
/// are only described, never built): each variant one status, its
/// description and an `ErrorBody`.
macro_rules! error_answers {
    ($($(#[doc = $doc:literal])* $name:ident { $($variant:ident = $status:tt $description:literal,)+ })+) => {$(
        $(#[doc = $doc])*
        #[derive(utoipa::IntoResponses)]
        #[allow(dead_code)]
        enum $name {
            $(
                #[response(status = $status, description = $description)]
                $variant(latch_protocol::ErrorBody),
            )+
        }
    )+};
}

error_answers! {
    /// What any signed-in call can answer besides its own.
    SignedInErrors {
        Unauthenticated = 401 "unauthenticated or session_revoked",
        Unavailable = 503 "unavailable",
    }
    /// The answer of a call whose JSON body is over [`BODY_LIMIT`].
    TooLarge {
        TooLarge = 413 "invalid_request: body over 16 KiB",
    }
    /// What a sign-in step can answer besides its own.
    SignInErrors {
        TooLarge = 413 "invalid_request: body over 16 KiB",
        RateLimited = 429 "rate_limited, with Retry-After",
        Unavailable = 503 "unavailable",
    }
}

/// Bodies larger than this are refused with `413 invalid_request`.
pub const BODY_LIMIT: usize = 16 * 1024;

pub fn router(state: AppState) -> Router {
    let auth_routes = Router::new()
        .route("/v1/auth/email-link", post(auth::email_link))
        .route("/v1/auth/token", post(auth::token))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limit_auth_per_ip,
        ));
    let mut app = Router::new()
        .merge(auth_routes)
        .route("/v1/server", get(auth::server_info))
        .route("/auth/open", get(open::page))
        .route("/v1/me", get(me::get).patch(me::rename))
        .route("/v1/sessions", get(sessions::list))
        .route("/v1/sessions/current/heartbeat", post(sessions::heartbeat))
        .route("/v1/sessions/revoke-others", post(sessions::revoke_others))
        .route("/v1/sessions/revoke-all", post(sessions::revoke_all))
        .route(
            "/v1/sessions/{id}",
            patch(sessions::rename).delete(sessions::delete),
        )
        .route("/v1/events", get(stream::events))
        .route("/v1/openapi.json", get(openapi::serve));
    if state.config.dev {
        app = app
            .route("/dev/mailbox", get(dev::mailbox_page))
            .route("/dev/mailbox.json", get(dev::mailbox_json))
            .route("/dev/clock", post(dev::clock));
    }
    app = app
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT));
    if state.config.dev {
        // Outside the routes, so an unknown path on a foreign Host gets
        // the same 400 as a known one.
        app = app.layer(middleware::from_fn(dev::loopback_host_only));
    }
    app
        .layer(
            // Spans name the path only: a query string (the code of
            // /auth/open) never reaches a log.
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("There is nothing at this address.")
}

async fn limit_auth_per_ip(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    match app.ip_limiter.check(ip, app.now_ms()) {
        Ok(()) => next.run(request).await,
        Err(retry_after_s) => ApiError::RateLimited { retry_after_s }.into_response(),
    }
}

/// The client's address: the per-IP limits, the session's `ip` and the
/// sign-in mail all read this, never the socket. The connection layer
/// (`serve.rs`) put it on the request: the peer, or the client a trusted
/// proxy forwarded for (`proxy::client_ip`).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<crate::proxy::ClientAddress>()
            .map(|client| ClientIp(client.ip))
            .ok_or_else(|| ApiError::Internal("no client address on the request".into()))
    }
}

/// The bearer token of the request. Checking it is the handler's business,
/// in the same transaction as what it does (`AppState::as_session`).
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthenticated)?;
        let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 512 {
            return Err(ApiError::Unauthenticated);
        }
        Ok(Bearer(token.to_owned()))
    }
}

/// A JSON body: `400 invalid_request` for a wrong Content-Type or a body
/// that doesn't parse (never 415 or axum's 422), `413` over the limit.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::invalid(
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge
                } else {
                    ApiError::invalid("The request body could not be read.")
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::invalid(format!("The JSON body is not valid: {e}")))
    }
}

//! Sessions: the list, heartbeat, rename, and the four ways out.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latch_protocol::{
    normalize_name, ErrorBody, HeartbeatRequest, RenameSessionRequest, RevocationReason,
    RevokedCount, Session, SessionList,
};

use super::{Bearer, Json, SignedInErrors, TooLarge};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, SessionRow, Store};

/// The id that names the caller's own session in a path.
const CURRENT: &str = "current";

#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "Live sessions: current first, then most recently active", body = SessionList),
        SignedInErrors,
    ))]
pub async fn list(State(app): State<AppState>, Bearer(token): Bearer) -> ApiResult<Response> {
    let (me, rows) = app
        .as_session(token, false, |store, me, _| {
            let rows = store.live_sessions(&me.account_id)?;
            Ok((me.id.clone(), rows))
        })
        .await?;
    // Serialised after the database lock is released. The body is what
    // `axum::Json(store::session_list(..))` sent, built without the copies.
    let body = store::session_list_json(&rows, &me, &app.lifetimes)
        .map_err(|e| ApiError::Internal(format!("session list json: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

#[utoipa::path(post, path = "/v1/sessions/current/heartbeat", tag = "sessions", security(("bearer" = [])),
    request_body = HeartbeatRequest,
    responses(
        (status = 204, description = "Status recorded"),
        (status = 400, description = "invalid_request", body = ErrorBody),
        SignedInErrors,
        TooLarge,
    ))]
pub async fn heartbeat(
    State(app): State<AppState>,
    Bearer(token): Bearer,
    Json(request): Json<HeartbeatRequest>,
) -> ApiResult<StatusCode> {
    let lifetimes = app.lifetimes;
    // `touch` is off: only an `active` heartbeat moves last_active_at.
    app.as_session(token, false, move |store, me, now| {
        store::heartbeat(store, me, request.state, &lifetimes, now)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The live session `id` names for `me` (`current` is `me`), or 404.
fn target(store: &mut dyn Store, me: &SessionRow, id: &str) -> ApiResult<SessionRow> {
    if id == CURRENT || id == me.id {
        return Ok(me.clone());
    }
    match store.session(id)? {
        Some(s) if s.account_id == me.account_id && s.revocation.is_none() => Ok(s),
        _ => Err(ApiError::NotFound(
            "No signed-in device of this account has that id.",
        )),
    }
}

#[utoipa::path(patch, path = "/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "A session id, or `current`")),
    request_body = RenameSessionRequest,
    responses(
        (status = 200, description = "The renamed session; `renamed_by_device` names the caller's device when it renamed another", body = Session),
        (status = 400, description = "invalid_request: a name that breaks the name rule (empty, over 64 characters, a control, invisible or text-direction character)", body = ErrorBody),
        (status = 404, description = "not_found: not a live session of this account", body = ErrorBody),
        SignedInErrors,
        TooLarge,
    ))]
pub async fn rename(
    State(app): State<AppState>,
    Bearer(token): Bearer,
    Path(id): Path<String>,
    Json(request): Json<RenameSessionRequest>,
) -> ApiResult<axum::Json<Session>> {
    let name = normalize_name(&request.device_name)
        .map_err(|e| ApiError::invalid(format!("device_name {e}")))?;
    let lifetimes = app.lifetimes;
    let (renamed, is_me) = app
        .as_session(token, true, move |store, me, now| {
            let target = target(store, me, &id)?;
            let renamed = store::rename_session(store, &target, me, &name, &lifetimes, now)?;
            Ok((renamed, target.id == me.id))
        })
        .await?;
    Ok(axum::Json(renamed.to_wire(&app.lifetimes, is_me)))
}

#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Another session's id to terminate it, or `current` to log out this device")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 404, description = "not_found: not a live session of this account", body = ErrorBody),
        (status = 409, description = "cannot_terminate_current: the id is the caller's own; use `current`", body = ErrorBody),
        SignedInErrors,
    ))]
pub async fn delete(
    State(app): State<AppState>,
    Bearer(token): Bearer,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (reason, revoked) = app
        .as_session(token, true, move |store, me, now| {
            let by = Some(me.device.name.as_str());
            if id == CURRENT {
                store::revoke(store, me, RevocationReason::LoggedOut, by, now, now)?;
                return Ok((RevocationReason::LoggedOut, me.id.clone()));
            }
            let target = target(store, me, &id)?;
            if target.id == me.id {
                return Err(ApiError::CannotTerminateCurrent);
            }
            store::revoke(store, &target, RevocationReason::Terminated, by, now, now)?;
            Ok((RevocationReason::Terminated, target.id))
        })
        .await?;
    tracing::info!(session = %app.tag(&revoked), reason = reason.as_str(), "session revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes the caller's other live sessions, and itself too when `everywhere`.
async fn revoke_many(app: &AppState, token: String, everywhere: bool) -> ApiResult<RevokedCount> {
    let reason = if everywhere {
        RevocationReason::LoggedOutEverywhere
    } else {
        RevocationReason::LoggedOutOthers
    };
    let revoke_reason = reason.clone();
    let revoked = app
        .as_session(token, true, move |store, me, now| {
            let reason = revoke_reason;
            let by = Some(me.device.name.as_str());
            let mut revoked = 0u32;
            for other in store.live_sessions(&me.account_id)? {
                if other.id != me.id && store::revoke(store, &other, reason.clone(), by, now, now)?
                {
                    revoked += 1;
                }
            }
            // Its own revocation last, so its stream hears about the others first.
            if everywhere && store::revoke(store, me, reason, by, now, now)? {
                revoked += 1;
            }
            Ok(revoked)
        })
        .await?;
    tracing::info!(revoked, reason = reason.as_str(), "sessions revoked");
    Ok(RevokedCount { revoked })
}

#[utoipa::path(post, path = "/v1/sessions/revoke-others", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "How many other devices were signed out", body = RevokedCount),
        SignedInErrors,
    ))]
pub async fn revoke_others(
    State(app): State<AppState>,
    Bearer(token): Bearer,
) -> ApiResult<axum::Json<RevokedCount>> {
    revoke_many(&app, token, false).await.map(axum::Json)
}

#[utoipa::path(post, path = "/v1/sessions/revoke-all", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "How many devices were signed out, this one included", body = RevokedCount),
        SignedInErrors,
    ))]
pub async fn revoke_all(
    State(app): State<AppState>,
    Bearer(token): Bearer,
) -> ApiResult<axum::Json<RevokedCount>> {
    revoke_many(&app, token, true).await.map(axum::Json)
}

//! The account: `GET /v1/me`, `PATCH /v1/me`.

use axum::extract::State;
use latch_protocol::{normalize_name, Account, ErrorBody, UpdateAccountRequest};

use super::{Bearer, Json, SignedInErrors, TooLarge};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

#[utoipa::path(get, path = "/v1/me", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Account),
        (status = 401, description = "unauthenticated or session_revoked (with reason, by_device, at)", body = ErrorBody),
        (status = 503, description = "unavailable", body = ErrorBody),
    ))]
pub async fn get(
    State(app): State<AppState>,
    Bearer(token): Bearer,
) -> ApiResult<axum::Json<Account>> {
    let account = app
        .as_session(token, false, |store, me, _| {
            store::account(store, &me.account_id)
        })
        .await?;
    Ok(axum::Json(account.to_wire()))
}

#[utoipa::path(patch, path = "/v1/me", tag = "account", security(("bearer" = [])),
    request_body = UpdateAccountRequest,
    responses(
        (status = 200, description = "The renamed account", body = Account),
        (status = 400, description = "invalid_request: a name that breaks the name rule (empty, over 64 characters, a control, invisible or text-direction character)", body = ErrorBody),
        SignedInErrors,
        TooLarge,
    ))]
pub async fn rename(
    State(app): State<AppState>,
    Bearer(token): Bearer,
    Json(request): Json<UpdateAccountRequest>,
) -> ApiResult<axum::Json<Account>> {
    let name = normalize_name(&request.display_name)
        .map_err(|e| ApiError::invalid(format!("display_name {e}")))?;
    let account = app
        .as_session(token, true, move |store, me, _| {
            store::rename_account(store, &me.account_id, &name)
        })
        .await?;
    Ok(axum::Json(account.to_wire()))
}

//! `GET /v1/events`: the live stream of the account's session changes.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use latch_protocol::ErrorBody;

use super::Bearer;
use crate::error::ApiResult;
use crate::events::{open_stream, StreamStart};
use crate::AppState;

#[utoipa::path(get, path = "/v1/events", tag = "events", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id; an id the server no longer has gets a `resync` event")),
    responses(
        (status = 200, description = "Server-Sent Events: `session.created`, `session.updated` (data: a session), `session.revoked` (data: {session_id, reason, by_device, at}), `resync` (data: {}); a comment every 15 s", content_type = "text/event-stream", body = String),
        (status = 401, description = "unauthenticated or session_revoked", body = ErrorBody),
        (status = 503, description = "unavailable", body = ErrorBody),
    ))]
pub async fn events(
    State(app): State<AppState>,
    Bearer(token): Bearer,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let hub = app.db.hub().clone();
    // Subscribed inside the transaction that checks the session: events are
    // published under the same database lock, so a revocation committed
    // after this check is in `live`, and one committed before fails it.
    let (me, live) = app
        .as_session(token, false, move |_, _, me, _| {
            Ok((me.clone(), hub.subscribe(&me.account_id)))
        })
        .await?;
    let last_event_id = headers
        .get("last-event-id")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    tracing::debug!(session = %app.tag(&me.id), resume = last_event_id.is_some(), "event stream opened");
    open_stream(
        &app,
        StreamStart {
            account_id: me.account_id,
            session_id: me.id,
            last_event_id,
            live,
        },
    )
    .await
}

//! `GET /v1/events`: the live stream of the account's session changes, as
//! Server-Sent Events (`docs/protocol.md`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::IntoResponse;
use futures::Stream;
use latch_protocol::Event;
use tokio::sync::{broadcast, watch};

use super::{Bearer, SignedInErrors};
use crate::error::{ApiError, ApiResult};
use crate::hub::StoredEvent;
use crate::state::AppState;

/// How often a quiet stream sends a comment line (clients reconnect after 45 s
/// of silence). Each one is sent only after the stream's session is checked
/// again, so a session that ended without its stream hearing it (an event
/// lost, a change made outside this server) ends its stream by then.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[utoipa::path(get, path = "/v1/events", tag = "events", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id; an id the server no longer has gets a `resync` event")),
    responses(
        (status = 200, description = "Server-Sent Events: `session.created`, `session.updated` (data: a session), `session.revoked` (data: {session_id, reason, by_device, at}), `resync` (data: {}); a comment every 15 s", content_type = "text/event-stream", body = String),
        SignedInErrors,
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
        .as_session(token.clone(), false, move |_, me, _| {
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
            token,
            last_event_id,
            live,
        },
    )
    .await
}

/// Who a stream belongs to and where it starts.
struct StreamStart {
    account_id: String,
    session_id: String,
    /// Its bearer token, to check the session again at each keep-alive.
    token: String,
    /// The `Last-Event-ID` header as sent, if any.
    last_event_id: Option<String>,
    /// Subscribed in the transaction that authenticated the session, so a
    /// revocation committed after that check is in here.
    live: broadcast::Receiver<Arc<StoredEvent>>,
}

/// Opens the stream: replays what the client missed (or tells it to resync),
/// then follows the hub until the client goes, the server stops, this
/// stream's own session is revoked (after it has been told why), the stream
/// falls behind (after `resync`), or a keep-alive finds its session gone.
///
/// The stream is polled by the connection itself: no task of its own and no
/// channel between them. With 10,000 streams held open, a spawned task and
/// its 64-slot channel per stream were a few KiB each of latchd's memory
/// and a second wake-up per event; the frames and their order are the same.
async fn open_stream(
    app: &AppState,
    start: StreamStart,
) -> crate::error::ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    // `live` was subscribed before the log is read: events commit and publish
    // under the database lock, so everything is either in what we read or in
    // `live` (duplicates are skipped by id).
    let account_id = start.account_id.clone();
    let (backlog, resync_at, floor) = match start.last_event_id {
        None => (Vec::new(), None, 0),
        Some(raw) => {
            app.db
                .read(move |store| {
                    let (pruned_through, newest) = store.event_bounds()?;
                    match raw.trim().parse::<i64>() {
                        Ok(last) if last >= pruned_through && last <= newest => {
                            Ok((store.events_after(&account_id, last)?, None, last))
                        }
                        _ => Ok((Vec::new(), Some(newest), newest)),
                    }
                })
                .await?
        }
    };
    let follow = Follow {
        resync_at,
        backlog: backlog.into_iter(),
        live: start.live,
        shutdown: app.shutdown.clone(),
        own: start.session_id,
        account_id: start.account_id,
        floor,
        ended: false,
        app: app.clone(),
        token: start.token,
        keep_alive: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
    };
    let frames = futures::stream::unfold(follow, |mut follow| async move {
        let frame = follow.next_frame().await?;
        follow
            .keep_alive
            .as_mut()
            .reset(tokio::time::Instant::now() + KEEP_ALIVE);
        Some((Ok(frame), follow))
    });
    Ok(Sse::new(frames))
}

/// One stream's state between frames.
struct Follow {
    /// A `resync` to send first, with the newest event id.
    resync_at: Option<i64>,
    /// Events from the log after `Last-Event-ID`, sent before live ones.
    backlog: std::vec::IntoIter<StoredEvent>,
    live: broadcast::Receiver<Arc<StoredEvent>>,
    shutdown: watch::Receiver<bool>,
    own: String,
    account_id: String,
    /// The id of the last event sent (or replayed up to).
    floor: i64,
    /// This stream's own revocation, or a `resync` after falling behind,
    /// has been sent: nothing more is.
    ended: bool,
    app: AppState,
    /// The session's bearer token, checked again at each keep-alive.
    token: String,
    /// When a quiet stream next sends a keep-alive comment.
    keep_alive: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Follow {
    /// The next frame, or `None` when the stream is over.
    async fn next_frame(&mut self) -> Option<SseEvent> {
        if self.ended {
            return None;
        }
        if let Some(newest) = self.resync_at.take() {
            return Some(
                SseEvent::default()
                    .id(newest.to_string())
                    .event(Event::RESYNC)
                    .data("{}"),
            );
        }
        if let Some(event) = self.backlog.next() {
            self.floor = event.id;
            return Some(self.frame(&event));
        }
        loop {
            tokio::select! {
                _ = shutdown_signalled(&mut self.shutdown) => return None,
                () = self.keep_alive.as_mut() => {
                    if !self.session_still_live().await {
                        return None;
                    }
                    return Some(SseEvent::default().comment(""));
                }
                received = self.live.recv() => match received {
                    Ok(event) => {
                        if event.account_id != self.account_id || event.id <= self.floor {
                            continue;
                        }
                        self.floor = event.id;
                        return Some(self.frame(&event));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to follow: what it missed may have been
                        // its own revocation, so it is told to refetch and
                        // the stream ends. Reconnecting checks the session.
                        self.ended = true;
                        return Some(SseEvent::default().event(Event::RESYNC).data("{}"));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }

    /// Whether the stream's session is still live. Only a refusal ends the
    /// stream: a database that can't answer now is asked again at the next
    /// keep-alive, not a reason to drop every stream at once.
    async fn session_still_live(&self) -> bool {
        match self
            .app
            .as_session(self.token.clone(), false, |_, _, _| Ok(()))
            .await
        {
            Ok(()) => true,
            Err(ApiError::Unauthenticated | ApiError::SessionRevoked(_)) => {
                tracing::debug!(session = %self.app.tag(&self.own), "event stream's session ended; closing it");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "can't check an event stream's session; keeping it open");
                true
            }
        }
    }

    /// `stored` as this stream sends it; after its own revocation the stream
    /// ends.
    fn frame(&mut self, stored: &StoredEvent) -> SseEvent {
        let mut event = stored.event.clone();
        let own = stored.session_id == self.own;
        if let Event::SessionCreated(s) | Event::SessionUpdated(s) = &mut event {
            s.current = own;
        }
        self.ended = own && matches!(event, Event::SessionRevoked(_));
        SseEvent::default()
            .id(stored.id.to_string())
            .event(event.name())
            .data(event.data().to_string())
    }
}

pub(crate) async fn shutdown_signalled(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            // The server is gone without saying so: nothing more will come.
            return;
        }
    }
}

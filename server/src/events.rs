//! Live events: the hub every stream listens on, and the `GET /v1/events`
//! stream itself (SSE exactly as DESIGN §3).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use latch_protocol::Event;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::store;
use crate::AppState;

/// How often a quiet stream sends a comment line (clients reconnect after 45 s
/// of silence).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// An event as the log holds it. Session payloads say `current: false`; each
/// stream marks its own session.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub account_id: String,
    pub session_id: String,
    pub event: Event,
}

/// Fans committed events out to every open stream.
#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<StoredEvent>>,
}

impl Hub {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(4096).0,
        }
    }

    pub fn publish(&self, event: StoredEvent) {
        // No stream listening is not an error: the event is in the log.
        let _ = self.sender.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.sender.subscribe()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

/// Who a stream belongs to and where it starts.
pub struct StreamStart {
    pub account_id: String,
    pub session_id: String,
    /// The `Last-Event-ID` header as sent, if any.
    pub last_event_id: Option<String>,
    /// Subscribed before the session was authenticated, so a revocation
    /// committed after that check is in here.
    pub live: broadcast::Receiver<Arc<StoredEvent>>,
}

/// Opens the stream: replays what the client missed (or tells it to resync),
/// then follows the hub until the client goes, the server stops, or this
/// stream's own session is revoked — after it has been told why.
pub async fn open_stream(
    app: &AppState,
    start: StreamStart,
) -> crate::error::ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    // `live` was subscribed before the log is read: events commit and publish
    // under the database lock, so everything is either in what we read or in
    // `live` (duplicates are skipped by id).
    let mut live = start.live;
    let account_id = start.account_id.clone();
    let (backlog, resync_at, floor) = match start.last_event_id {
        None => (Vec::new(), None, 0),
        Some(raw) => {
            app.db
                .read(move |conn| {
                    let (pruned_through, newest) = store::event_bounds(conn)?;
                    match raw.trim().parse::<i64>() {
                        Ok(last) if last >= pruned_through && last <= newest => {
                            Ok((store::events_after(conn, &account_id, last)?, None, last))
                        }
                        _ => Ok((Vec::new(), Some(newest), newest)),
                    }
                })
                .await?
        }
    };
    let (out, out_rx) = mpsc::channel::<Result<SseEvent, Infallible>>(64);
    let mut shutdown = app.shutdown.clone();
    let own = start.session_id;
    let account_id = start.account_id;
    tokio::spawn(async move {
        if let Some(newest) = resync_at {
            let resync = SseEvent::default()
                .id(newest.to_string())
                .event(Event::RESYNC)
                .data("{}");
            if out.send(Ok(resync)).await.is_err() {
                return;
            }
        }
        let mut floor = floor;
        for event in backlog {
            floor = event.id;
            if !deliver(&out, &event, &own).await {
                return;
            }
        }
        loop {
            tokio::select! {
                _ = shutdown_signalled(&mut shutdown) => return,
                _ = out.closed() => return,
                received = live.recv() => match received {
                    Ok(event) => {
                        if event.account_id != account_id || event.id <= floor {
                            continue;
                        }
                        floor = event.id;
                        if !deliver(&out, &event, &own).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to follow: the client refetches.
                        let resync = SseEvent::default().event(Event::RESYNC).data("{}");
                        if out.send(Ok(resync)).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(out_rx)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

async fn shutdown_signalled(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            // The server is gone without saying so: nothing more will come.
            return;
        }
    }
}

/// Sends one event; false when the stream is over (client gone, or this
/// was the stream's own revocation).
async fn deliver(
    out: &mpsc::Sender<Result<SseEvent, Infallible>>,
    stored: &StoredEvent,
    own_session: &str,
) -> bool {
    let mut event = stored.event.clone();
    let own = stored.session_id == own_session;
    if let Event::SessionCreated(s) | Event::SessionUpdated(s) = &mut event {
        s.current = own;
    }
    let frame = SseEvent::default()
        .id(stored.id.to_string())
        .event(event.name())
        .data(event.data().to_string());
    if out.send(Ok(frame)).await.is_err() {
        return false;
    }
    !(own && matches!(event, Event::SessionRevoked(_)))
}

//! Live events: the hub every stream listens on, and the `GET /v1/events`
//! stream itself (SSE exactly as DESIGN §3).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use latch_protocol::Event;
use tokio::sync::{broadcast, watch};

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

/// Fans committed events out to the open streams of their account.
///
/// One broadcast channel per account with a stream open, not one for the
/// whole server: with a single channel every event woke every stream, so one
/// revoke-all of 100 sessions with 10,000 streams open was a million task
/// wake-ups to deliver 100 × 100 frames, and the revoking call answered in
/// ~250 ms instead of a few.
#[derive(Clone, Default)]
pub struct Hub {
    accounts: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<StoredEvent>>>>>,
}

/// Events one account's stream may fall behind by before it is told to
/// resync (a revoke-all of the 100-session cap is 100 events).
const ACCOUNT_BACKLOG: usize = 512;

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    fn accounts(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<Arc<StoredEvent>>>> {
        // Nothing panics while holding it; a poisoned map is still whole.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn publish(&self, event: StoredEvent) {
        let mut accounts = self.accounts();
        let Some(sender) = accounts.get(&event.account_id) else {
            // No stream listening is not an error: the event is in the log.
            return;
        };
        let account_id = event.account_id.clone();
        if sender.send(Arc::new(event)).is_err() {
            // Its last stream has gone.
            accounts.remove(&account_id);
        }
    }

    /// Follows `account_id`'s events. To miss none, subscribe under the
    /// database lock (inside the transaction that checks the session):
    /// events are published under it too.
    pub fn subscribe(&self, account_id: &str) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.accounts()
            .entry(account_id.to_owned())
            .or_insert_with(|| broadcast::channel(ACCOUNT_BACKLOG).0)
            .subscribe()
    }

    /// Forgets the accounts whose streams have all closed (the sweep calls it).
    pub fn prune(&self) {
        self.accounts()
            .retain(|_, sender| sender.receiver_count() > 0);
    }

    /// Accounts with a stream open.
    pub fn accounts_followed(&self) -> usize {
        self.accounts().len()
    }
}

/// Who a stream belongs to and where it starts.
pub struct StreamStart {
    pub account_id: String,
    pub session_id: String,
    /// The `Last-Event-ID` header as sent, if any.
    pub last_event_id: Option<String>,
    /// Subscribed in the transaction that authenticated the session, so a
    /// revocation committed after that check is in here.
    pub live: broadcast::Receiver<Arc<StoredEvent>>,
}

/// Opens the stream: replays what the client missed (or tells it to resync),
/// then follows the hub until the client goes, the server stops, or this
/// stream's own session is revoked — after it has been told why.
///
/// The stream is polled by the connection itself: no task of its own and no
/// channel between them. With 10,000 streams held open, a spawned task and
/// its 64-slot channel per stream were a few KiB each of latchd's memory
/// and a second wake-up per event; the frames and their order are the same.
pub async fn open_stream(
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
    let follow = Follow {
        resync_at,
        backlog: backlog.into_iter(),
        live: start.live,
        shutdown: app.shutdown.clone(),
        own: start.session_id,
        account_id: start.account_id,
        floor,
        ended: false,
    };
    let frames = futures::stream::unfold(follow, |mut follow| async move {
        let frame = follow.next_frame().await?;
        Some((Ok(frame), follow))
    });
    Ok(Sse::new(frames).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
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
    /// This stream's own revocation has been sent.
    ended: bool,
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
                received = self.live.recv() => match received {
                    Ok(event) => {
                        if event.account_id != self.account_id || event.id <= self.floor {
                            continue;
                        }
                        self.floor = event.id;
                        return Some(self.frame(&event));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to follow: the client refetches.
                        return Some(SseEvent::default().event(Event::RESYNC).data("{}"));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
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

async fn shutdown_signalled(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            // The server is gone without saying so: nothing more will come.
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use latch_protocol::{Revocation, RevocationReason, SessionId, SessionRevoked};

    use super::*;

    fn revoked(id: i64, account_id: &str) -> StoredEvent {
        StoredEvent {
            id,
            account_id: account_id.to_owned(),
            session_id: format!("ses_{id}"),
            event: Event::SessionRevoked(SessionRevoked {
                session_id: SessionId(format!("ses_{id}")),
                revocation: Revocation {
                    reason: RevocationReason::Terminated,
                    by_device: None,
                    at: chrono::Utc::now(),
                },
            }),
        }
    }

    #[test]
    fn an_event_reaches_its_accounts_streams_only() {
        let hub = Hub::new();
        let mut a1 = hub.subscribe("acc_a");
        let mut a2 = hub.subscribe("acc_a");
        let mut b = hub.subscribe("acc_b");
        hub.publish(revoked(1, "acc_a"));
        assert_eq!(a1.try_recv().map(|e| e.id).ok(), Some(1));
        assert_eq!(a2.try_recv().map(|e| e.id).ok(), Some(1));
        assert!(b.try_recv().is_err(), "another account's stream heard it");
        hub.publish(revoked(2, "acc_nobody"));
        assert_eq!(hub.accounts_followed(), 2);
    }

    #[test]
    fn an_account_whose_streams_closed_is_forgotten() {
        let hub = Hub::new();
        let a = hub.subscribe("acc_a");
        let b = hub.subscribe("acc_b");
        drop(a);
        hub.publish(revoked(1, "acc_a"));
        assert_eq!(hub.accounts_followed(), 1, "forgotten on publish");
        drop(b);
        hub.prune();
        assert_eq!(hub.accounts_followed(), 0, "forgotten by the sweep");
    }
}

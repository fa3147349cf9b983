//! The in-memory hub: committed events, fanned out to the open streams of
//! their account (the streams themselves are `http::stream`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use latch_protocol::Event;
use tokio::sync::broadcast;

/// An event as the log holds it. Session payloads say `current: false`; each
/// stream marks its own session.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub account_id: String,
    pub session_id: String,
    pub event: Event,
}

/// Events recorded by a transaction, published once it commits.
pub type Outbox = Vec<StoredEvent>;

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

//! The client's two ends toward the shell: deep links in (queued in
//! [`LinkIntake`](crate::link_intake::LinkIntake) until the client is
//! ready, then opened one at a time, in order), and every change out to the
//! window through a [`Subscription`].

use std::collections::VecDeque;

use tokio::sync::{broadcast, watch};

use super::LatchClient;
use crate::error::ClientError;
use crate::view::{AuthState, SessionsSnapshot};

/// One change for the window.
// One value at a time crosses; boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    Auth(AuthState),
    Sessions(SessionsSnapshot),
    /// A deep link was refused: why, in words.
    LinkRefused(ClientError),
}

/// Every change after the state [`LatchClient::connect`] answered.
pub struct Subscription {
    auth: watch::Receiver<AuthState>,
    sessions: watch::Receiver<SessionsSnapshot>,
    link_errors: broadcast::Receiver<ClientError>,
    /// Refusals from before anyone listened.
    backlog: VecDeque<ClientError>,
}

impl Subscription {
    /// The next change; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<Update> {
        if let Some(error) = self.backlog.pop_front() {
            return Some(Update::LinkRefused(error));
        }
        loop {
            tokio::select! {
                changed = self.auth.changed() => {
                    changed.ok()?;
                    return Some(Update::Auth(self.auth.borrow_and_update().clone()));
                }
                changed = self.sessions.changed() => {
                    changed.ok()?;
                    return Some(Update::Sessions(self.sessions.borrow_and_update().clone()));
                }
                refused = self.link_errors.recv() => match refused {
                    Ok(error) => return Some(Update::LinkRefused(error)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }
}

impl LatchClient {
    /// A URL that asked the app to open it (from the OS, in any of its
    /// ways): parsed, de-duplicated and queued; the client opens it once
    /// ready. A refusal reaches the window as [`Update::LinkRefused`].
    pub fn offer_link(&self, url: &str) -> bool {
        self.inner.intake.offer(url)
    }

    /// The state now, and a subscription to every change after it. It
    /// subscribes before it reads, so a change made meanwhile (a cold-start
    /// link's sign-in) is in the answer or in the subscription, never lost.
    pub async fn connect(&self) -> (AuthState, SessionsSnapshot, Subscription) {
        self.ready().await;
        let mut auth = self.inner.auth.subscribe();
        let mut sessions = self.inner.sessions.subscribe();
        // Under the lock that `tell_link_refused` takes: a refusal is in
        // the backlog or on the channel, never in neither.
        let (link_errors, backlog) = {
            let mut core = self.core();
            let backlog = std::mem::take(&mut core.unheard_link_errors).into();
            (self.inner.link_errors.subscribe(), backlog)
        };
        let now_auth = auth.borrow_and_update().clone();
        let now_sessions = sessions.borrow_and_update().clone();
        let subscription = Subscription {
            auth,
            sessions,
            link_errors,
            backlog,
        };
        (now_auth, now_sessions, subscription)
    }

    /// Opens queued links one at a time, in arrival order.
    pub(super) fn spawn_link_consumer(&self) {
        let Some(mut links) = self.inner.intake.take_receiver() else {
            return;
        };
        // A weak handle: the queue must not keep the client alive.
        let me = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(link) = links.recv().await {
                let Some(inner) = me.upgrade() else { return };
                let client = LatchClient { inner };
                let result = match link {
                    Ok(link) => client.open_link(&link).await.map(|_| ()),
                    Err(e) => Err(ClientError::InvalidLink(e.to_string())),
                };
                if let Err(error) = result {
                    tracing::info!(code = error.code(), "deep link refused");
                    client.tell_link_refused(error);
                }
            }
        });
    }

    /// Refused links no window has heard of yet (they go to the first
    /// that connects).
    pub fn unheard_link_refusals(&self) -> usize {
        self.core().unheard_link_errors.len()
    }

    fn tell_link_refused(&self, error: ClientError) {
        let mut core = self.core();
        if self.inner.link_errors.receiver_count() == 0 {
            core.unheard_link_errors.push(error);
        } else {
            let _ = self.inner.link_errors.send(error);
        }
    }
}

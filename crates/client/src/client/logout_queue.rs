//! "Log out" signs this device out at once, even offline; the server is
//! told later. The tokens still to be told wait in the secret store.

use latch_protocol::SessionToken;
use serde::{Deserialize, Serialize};

use super::persistence::PENDING_LOGOUTS_KEY;
use super::LatchClient;
use crate::error::ClientError;
use crate::server_url::{migrate_localhost, ServerUrl};

#[derive(Serialize, Deserialize)]
struct PendingLogout {
    server: String,
    token: SessionToken,
}

impl LatchClient {
    pub(super) fn queue_logout(&self, server: &ServerUrl, token: SessionToken) {
        let mut queue = self.pending_logouts();
        queue.push(PendingLogout {
            server: server.as_str().to_owned(),
            token,
        });
        self.save_pending_logouts(&queue);
    }

    fn pending_logouts(&self) -> Vec<PendingLogout> {
        self.secret(PENDING_LOGOUTS_KEY)
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    fn save_pending_logouts(&self, queue: &[PendingLogout]) {
        if queue.is_empty() {
            self.forget(PENDING_LOGOUTS_KEY);
        } else if let Ok(json) = serde_json::to_string(queue) {
            self.keep(PENDING_LOGOUTS_KEY, &json);
        }
    }

    /// How many logouts still wait to reach their server.
    pub fn pending_logout_count(&self) -> usize {
        self.pending_logouts().len()
    }

    /// Tries every queued logout once; keeps the ones the server didn't get.
    pub async fn flush_pending_logouts(&self) {
        let attempted = self.pending_logouts();
        let mut undelivered = Vec::new();
        for logout in &attempted {
            // Queued by a version that still allowed http://localhost.
            let server = migrate_localhost(&logout.server);
            let delivered = match ServerUrl::parse(&server).and_then(|url| self.api_for(url)) {
                Ok(api) => matches!(
                    api.delete_session(&logout.token, "current").await,
                    Ok(()) | Err(ClientError::SessionEnded(_))
                ),
                // An address that no longer parses can never be told.
                Err(_) => true,
            };
            if !delivered {
                undelivered.push(logout.token.clone());
            }
        }
        // Keep what failed, plus anything queued while we were trying.
        let remaining: Vec<PendingLogout> = self
            .pending_logouts()
            .into_iter()
            .filter(|l| {
                undelivered.contains(&l.token) || !attempted.iter().any(|a| a.token == l.token)
            })
            .collect();
        self.save_pending_logouts(&remaining);
    }

    pub(super) fn spawn_logout_retries(&self) {
        use std::sync::atomic::Ordering;
        if self.pending_logouts().is_empty()
            || self.inner.logout_retry_running.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.flush_pending_logouts().await;
                if me.pending_logouts().is_empty() {
                    break;
                }
                tokio::time::sleep(me.inner.config.logout_retry_every).await;
            }
            me.inner.logout_retry_running.store(false, Ordering::SeqCst);
        });
    }
}

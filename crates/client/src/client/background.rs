//! The background work of a signed-in account: the event stream, the
//! heartbeat, and the server's lifetimes.

use std::time::Duration;

use futures::StreamExt;
use latch_protocol::{Event, SessionState};
use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{upsert, LatchClient};
use crate::error::ClientError;
use crate::sse::{SseDecoder, SseFrame};
use crate::state::SignInState;
use crate::status::Lifetimes;

/// Whether a sign-in was just made here or restored from the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Freshness {
    JustSignedIn,
    Restored,
}

impl LatchClient {
    pub(super) fn start_background(&self, freshness: Freshness) {
        let cancel = CancellationToken::new();
        let generation = {
            let mut core = self.core();
            if let Some(old) = core.account.background.replace(cancel.clone()) {
                old.cancel();
            }
            core.account.generation
        };
        if self.inner.config.live_events {
            let stream = self.clone();
            let stream_cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = stream_cancel.cancelled() => {}
                    _ = stream.run_event_stream(generation) => {}
                }
            });
        }
        let heartbeat = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = heartbeat.run_heartbeat(generation, freshness) => {}
            }
        });
        if freshness == Freshness::JustSignedIn {
            // The exchange just answered the account and session.
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            if let Ok(account) = me
                .as_session(|api, token| async move { api.me(&token).await })
                .await
            {
                if let SignInState::SignedIn {
                    account: current, ..
                } = &mut me.core().account.state
                {
                    *current = account;
                }
                me.persist();
                me.publish();
            }
        });
    }

    /// Follows `/v1/events` for one sign-in: reconnects with exponential
    /// backoff and jitter, resumes with `Last-Event-ID`, refetches the list
    /// after every (re)connect and on `resync`, and reconnects when the
    /// stream falls silent.
    async fn run_event_stream(&self, generation: u64) {
        let mut last_event_id: Option<String> = None;
        let mut failures: u32 = 0;
        loop {
            let Ok((api, token, current)) = self.signed_in() else {
                return;
            };
            if current != generation {
                return;
            }
            match api.events(&token, last_event_id.as_deref()).await {
                Err(ClientError::SessionEnded(revocation)) => {
                    self.end_session(generation, revocation);
                    return;
                }
                Err(error) => {
                    failures += 1;
                    self.stream_lost(generation, &error);
                }
                Ok(response) => {
                    self.list_sessions().await;
                    let mut bytes = response.bytes_stream();
                    let mut decoder = SseDecoder::default();
                    loop {
                        let chunk = match tokio::time::timeout(
                            self.inner.config.silence_timeout,
                            bytes.next(),
                        )
                        .await
                        {
                            Ok(Some(Ok(chunk))) => chunk,
                            // Ended, broken, or silent past the limit.
                            _ => break,
                        };
                        let Ok(frames) = decoder.push(&chunk) else {
                            break;
                        };
                        for frame in frames {
                            if frame.id.is_some() {
                                last_event_id = frame.id.clone();
                            }
                            if let Some(event) = known_event(&frame) {
                                if self.apply_event(generation, event).await {
                                    return;
                                }
                            }
                        }
                    }
                    // The first retry after a working stream is quick.
                    failures = 1;
                }
            }
            let delay = backoff(failures, self.inner.config.backoff_cap);
            tracing::debug!(?delay, "event stream reconnecting");
            tokio::time::sleep(delay).await;
        }
    }

    /// The event stream can't get through: the list is kept but shown as
    /// last known, with why, until a reconnect refetches it.
    fn stream_lost(&self, generation: u64, error: &ClientError) {
        {
            let mut core = self.core();
            if core.account.generation != generation || core.account.sessions_error.is_some() {
                return;
            }
            core.account.sessions_error = Some(error.to_string());
        }
        self.publish();
    }

    /// Applies one event; true when it ended this device's session.
    async fn apply_event(&self, generation: u64, event: Event) -> bool {
        let own_id = match self.core().account.state.signed_in() {
            Ok((_, session, _)) => session.id.clone(),
            Err(_) => return true,
        };
        match event {
            Event::SessionRevoked(revoked) if revoked.session_id == own_id => {
                self.end_session(generation, Some(revoked.revocation));
                return true;
            }
            Event::SessionRevoked(revoked) => {
                self.core()
                    .account
                    .sessions
                    .retain(|s| s.id != revoked.session_id);
            }
            Event::SessionCreated(session) | Event::SessionUpdated(session) => {
                let mut core = self.core();
                if session.current {
                    core.device_name = session.device.name.clone();
                    if let SignInState::SignedIn { session: own, .. } = &mut core.account.state {
                        *own = session.clone();
                    }
                }
                upsert(&mut core.account.sessions, session);
            }
            Event::Resync => {
                self.list_sessions().await;
                return false;
            }
        }
        self.core().account.fetched_at = Some(self.now());
        self.persist();
        self.publish();
        false
    }

    /// Tells the server `active`/`idle` when it changes and every
    /// `heartbeat_every` while signed in. Idle: no input or focus for
    /// `idle_after`.
    async fn run_heartbeat(&self, generation: u64, freshness: Freshness) {
        // A new session starts `active` on the server: nothing to say yet.
        let mut last_sent = match freshness {
            Freshness::JustSignedIn => Some((SessionState::Active, Instant::now())),
            Freshness::Restored => None,
        };
        loop {
            let (state, idle_at) = {
                let core = self.core();
                let idle_at = core.last_input + self.inner.config.idle_after;
                let active = core.focused && Instant::now() < idle_at;
                (
                    if active {
                        SessionState::Active
                    } else {
                        SessionState::Idle
                    },
                    idle_at,
                )
            };
            let due = match last_sent {
                Some((sent, at)) => {
                    sent != state || at.elapsed() >= self.inner.config.heartbeat_every
                }
                None => true,
            };
            let mut retry_at = None;
            if due {
                let Ok((api, token, current)) = self.signed_in() else {
                    return;
                };
                if current != generation {
                    return;
                }
                match api.heartbeat(&token, state).await {
                    Ok(()) => last_sent = Some((state, Instant::now())),
                    Err(ClientError::SessionEnded(revocation)) => {
                        self.end_session(generation, revocation);
                        return;
                    }
                    // Offline: try again shortly; the event stream shows the truth.
                    Err(_) => {
                        retry_at = Some(
                            Instant::now()
                                + self
                                    .inner
                                    .config
                                    .heartbeat_every
                                    .min(Duration::from_secs(5)),
                        )
                    }
                }
            }
            let next_beat = match (retry_at, last_sent) {
                (Some(at), _) => at,
                (None, Some((_, at))) => at + self.inner.config.heartbeat_every,
                (None, None) => Instant::now() + Duration::from_secs(5),
            };
            let wake = if state == SessionState::Active {
                next_beat.min(idle_at)
            } else {
                next_beat
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = self.inner.activity.notified() => {}
            }
        }
    }

    pub(super) fn spawn_lifetimes_refresh(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let Ok(api) = me.api() else { return };
            if let Ok(info) = api.server_info().await {
                me.core().account.lifetimes = lifetimes_of(&info);
                me.persist();
                me.publish();
            }
        });
    }
}

/// The event a frame carries, or None for one this version doesn't know
/// (a newer server's event type, or a body it can't read): skipped, so the
/// stream goes on. Unknown fields in a known event are ignored.
fn known_event(frame: &SseFrame) -> Option<Event> {
    match Event::parse(&frame.event, &frame.data) {
        Ok(event) => Some(event),
        Err(e) => {
            tracing::debug!(error = %e, "ignored an event");
            None
        }
    }
}

pub(super) fn lifetimes_of(info: &latch_protocol::ServerInfo) -> Lifetimes {
    Lifetimes {
        idle_timeout_s: info.idle_timeout_s,
        absolute_lifetime_s: info.absolute_lifetime_s,
    }
}

/// Exponential backoff with jitter: 250 ms × 2^(n-1), capped, then a random
/// point in its upper half so many clients don't reconnect in step.
fn backoff(failures: u32, cap: Duration) -> Duration {
    let base =
        Duration::from_millis(250).saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let ceiling = base.min(cap);
    let low = ceiling / 2;
    let jitter_ms =
        rand::thread_rng().gen_range(0..=u64::try_from((ceiling - low).as_millis()).unwrap_or(0));
    low + Duration::from_millis(jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a newer server may send: an event type this version doesn't
    /// know, and a known event with fields it doesn't know.
    #[test]
    fn unknown_events_are_skipped_and_unknown_fields_ignored() {
        let session = serde_json::json!({
            "id": "ses_1",
            "device": {"name": "Pixel 8", "platform": "android", "os_version": "15",
                       "app": "mobile", "app_version": "1", "trust": "high"},
            "ip": "127.0.0.1",
            "created_at": "2026-11-27T12:00:00Z",
            "last_active_at": "2026-11-27T12:00:00Z",
            "expires_at": "2026-12-11T12:00:00Z",
            "state": "active",
            "current": false,
            "risk": {"score": 3},
        });
        let stream = format!(
            "id: 1\nevent: session.flagged\ndata: {{\"session_id\":\"ses_1\"}}\n\n\
             id: 2\nevent: session.updated\ndata: {session}\n\n"
        );
        let frames = SseDecoder::default().push(stream.as_bytes()).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(known_event(&frames[0]), None);
        match known_event(&frames[1]) {
            Some(Event::SessionUpdated(s)) => assert_eq!(s.device.name, "Pixel 8"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let cap = Duration::from_secs(30);
        for failures in 1..40 {
            let d = backoff(failures, cap);
            assert!(d <= cap, "{failures}: {d:?}");
        }
        assert!(backoff(1, cap) <= Duration::from_millis(250));
        assert!(backoff(30, cap) >= Duration::from_secs(15));
        assert!(backoff(3, Duration::from_millis(100)) <= Duration::from_millis(100));
    }
}

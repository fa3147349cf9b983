//! Deep-link intake: every `app.latch:` URL that opens the app, whatever the
//! path it came by, is parsed once into a [`DeepLink`] here, de-duplicated,
//! and queued in order for the client.
//!
//! The paths: a cold start with the URL as the only argument (the shell reads
//! it once in setup), a second launch forwarded by the single-instance plugin
//! (it calls the deep-link plugin, whose `on_open_url` the shell hears), and
//! macOS's open-URL event. The same URL can arrive twice (the cold-start URL
//! is both emitted during plugin setup and returned by `get_current()`; a
//! browser may fire a link twice), so a URL seen within the last second is
//! dropped. A later repeat is a person clicking the link again and is handed
//! on, so they hear why it did nothing.
//!
//! Links that arrive before the client is ready (a cold start: the URL is
//! known before the last run is restored) wait in the queue; the client
//! takes them once it is ready.
//!
//! The URL carries a one-time code: it is never logged, never
//! `Debug`-printed ([`DeepLink`] redacts itself), and only a SHA-256 digest
//! of it is kept for de-duplication. What is logged is "deep link received"
//! with the link's flow id, which is no secret on its own (the exchange
//! needs the code and the verifier too) and lets a log, a support request or
//! the packaging test tie a received link to the sign-in that sent it.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::deep_link::{DeepLink, DeepLinkError};

/// How long a link is remembered to drop its duplicates.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(1);

/// A link as it came in: parsed, or why it isn't a sign-in link.
pub type Incoming = Result<DeepLink, DeepLinkError>;

/// The queue between the ways a link arrives and the client.
pub struct LinkIntake {
    recent: Mutex<VecDeque<([u8; 32], Instant)>>,
    queue: mpsc::UnboundedSender<Incoming>,
    /// Taken once, by the client when it is ready.
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Incoming>>>,
}

impl Default for LinkIntake {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkIntake {
    pub fn new() -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        Self {
            recent: Mutex::new(VecDeque::new()),
            queue,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// Takes a URL in; returns whether it was new (not a duplicate of one
    /// that arrived within [`DUPLICATE_WINDOW`]).
    pub fn offer(&self, url: &str) -> bool {
        self.offer_at(url, Instant::now())
    }

    fn offer_at(&self, url: &str, now: Instant) -> bool {
        let digest: [u8; 32] = Sha256::digest(url.as_bytes()).into();
        {
            // The list stays consistent at every step, so a panic elsewhere
            // while holding the lock leaves nothing half-done.
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            recent.retain(|(_, seen)| now.saturating_duration_since(*seen) < DUPLICATE_WINDOW);
            if recent.iter().any(|(d, _)| *d == digest) {
                tracing::debug!("duplicate deep link ignored");
                return false;
            }
            recent.push_back((digest, now));
        }
        let link = DeepLink::parse(url);
        match &link {
            Ok(link) => tracing::info!(flow = %link.flow_id, "deep link received"),
            Err(_) => tracing::info!("deep link received (not a well-formed sign-in link)"),
        }
        // Fails only when the client is gone, and the app with it.
        let _ = self.queue.send(link);
        true
    }

    /// The queue's far end, once: links offered so far come first.
    pub fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<Incoming>> {
        self.receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK_A: &str = "app.latch:/auth/callback?flow=flw_a&code=AAAA-AAAA";

    fn intake_and_receiver() -> (LinkIntake, mpsc::UnboundedReceiver<Incoming>) {
        let intake = LinkIntake::new();
        let receiver = intake.take_receiver().unwrap();
        (intake, receiver)
    }

    fn drain(receiver: &mut mpsc::UnboundedReceiver<Incoming>) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(link) = receiver.try_recv() {
            seen.push(link.map(|l| l.to_url()).unwrap_or_else(|e| e.to_string()));
        }
        seen
    }

    #[test]
    fn links_wait_for_the_consumer_then_arrive_in_order() {
        let intake = LinkIntake::new();
        assert!(intake.offer("app.latch:/auth/callback?flow=flw_a&code=AAAA-AAAA"));
        assert!(intake.offer("app.latch:/auth/callback?flow=flw_b&code=BBBB-BBBB"));

        let mut receiver = intake.take_receiver().unwrap();
        assert!(intake.take_receiver().is_none(), "one consumer");
        assert!(intake.offer("app.latch:/auth/callback?flow=flw_c&code=CCCC-CCCC"));
        assert!(intake.offer("https://example.com/"));
        assert_eq!(
            drain(&mut receiver),
            [
                "app.latch:/auth/callback?flow=flw_a&code=AAAA-AAAA",
                "app.latch:/auth/callback?flow=flw_b&code=BBBB-BBBB",
                "app.latch:/auth/callback?flow=flw_c&code=CCCC-CCCC",
                "That is not a Latch link.",
            ]
        );
    }

    #[test]
    fn a_link_repeated_at_once_is_delivered_once() {
        let (intake, mut receiver) = intake_and_receiver();
        let t0 = Instant::now();
        assert!(intake.offer_at(LINK_A, t0));
        assert!(!intake.offer_at(LINK_A, t0 + Duration::from_millis(900)));
        assert!(intake.offer_at("app.latch:/auth/callback?flow=b&code=X", t0));
        assert_eq!(drain(&mut receiver).len(), 2);
    }

    #[test]
    fn a_link_clicked_again_later_is_delivered_again() {
        let (intake, mut receiver) = intake_and_receiver();
        let t0 = Instant::now();
        assert!(intake.offer_at(LINK_A, t0));
        assert!(intake.offer_at(LINK_A, t0 + DUPLICATE_WINDOW));
        assert_eq!(drain(&mut receiver).len(), 2);
    }

    #[test]
    fn debug_output_hides_the_code() {
        let (intake, mut receiver) = intake_and_receiver();
        intake.offer("app.latch:/auth/callback?flow=flw_f&code=ABCD-EFGH");
        let shown = format!("{:?}", receiver.try_recv().unwrap());
        assert!(!shown.contains("ABCD"), "{shown}");
    }
}

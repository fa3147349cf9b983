//! Deep-link intake: every `app.latch:` URL that opens the app, whatever the
//! path it came by, is queued here, de-duplicated, and handed on in order.
//!
//! The paths: a cold start with the URL as the only argument (read once with
//! `get_current()` in setup), a second launch forwarded by the single-instance
//! plugin (it calls the deep-link plugin, which emits `deep-link://new-url`,
//! which `on_open_url` hears), and macOS's open-URL event. The same URL can
//! arrive twice (the cold-start URL is both emitted during plugin setup and
//! returned by `get_current()`; a browser may fire a link twice), so a URL
//! seen within the last second is dropped. A later repeat is a person
//! clicking the link again and is handed on, so they hear why it did nothing.
//!
//! The URL carries a one-time code: it is never logged, never
//! `Debug`-printed ([`IncomingLink`] redacts itself), and only a SHA-256
//! digest of it is kept for de-duplication. What is logged is "deep link
//! received" with the link's flow id, which is no secret on its own (the
//! exchange needs the code and the verifier too) and lets a log, a support
//! request or the packaging test tie a received link to the sign-in that
//! sent it.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use url::Url;

/// How long a link is remembered to drop its duplicates.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(1);

/// A URL that asked the app to open it. Its `Debug` never shows the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct IncomingLink(Url);

impl IncomingLink {
    pub fn new(url: Url) -> Self {
        Self(url)
    }

    /// The URL itself, for the one consumer that parses it. Don't log it.
    pub fn url(&self) -> &Url {
        &self.0
    }

    fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_str().as_bytes()).into()
    }

    /// The flow id a sign-in link names, for the log; `None` when the link
    /// isn't a well-formed sign-in link (its parts are then not logged).
    pub fn flow_id(&self) -> Option<String> {
        latch_client::DeepLink::parse(self.0.as_str())
            .ok()
            .map(|link| link.flow_id.to_string())
    }
}

impl fmt::Debug for IncomingLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IncomingLink(**redacted**)")
    }
}

/// Receives links in order once it is attached.
pub type Consumer = Arc<dyn Fn(IncomingLink) + Send + Sync>;

#[derive(Default)]
struct State {
    recent: VecDeque<([u8; 32], Instant)>,
    queue: VecDeque<IncomingLink>,
    consumer: Option<Consumer>,
}

/// The queue between the ways a link arrives and the one consumer of links.
///
/// Links that arrive before the consumer is attached (a cold start: the URL
/// is known before the client is ready) wait in the queue; attaching the
/// consumer delivers them.
#[derive(Default)]
pub struct DeepLinkIntake {
    state: Mutex<State>,
}

impl DeepLinkIntake {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a link in; returns whether it was new (not a duplicate of one
    /// that arrived within [`DUPLICATE_WINDOW`]).
    pub fn offer(&self, link: IncomingLink) -> bool {
        self.offer_at(link, Instant::now())
    }

    fn offer_at(&self, link: IncomingLink, now: Instant) -> bool {
        let digest = link.digest();
        {
            let mut state = self.lock();
            state
                .recent
                .retain(|(_, seen)| now.saturating_duration_since(*seen) < DUPLICATE_WINDOW);
            if state.recent.iter().any(|(d, _)| *d == digest) {
                tracing::debug!("duplicate deep link ignored");
                return false;
            }
            state.recent.push_back((digest, now));
            state.queue.push_back(link.clone());
        }
        match link.flow_id() {
            Some(flow) => tracing::info!(%flow, "deep link received"),
            None => tracing::info!("deep link received (not a well-formed sign-in link)"),
        }
        self.deliver();
        true
    }

    /// Attaches the consumer and delivers what is queued.
    pub fn attach(&self, consumer: Consumer) {
        self.lock().consumer = Some(consumer);
        self.deliver();
    }

    /// How many links wait for a consumer.
    pub fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    /// Hands queued links to the consumer, outside the lock so the consumer
    /// may offer links itself.
    fn deliver(&self) {
        let (consumer, links) = {
            let mut state = self.lock();
            let Some(consumer) = state.consumer.clone() else {
                return;
            };
            (consumer, std::mem::take(&mut state.queue))
        };
        for link in links {
            consumer(link);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent at every await-free step, so a panic
        // elsewhere while holding the lock leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(s: &str) -> IncomingLink {
        IncomingLink::new(Url::parse(s).unwrap())
    }

    fn collector() -> (Consumer, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let consumer: Consumer = Arc::new(move |link: IncomingLink| {
            sink.lock().unwrap().push(link.url().to_string());
        });
        (consumer, seen)
    }

    #[test]
    fn links_wait_for_the_consumer_then_arrive_in_order() {
        let intake = DeepLinkIntake::new();
        assert!(intake.offer(link("app.latch:/auth/callback?flow=a&code=AAAA-AAAA")));
        assert!(intake.offer(link("app.latch:/auth/callback?flow=b&code=BBBB-BBBB")));
        assert_eq!(intake.queued(), 2);

        let (consumer, seen) = collector();
        intake.attach(consumer);
        assert_eq!(intake.queued(), 0);
        assert!(intake.offer(link("app.latch:/auth/callback?flow=c&code=CCCC-CCCC")));
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "app.latch:/auth/callback?flow=a&code=AAAA-AAAA",
                "app.latch:/auth/callback?flow=b&code=BBBB-BBBB",
                "app.latch:/auth/callback?flow=c&code=CCCC-CCCC",
            ]
        );
    }

    #[test]
    fn a_link_repeated_at_once_is_delivered_once() {
        let intake = DeepLinkIntake::new();
        let (consumer, seen) = collector();
        intake.attach(consumer);
        let url = "app.latch:/auth/callback?flow=a&code=AAAA-AAAA";
        let t0 = Instant::now();
        assert!(intake.offer_at(link(url), t0));
        assert!(!intake.offer_at(link(url), t0 + Duration::from_millis(900)));
        assert!(intake.offer_at(link("app.latch:/auth/callback?flow=b&code=X"), t0));
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_link_clicked_again_later_is_delivered_again() {
        let intake = DeepLinkIntake::new();
        let (consumer, seen) = collector();
        intake.attach(consumer);
        let url = "app.latch:/auth/callback?flow=a&code=AAAA-AAAA";
        let t0 = Instant::now();
        assert!(intake.offer_at(link(url), t0));
        assert!(intake.offer_at(link(url), t0 + DUPLICATE_WINDOW));
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn debug_output_hides_the_url() {
        let shown = format!(
            "{:?}",
            link("app.latch:/auth/callback?flow=f&code=ABCD-EFGH")
        );
        assert_eq!(shown, "IncomingLink(**redacted**)");
    }
}

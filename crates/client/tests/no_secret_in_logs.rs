//! A deep link carries a one-time code: the intake logs that a link came
//! and the flow it names (no secret on its own), never the link or its code.
//! Its own test binary, so it can own the global tracing
//! subscriber (a thread-local one races with other tests' callsite caching).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use latch_client::link_intake::LinkIntake;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_url_is_never_logged() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let secret = "app.latch:/auth/callback?flow=flw_1&code=ABCD-EFGH";
    let intake = LinkIntake::new();
    intake.offer(secret);
    intake.offer(secret); // a duplicate
    let mut links = intake.take_receiver().unwrap();
    while let Ok(link) = links.try_recv() {
        tracing::info!(?link, "consumed");
    }
    // Not a sign-in link: nothing of it is logged, not even its parameters.
    intake.offer("app.latch:/elsewhere?flow=flw_other&code=QRST-UVWX");
    let link = links.try_recv().unwrap();
    tracing::info!(?link, "consumed");

    let logged = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("flow=flw_1") && logged.contains("deep link received"),
        "the log ties the link to its flow: {logged}"
    );
    assert!(
        logged.contains("deep link received (not a well-formed sign-in link)"),
        "{logged}"
    );
    assert!(logged.contains("duplicate deep link ignored"), "{logged}");
    assert!(logged.contains("code: **redacted**"), "{logged}");
    for secret in ["ABCD", "EFGH", "QRST", "flw_other", "&code="] {
        assert!(!logged.contains(secret), "{secret} logged: {logged}");
    }
}

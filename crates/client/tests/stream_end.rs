//! The client when latchd ends its event stream without telling it why
//! (issue 15, finding 4): after a `resync` on lag, or at a keep-alive that
//! finds the session gone. The read loop breaks on any end, reconnects, and
//! the reconnect checks the session, so the client learns the truth.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use latch_client::AuthState;
use latch_protocol::RevocationReason;
use latch_testkit::Latchd;

#[tokio::test]
async fn a_stream_that_ends_without_a_frame_reconnects_and_a_revoked_session_signs_out() {
    let server = Latchd::start(&[]);
    let a = signed_in_device(&server, "Laptop", "ada@example.com").await;
    shows_the_truth(&server, &a, Duration::from_secs(5)).await;
    let (_, own) = server_sessions(&server, a.store.as_ref()).await;
    let mut auth = a.client.subscribe_auth();

    // The session ends in the database, where the server's hub never
    // hears it, so no `session.revoked` reaches the stream.
    server.revoke_in_database(&own, "Phone");

    // The stream ends at its next keep-alive (15 s); the client reconnects
    // and is refused with the reason.
    let signed_out = tokio::time::timeout(
        Duration::from_secs(25),
        auth.wait_for(|s| matches!(s, AuthState::SignedOut { .. })),
    )
    .await;
    assert!(signed_out.is_ok(), "still {}", state_name(&a.client));
    let (reason, by, _) = notice_reason(&a.client).unwrap();
    assert_eq!(
        (reason, by.as_deref()),
        (RevocationReason::Terminated, Some("Phone"))
    );
}

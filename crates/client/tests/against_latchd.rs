//! latch-client against a real latchd over loopback with a real SQLite file:
//! sign-in by deep link and by code, refusals that change nothing, the four
//! sign-outs as the *other* device sees them, outages, and restarts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use latch_client::{AuthState, ClientError, SecretStore};
use latch_protocol::RevocationReason;
use latch_testkit::{eventually, Latchd};

mod common;
use common::*;

#[tokio::test]
async fn signs_in_by_deep_link_and_keeps_the_token_out_of_the_state_file() {
    let server = Latchd::start(&[]);
    let a = device(&server, "Work laptop").await;
    assert_eq!(state_name(&a.client), "signed-out");
    let state = a.client.request_link("Ada@Example.com").await.unwrap();
    let AuthState::AwaitingLink {
        email, device_name, ..
    } = state
    else {
        panic!("{state:?}")
    };
    assert_eq!(
        (email.as_str(), device_name.as_str()),
        ("ada@example.com", "Work laptop")
    );
    assert!(
        a.store.get("pending_verifier").unwrap().is_some(),
        "the verifier is in the secret store"
    );

    let mail = server.mail_for("ada@example.com").await;
    let AuthState::SignedIn { account, session } =
        a.client.open_deep_link(&mail.deep_link()).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(account.email, "ada@example.com");
    assert!(session.current);
    assert_eq!(session.device_name, "Work laptop");
    let token = a.store.get("session_token").unwrap().expect("token stored");
    assert!(
        a.store.get("pending_verifier").unwrap().is_none(),
        "the verifier goes when the flow ends"
    );
    for file in std::fs::read_dir(a.dir.path()).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap_or_default();
        assert!(!text.contains(&token) && !text.contains(&mail.code));
    }
    let snapshot = a.client.list_sessions().await;
    assert_eq!(snapshot.sessions.len(), 1);
    assert!(!snapshot.stale && snapshot.fetched_at.is_some());
}

#[tokio::test]
async fn signs_in_with_the_typed_code_in_any_form() {
    let server = Latchd::start(&[]);
    let a = device(&server, "Laptop").await;
    a.client.request_link("ada@example.com").await.unwrap();
    let code = server
        .mail_for("ada@example.com")
        .await
        .code
        .replace('-', "")
        .to_lowercase();
    let wrong = if code.starts_with('2') {
        "33333333"
    } else {
        "22222222"
    };
    assert_eq!(
        a.client.submit_code(wrong).await.unwrap_err(),
        ClientError::InvalidCode
    );
    assert_eq!(
        state_name(&a.client),
        "awaiting-link",
        "a wrong code changes nothing"
    );
    let err = a.client.submit_code("ABC").await.unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert!(matches!(
        a.client.submit_code(&code).await.unwrap(),
        AuthState::SignedIn { .. }
    ));
}

#[tokio::test]
async fn deep_links_for_anything_but_the_pending_flow_are_refused_and_change_nothing() {
    let server = Latchd::start(&[]);
    let a = device(&server, "A").await;
    let b = device(&server, "B").await;
    // Signed out with nothing pending.
    let err = a
        .client
        .open_deep_link("app.latch:/auth/callback?flow=flw_x&code=ABCD-EFGH")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_pending");
    a.client.request_link("ada@example.com").await.unwrap();
    let a_mail = server.mail_for("ada@example.com").await;
    let before = a.client.auth_state();
    b.client.request_link("bob@example.com").await.unwrap();
    let b_mail = server.mail_for("bob@example.com").await;
    for (input, code) in [
        ("garbage", "invalid_link"),
        (
            "https://evil.example/auth/callback?flow=x&code=ABCD-EFGH",
            "invalid_link",
        ),
        (
            "app.latch:/auth/callback?flow=x&code=ABCD-EFG0",
            "invalid_link",
        ),
        (b_mail.deep_link().as_str(), "not_pending"),
    ] {
        let err = a.client.open_deep_link(input).await.unwrap_err();
        assert_eq!(err.code(), code, "{input}");
        assert!(!err.to_string().is_empty());
        assert_eq!(a.client.auth_state(), before, "{input} changed the state");
    }
    // B's link was refused by A without burning it: B still signs in.
    assert!(matches!(
        b.client.open_deep_link(&b_mail.deep_link()).await.unwrap(),
        AuthState::SignedIn { .. }
    ));
    // A's own link after the flow expired.
    server.advance_clock("10m").await;
    assert_eq!(
        a.client
            .open_deep_link(&a_mail.deep_link())
            .await
            .unwrap_err(),
        ClientError::FlowExpired
    );
    assert_eq!(a.client.auth_state(), before);
    // Resend starts a fresh flow that works.
    a.client.resend_link().await.unwrap();
    let fresh = server.mail_for("ada@example.com").await;
    assert_ne!(fresh.flow_id, a_mail.flow_id);
    assert!(matches!(
        a.client.open_deep_link(&fresh.deep_link()).await.unwrap(),
        AuthState::SignedIn { .. }
    ));
    // Signed in: another link is refused.
    let err = a
        .client
        .open_deep_link(&fresh.deep_link())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_pending");
}

#[tokio::test]
async fn a_terminated_device_is_signed_out_with_the_reason_within_a_second() {
    let server = Latchd::start(&[]);
    let a = signed_in_device(&server, "Work laptop", "ada@example.com").await;
    let mut delays = Vec::new();
    for round in 0..20 {
        let b = device(&server, &format!("Pixel {round}")).await;
        sign_in(&server, &b, "ada@example.com").await;
        let b_id = match b.client.auth_state() {
            AuthState::SignedIn { session, .. } => session.id,
            other => panic!("{other:?}"),
        };
        // A hears B arrive without asking.
        assert!(
            eventually(SOON, || a
                .client
                .sessions_snapshot()
                .sessions
                .iter()
                .any(|s| s.id == b_id))
            .await,
            "A sees B appear"
        );
        // B's stream is open once its first fetch has landed.
        assert!(eventually(SOON, || b.client.sessions_snapshot().fetched_at.is_some()).await);
        let mut b_auth = b.client.subscribe_auth();
        let started = Instant::now();
        a.client.terminate(&b_id).await.unwrap();
        let signed_out = tokio::time::timeout(
            SOON,
            b_auth.wait_for(|s| matches!(s, AuthState::SignedOut { .. })),
        )
        .await;
        delays.push(started.elapsed());
        assert!(signed_out.is_ok(), "B signed out within 1 s");
        assert_notice(
            &b,
            RevocationReason::Terminated,
            "Work laptop",
            "This device was terminated from Work laptop at ",
        );
        assert!(
            b.store.get("session_token").unwrap().is_none(),
            "B's token is wiped"
        );
        assert!(
            eventually(SOON, || !a
                .client
                .sessions_snapshot()
                .sessions
                .iter()
                .any(|s| s.id == b_id))
            .await
        );
    }
    delays.sort();
    println!(
        "revoke call → other client's SignedOut: median {:?} of {} (min {:?}, max {:?})",
        delays[10],
        delays.len(),
        delays[0],
        delays[19]
    );
}

#[tokio::test]
async fn the_four_sign_outs_as_the_other_device_sees_them() {
    for op in ["log out", "terminate", "others", "everywhere"] {
        let server = Latchd::start(&[]);
        let a = device(&server, "Actor").await;
        let b = device(&server, "Bystander").await;
        let other_account = device(&server, "Elsewhere").await;
        sign_in(&server, &a, "x@example.com").await;
        sign_in(&server, &b, "x@example.com").await;
        sign_in(&server, &other_account, "y@example.com").await;
        assert!(eventually(SOON, || b.client.sessions_snapshot().sessions.len() == 2).await);
        let b_id = b
            .client
            .sessions_snapshot()
            .sessions
            .iter()
            .find(|s| s.current)
            .unwrap()
            .id
            .clone();
        match op {
            "log out" => {
                assert!(matches!(
                    a.client.log_out().await,
                    AuthState::SignedOut { notice: None }
                ));
                assert!(
                    eventually(SOON, || a.client.pending_logout_count() == 0).await,
                    "the server was told"
                );
                assert!(
                    eventually(SOON, || b.client.sessions_snapshot().sessions.len() == 1).await,
                    "B sees A leave"
                );
                assert_eq!(state_name(&b.client), "signed-in");
            }
            "terminate" => {
                a.client.terminate(&b_id).await.unwrap();
                assert!(eventually(SOON, || state_name(&b.client) == "signed-out").await);
                assert_eq!(
                    notice_reason(&b.client).unwrap().0,
                    RevocationReason::Terminated
                );
                assert_eq!(state_name(&a.client), "signed-in");
            }
            "others" => {
                assert_eq!(a.client.log_out_others().await.unwrap(), 1);
                assert!(eventually(SOON, || state_name(&b.client) == "signed-out").await);
                assert_notice(
                    &b,
                    RevocationReason::LoggedOutOthers,
                    "Actor",
                    "You logged out of all other devices from Actor",
                );
                assert_eq!(state_name(&a.client), "signed-in");
                assert_eq!(listed_sessions(&a).await, 1);
            }
            _ => {
                assert_eq!(a.client.log_out_everywhere().await.unwrap(), 2);
                assert_eq!(state_name(&a.client), "signed-out");
                assert_eq!(
                    notice_reason(&a.client).unwrap().0,
                    RevocationReason::LoggedOutEverywhere
                );
                assert!(eventually(SOON, || state_name(&b.client) == "signed-out").await);
                assert_notice(
                    &b,
                    RevocationReason::LoggedOutEverywhere,
                    "Actor",
                    "You logged out of all devices from Actor",
                );
            }
        }
        // Another account is never touched.
        assert_eq!(state_name(&other_account.client), "signed-in", "{op}");
        assert_eq!(listed_sessions(&other_account).await, 1, "{op}");
    }
}

#[tokio::test]
async fn without_events_a_401_on_any_call_signs_out_with_the_reason() {
    let server = Latchd::start(&[]);
    let a = device(&server, "Actor").await;
    let b = device_with(&server, "Quiet", |c| c.live_events = false).await;
    sign_in(&server, &a, "x@example.com").await;
    sign_in(&server, &b, "x@example.com").await;
    let b_id = session_ids(&b.client)
        .await
        .into_iter()
        .find(|id| {
            b.client
                .sessions_snapshot()
                .sessions
                .iter()
                .any(|s| &s.id == id && s.current)
        })
        .unwrap();
    a.client.terminate(&b_id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        state_name(&b.client),
        "signed-in",
        "B has no stream, so it hasn't heard yet"
    );
    let snapshot = b.client.list_sessions().await;
    assert!(snapshot.sessions.is_empty());
    assert_eq!(state_name(&b.client), "signed-out");
    assert_eq!(
        notice_reason(&b.client).unwrap().0,
        RevocationReason::Terminated
    );
    assert!(b.store.get("session_token").unwrap().is_none());
}

#[tokio::test]
async fn a_server_that_goes_down_is_noticed_and_said_in_words_and_recovery_is_automatic() {
    let mut server = Latchd::start(&[]);
    let a = signed_in_device(&server, "A", "ada@example.com").await;
    assert!(eventually(SOON, || a.client.sessions_snapshot().fetched_at.is_some()).await);
    server.kill();
    // Nobody asks: the broken event stream is enough to notice.
    assert!(
        eventually(SOON, || a.client.sessions_snapshot().stale).await,
        "the outage went unnoticed"
    );
    let snapshot = a.client.sessions_snapshot();
    assert_eq!(snapshot.sessions.len(), 1, "the last known list is kept");
    let error = snapshot.error.unwrap();
    assert!(
        error.starts_with("Latch can't reach the server at http://127.0.0.1:")
            && error.ends_with("check your connection."),
        "{error}"
    );
    let fresh = device(&server, "B").await;
    let err = fresh
        .client
        .request_link("bob@example.com")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unreachable");
    assert_an_outage_signs_nobody_out(&a);

    server.restart();
    // The stream reconnects (backoff capped at 300 ms here) and resyncs: a
    // device that signs in now shows up without A asking.
    let _c = signed_in_device(&server, "C", "ada@example.com").await;
    assert!(
        eventually(Duration::from_secs(3), || {
            let s = a.client.sessions_snapshot();
            s.sessions.len() == 2 && !s.stale
        })
        .await,
        "{:?}",
        a.client.sessions_snapshot()
    );
}

#[tokio::test]
async fn a_silent_stream_is_reconnected() {
    let server = Latchd::start(&[]);
    let a = device_with(&server, "A", |c| {
        c.silence_timeout = Duration::from_millis(300)
    })
    .await;
    sign_in(&server, &a, "ada@example.com").await;
    // Every (re)connect refetches the list; with nothing said for 300 ms the
    // client reconnects, so fetched_at keeps moving with no event at all.
    assert!(eventually(SOON, || a.client.sessions_snapshot().fetched_at.is_some()).await);
    let first = a.client.sessions_snapshot().fetched_at.unwrap();
    assert!(
        eventually(Duration::from_secs(3), || a
            .client
            .sessions_snapshot()
            .fetched_at
            .unwrap()
            > first)
        .await
    );
}

#[tokio::test]
async fn logging_out_offline_signs_out_at_once_and_tells_the_server_later() {
    let mut server = Latchd::start(&[]);
    let (a, b) = two_signed_in(&server, ["A", "B"], "ada@example.com").await;
    server.kill();
    let started = Instant::now();
    assert!(matches!(
        a.client.log_out().await,
        AuthState::SignedOut { notice: None }
    ));
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "no waiting on the network"
    );
    assert!(a.store.get("session_token").unwrap().is_none());
    assert_eq!(a.client.pending_logout_count(), 1);
    server.restart();
    assert!(
        eventually(Duration::from_secs(3), || a.client.pending_logout_count()
            == 0)
        .await
    );
    assert_eq!(listed_sessions(&b).await, 1, "the server knows A is gone");
}

#[tokio::test]
async fn a_relaunch_restores_the_session_and_a_pending_flow_survives_it() {
    let server = Latchd::start(&[]);
    let a = signed_in_device(&server, "A", "ada@example.com").await;
    let a = relaunch(&server, a).await;
    assert_eq!(state_name(&a.client), "signed-in");
    assert_eq!(listed_sessions(&a).await, 1);

    // Cold start: the link is clicked while Latch is closed.
    let b = device(&server, "B").await;
    b.client.request_link("bob@example.com").await.unwrap();
    let mail = server.mail_for("bob@example.com").await;
    let b = relaunch(&server, b).await;
    assert_eq!(state_name(&b.client), "awaiting-link");
    assert!(matches!(
        b.client.open_deep_link(&mail.deep_link()).await.unwrap(),
        AuthState::SignedIn { .. }
    ));

    // A corrupt state file is a fresh start, not a crash.
    let c = device(&server, "C").await;
    std::fs::write(c.dir.path().join("client-state.json"), "{{{ not json").unwrap();
    let c = relaunch(&server, c).await;
    assert_eq!(state_name(&c.client), "signed-out");
}

#[tokio::test]
async fn activity_reaches_the_server_as_active_or_idle() {
    let server = Latchd::start(&[]);
    let (a, b) = two_signed_in(&server, ["A", "B"], "ada@example.com").await;
    let a_state = || async {
        b.client
            .list_sessions()
            .await
            .sessions
            .into_iter()
            .find(|s| s.device_name == "A")
            .map(|s| (s.state, s.current))
    };
    a.client.report_activity(false);
    let deadline = Instant::now() + SOON;
    while a_state().await.unwrap().0 != latch_protocol::SessionState::Idle {
        assert!(Instant::now() < deadline, "A never turned idle");
    }
    // Idle and not B's own row: the window words it "Last active …".
    assert!(!a_state().await.unwrap().1);
    a.client.report_activity(true);
    let deadline = Instant::now() + SOON;
    while a_state().await.unwrap()
        // "Active now" in the window.
        != (latch_protocol::SessionState::Active, false)
    {
        assert!(Instant::now() < deadline, "A never turned active again");
    }
}

#[tokio::test]
async fn changing_the_server_signs_out_and_a_bad_address_changes_nothing() {
    let server = Latchd::start(&[]);
    let other = Latchd::start(&[]);
    let a = signed_in_device(&server, "A", "ada@example.com").await;
    for bad in ["http://example.com", "ftp://x", ""] {
        assert_eq!(
            a.client.set_server(bad).await.unwrap_err().code(),
            "invalid_server",
            "{bad}"
        );
    }
    // Up, but not a Latch server.
    let not_latch = format!("{}/nope/", server.base);
    assert_eq!(
        a.client.set_server(&not_latch).await.unwrap_err().code(),
        "invalid_server"
    );
    assert_eq!(state_name(&a.client), "signed-in");
    assert!(matches!(
        a.client.set_server(&other.base).await.unwrap(),
        AuthState::SignedOut { notice: None }
    ));
    assert!(
        eventually(Duration::from_secs(2), || a.client.pending_logout_count()
            == 0)
        .await,
        "the old server was told"
    );
    a.client.request_link("ada@example.com").await.unwrap();
    other.mail_for("ada@example.com").await;
}

/// `device`'s sign-out notice: why, by whom, and words that open with
/// `opening`.
fn assert_notice(device: &Device, reason: RevocationReason, by: &str, opening: &str) {
    let (got, who, message) = notice_reason(&device.client).unwrap();
    assert_eq!((got, who.as_deref()), (reason, Some(by)));
    assert!(message.starts_with(opening), "{message}");
}

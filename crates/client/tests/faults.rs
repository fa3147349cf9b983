//! Faults, each with the outcome the client must show: latchd killed at each
//! step of sign-in and of each sign-out and restarted on the same database;
//! SMTP unreachable; the OS credential store failing mid-session; the server
//! clock moved forward; this computer's clock wrong.
//!
//! Already covered elsewhere (not repeated here):
//! * log out this device while latchd is down → signed out at once, told
//!   later: `against_latchd::logging_out_offline_signs_out_at_once_and_tells_the_server_later`;
//! * latchd down while signed in → stale list in words, automatic recovery:
//!   `against_latchd::a_server_that_is_down_is_said_in_words_and_recovery_is_automatic`;
//! * no Secret Service / a locked keyring at start → the private file, reported:
//!   `credential_store::without_a_secret_service_the_private_file_is_used_reported_and_sign_in_works`,
//!   `credential_store::with_a_locked_keyring_the_private_file_is_used_and_sign_in_works`;
//! * a damaged client state file → a fresh start:
//!   `against_latchd::a_relaunch_restores_the_session_and_a_pending_flow_survives_it`.
//! * a corrupt settings file → defaults, the file set aside, the window
//!   warned: `latch-desktop`'s `commands::a_corrupt_settings_file_gives_defaults_and_a_warning`;
//! * latchd's database locked or read-only → 503, nothing half-written:
//!   `latchd`'s `tests/faults.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use latch_client::{
    AuthState, ClientConfig, ClientError, DeviceIdentity, FallbackStore, FileStore, LatchClient,
    MemoryStore, SecretStore, StoreKind,
};
use latch_protocol::RevocationReason;
use latch_testkit::{eventually, free_port, Latchd, SmtpServer};

/// The event stream's backoff cap in these tests (`common::config`).
const CAP: Duration = Duration::from_millis(300);
/// The cap plus room for a loaded machine.
const WITHIN_CAP: Duration = Duration::from_secs(3);

fn awaiting_flow(client: &LatchClient) -> String {
    match client.auth_state() {
        AuthState::AwaitingLink { flow_id, .. } => flow_id,
        other => panic!("not awaiting a link: {other:?}"),
    }
}

fn own_id(device: &Device) -> String {
    match device.client.auth_state() {
        AuthState::SignedIn { session, .. } => session.id,
        other => panic!("not signed in: {other:?}"),
    }
}

// ------------------------------------------------------------- sign-in

#[tokio::test]
async fn latchd_killed_after_the_link_request_a_resend_signs_in_after_restart() {
    let mut server = Latchd::start(&[]);
    let a = device(&server, "Laptop").await;
    a.client.request_link("ada@example.com").await.unwrap();
    let first_flow = awaiting_flow(&a.client);
    // Killed before the mail was read: the dev mailbox (like an SMTP retry
    // queue) is gone with the process, so this link never arrives.
    server.kill();
    let err = a.client.resend_link().await.unwrap_err();
    assert_eq!(err.code(), "unreachable", "{err}");
    assert_eq!(
        awaiting_flow(&a.client),
        first_flow,
        "a failed resend changes nothing"
    );
    server.restart();
    // "Didn't get the email?" → a new link, which works.
    a.client.resend_link().await.unwrap();
    assert_ne!(awaiting_flow(&a.client), first_flow);
    let mail = server.mail_for("ada@example.com").await;
    assert_eq!(mail.flow_id, awaiting_flow(&a.client));
    a.client.open_deep_link(&mail.deep_link()).await.unwrap();
    shows_the_truth(&server, &a, WITHIN_CAP).await;
}

#[tokio::test]
async fn latchd_killed_before_the_token_exchange_the_same_link_works_after_restart() {
    let mut server = Latchd::start(&[]);
    let a = device(&server, "Laptop").await;
    a.client.request_link("ada@example.com").await.unwrap();
    let mail = server.mail_for("ada@example.com").await;
    server.kill();
    let err = a
        .client
        .open_deep_link(&mail.deep_link())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unreachable", "{err}");
    assert_eq!(awaiting_flow(&a.client), mail.flow_id);
    assert!(
        a.store.get("pending_verifier").unwrap().is_some(),
        "the verifier survives a failed exchange"
    );
    // Quitting and relaunching Latch while the server is down keeps it too.
    let a = relaunch(&server, a).await;
    assert_eq!(awaiting_flow(&a.client), mail.flow_id);
    server.restart();
    // The flow lives in latchd's database: the same link signs in.
    let state = a.client.open_deep_link(&mail.deep_link()).await.unwrap();
    assert!(matches!(state, AuthState::SignedIn { .. }), "{state:?}");
    assert!(a.store.get("pending_verifier").unwrap().is_none());
    shows_the_truth(&server, &a, WITHIN_CAP).await;
}

#[tokio::test]
async fn latchd_killed_right_after_sign_in_the_client_reconnects_and_shows_the_truth() {
    let mut server = Latchd::start(&[]);
    let a = signed_in_device(&server, "Laptop", "ada@example.com").await;
    // Killed before the event stream's first fetch may even have landed.
    server.kill();
    assert_an_outage_signs_nobody_out(&a);
    server.restart();
    // What happened while A was reconnecting reaches it: a second device
    // signs in and renames A from there.
    let b = signed_in_device(&server, "Phone", "ada@example.com").await;
    b.client
        .rename_session(&own_id(&a), "Renamed from the phone")
        .await
        .unwrap();
    shows_the_truth(&server, &a, WITHIN_CAP).await;
    assert_eq!(a.client.device_name(), "Renamed from the phone");
    shows_the_truth(&server, &b, WITHIN_CAP).await;
}

// ------------------------------------------------------------ sign-outs

/// terminate, log out others, log out everywhere: with latchd down each
/// fails in words and changes nothing; right after the restart (before the
/// other device's stream may be back) it signs the other device out with
/// its reason, which that device hears within its backoff cap.
#[tokio::test]
async fn latchd_killed_before_each_sign_out_it_fails_in_words_then_works_after_restart() {
    for op in ["terminate", "log out others", "log out everywhere"] {
        let mut server = Latchd::start(&[]);
        let (a, b) = two_signed_in(&server, ["Actor", "Bystander"], "x@example.com").await;
        shows_the_truth(&server, &a, WITHIN_CAP).await;
        shows_the_truth(&server, &b, WITHIN_CAP).await;
        let b_id = own_id(&b);
        let before = a.client.sessions_snapshot().sessions;

        server.kill();
        let err = match op {
            "terminate" => a.client.terminate(&b_id).await.unwrap_err(),
            "log out others" => a.client.log_out_others().await.unwrap_err(),
            _ => a.client.log_out_everywhere().await.unwrap_err(),
        };
        assert!(
            matches!(err, ClientError::Unreachable { .. }),
            "{op}: {err:?}"
        );
        assert!(err.to_string().starts_with("Latch can't reach the server"));
        assert_eq!(state_name(&a.client), "signed-in", "{op}");
        assert_eq!(state_name(&b.client), "signed-in", "{op}");
        assert_eq!(a.client.sessions_snapshot().sessions, before, "{op}");

        server.restart();
        let started = Instant::now();
        let expected = match op {
            "terminate" => {
                a.client.terminate(&b_id).await.unwrap();
                RevocationReason::Terminated
            }
            "log out others" => {
                assert_eq!(a.client.log_out_others().await.unwrap(), 1);
                RevocationReason::LoggedOutOthers
            }
            _ => {
                assert_eq!(a.client.log_out_everywhere().await.unwrap(), 2);
                RevocationReason::LoggedOutEverywhere
            }
        };
        assert!(
            eventually(WITHIN_CAP, || state_name(&b.client) == "signed-out").await,
            "{op}: B never heard (backoff cap {CAP:?})"
        );
        println!(
            "{op}: B signed out {:?} after the restart",
            started.elapsed()
        );
        let (reason, by, _) = notice_reason(&b.client).unwrap();
        assert_eq!(
            (reason, by.as_deref()),
            (expected.clone(), Some("Actor")),
            "{op}"
        );
        assert!(b.store.get("session_token").unwrap().is_none(), "{op}");
        if expected == RevocationReason::LoggedOutEverywhere {
            assert_eq!(state_name(&a.client), "signed-out");
        } else {
            shows_the_truth(&server, &a, WITHIN_CAP).await;
            assert_eq!(a.client.sessions_snapshot().sessions.len(), 1, "{op}");
        }
    }
}

#[tokio::test]
async fn latchd_killed_during_log_out_the_queue_survives_a_relaunch_and_is_delivered() {
    let mut server = Latchd::start(&[]);
    let (a, b) = two_signed_in(&server, ["Leaving", "Staying"], "ada@example.com").await;
    shows_the_truth(&server, &b, WITHIN_CAP).await;
    server.kill();
    assert!(matches!(
        a.client.log_out().await,
        AuthState::SignedOut { notice: None }
    ));
    assert_eq!(a.client.pending_logout_count(), 1);
    // Latch quit and started again while the server is still down.
    let a = relaunch(&server, a).await;
    assert_eq!(state_name(&a.client), "signed-out");
    assert_eq!(a.client.pending_logout_count(), 1, "the queue is kept");
    server.restart();
    assert!(
        eventually(WITHIN_CAP, || a.client.pending_logout_count() == 0).await,
        "the queued logout reaches the server"
    );
    shows_the_truth(&server, &b, WITHIN_CAP).await;
    assert_eq!(b.client.sessions_snapshot().sessions.len(), 1, "A is gone");
}

// ----------------------------------------------------------------- SMTP

/// The text part of a raw MIME message.
fn text_of(raw: &[u8]) -> String {
    let parsed = mailparse::parse_mail(raw).unwrap();
    parsed
        .subparts
        .iter()
        .chain(std::iter::once(&parsed))
        .find(|p| p.ctype.mimetype == "text/plain")
        .map(|p| p.get_body().unwrap())
        .unwrap_or_default()
}

#[tokio::test]
async fn smtp_unreachable_the_link_still_answers_and_resend_works_once_smtp_is_back() {
    let port = free_port();
    let server = Latchd::start(&["--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    let a = device(&server, "Laptop").await;
    // Nothing listens on the SMTP port: the request still answers 202.
    a.client.request_link("ada@example.com").await.unwrap();
    let first_flow = awaiting_flow(&a.client);
    assert!(
        eventually(Duration::from_secs(10), || server
            .log_text()
            .contains("sign-in email failed; retrying"))
        .await,
        "the failure is logged:\n{}",
        server.log_text()
    );
    // SMTP comes back: the queued mail goes out on a retry.
    let smtp = SmtpServer::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while smtp.messages().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the retry never delivered:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(text_of(&smtp.messages()[0]).contains(&first_flow));
    // "Didn't get the email?": a new link goes out, and its code signs in.
    a.client.resend_link().await.unwrap();
    let flow = awaiting_flow(&a.client);
    assert_ne!(flow, first_flow);
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        if let Some(text) = smtp
            .messages()
            .iter()
            .map(|raw| text_of(raw))
            .find(|t| t.contains(&flow))
        {
            break text;
        }
        assert!(Instant::now() < deadline, "the resent link never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mail = latch_testkit::Mail::parse(&text);
    let state = a.client.submit_code(&mail.code).await.unwrap();
    assert!(matches!(state, AuthState::SignedIn { .. }), "{state:?}");
}

// ------------------------------------------------------ credential store

/// An OS credential store that can start failing (a keyring locked
/// mid-session) and recover.
#[derive(Default)]
struct Flaky {
    inner: MemoryStore,
    broken: AtomicBool,
}

struct Shared(Arc<Flaky>);

impl SecretStore for Shared {
    fn get(&self, key: &str) -> Result<Option<String>, latch_client::secret_store::StoreError> {
        self.check()?;
        self.0.inner.get(key)
    }
    fn set(&self, key: &str, value: &str) -> Result<(), latch_client::secret_store::StoreError> {
        self.check()?;
        self.0.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), latch_client::secret_store::StoreError> {
        self.check()?;
        self.0.inner.delete(key)
    }
}

impl Shared {
    fn check(&self) -> Result<(), latch_client::secret_store::StoreError> {
        if self.0.broken.load(Ordering::SeqCst) {
            Err(latch_client::secret_store::StoreError(
                "the credential store is locked or refused access".into(),
            ))
        } else {
            Ok(())
        }
    }
}

/// A device whose secrets go to `os` (falling back to a file in `dir`), as
/// the desktop opens it at each launch.
async fn launch_with(
    server: &Latchd,
    dir: &std::path::Path,
    os: &Arc<Flaky>,
) -> (LatchClient, Arc<FallbackStore>) {
    let store = Arc::new(FallbackStore::new(
        Box::new(Shared(os.clone())),
        FileStore::new(dir.join("credentials.json")),
    ));
    let identity = DeviceIdentity::detect(dir, "0.1.0-test").unwrap();
    let mut config = config(dir, server);
    config.device_name = Some("Laptop".to_owned());
    let client = LatchClient::new(config, identity, store.clone());
    client.start().await;
    (client, store)
}

/// Item 9 of issue 15: the fallback file never inherits the mode of a temp
/// file left beside it (a crash, or someone else's planted 0666 file), and
/// the data dir the client creates is the user's alone.
#[cfg(unix)]
#[tokio::test]
async fn the_credentials_file_never_inherits_a_leftover_temp_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let server = Latchd::start(&[]);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("Latch");
    std::fs::create_dir(&dir).unwrap();
    let plant = || {
        let leftover = dir.join("credentials.tmp");
        std::fs::write(&leftover, "left by a crash").unwrap();
        std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o666)).unwrap();
        leftover
    };
    let file = dir.join("credentials.json");
    // One write through the temp file must not come out with its 0666.
    let leftover = plant();
    FileStore::new(file.clone())
        .set("session_token", "x")
        .unwrap();
    assert_eq!(mode(&file), 0o600, "one write over a leftover temp file");
    assert!(!leftover.exists(), "the leftover is replaced, not kept");
    std::fs::remove_file(&file).unwrap();

    // And as the desktop uses it, against latchd.
    let leftover = plant();
    let os = Arc::new(Flaky::default());
    os.broken.store(true, Ordering::SeqCst);
    let (client, store) = launch_with(&server, &dir, &os).await;
    assert!(matches!(store.kind(), StoreKind::File { .. }));
    assert_eq!(mode(&file), 0o600, "start-up's first writes");
    assert!(!leftover.exists());
    client.request_link("ada@example.com").await.unwrap();
    let mail = server.mail_for("ada@example.com").await;
    client.open_deep_link(&mail.deep_link()).await.unwrap();
    assert_token_in_private_file(&dir);

    // A data dir the client creates itself: 0700, and so are its parents.
    let fresh = root.path().join("new").join("Latch");
    let (client, _) = launch_with(&server, &fresh, &os).await;
    client.request_link("grace@example.com").await.unwrap();
    let mail = server.mail_for("grace@example.com").await;
    client.open_deep_link(&mail.deep_link()).await.unwrap();
    assert_token_in_private_file(&fresh);
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&root.path().join("new")), 0o700);
}

#[tokio::test]
async fn the_credential_store_failing_mid_session_falls_back_to_the_file_and_loses_nothing() {
    let server = Latchd::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let os = Arc::new(Flaky::default());
    let (client, store) = launch_with(&server, dir.path(), &os).await;
    assert_eq!(store.kind(), StoreKind::Os);
    client.request_link("ada@example.com").await.unwrap();
    let mail = server.mail_for("ada@example.com").await;
    client.open_deep_link(&mail.deep_link()).await.unwrap();
    assert!(os.inner.get("session_token").unwrap().is_some());

    // The keyring locks: logging out still works, the fallback is reported,
    // and the pending logout lands in the private file and is delivered.
    os.broken.store(true, Ordering::SeqCst);
    assert!(matches!(
        client.log_out().await,
        AuthState::SignedOut { notice: None }
    ));
    assert!(
        matches!(store.kind(), StoreKind::File { ref why } if why.contains("locked")),
        "{:?}",
        store.kind()
    );
    assert!(eventually(WITHIN_CAP, || client.pending_logout_count() == 0).await);

    // Signing in again while it is locked: the token goes to the 0600 file.
    client.request_link("ada@example.com").await.unwrap();
    let mail = server.mail_for("ada@example.com").await;
    client.open_deep_link(&mail.deep_link()).await.unwrap();
    assert_token_in_private_file(dir.path());
    let signed_in_as = match client.auth_state() {
        AuthState::SignedIn { session, .. } => session.id,
        other => panic!("{other:?}"),
    };
    drop(client);

    // Next launch the keyring works again. It still holds the first,
    // logged-out token (its delete failed while locked): that stale copy
    // must not win over the file's newer one.
    os.broken.store(false, Ordering::SeqCst);
    let (client, store) = launch_with(&server, dir.path(), &os).await;
    assert_eq!(store.kind(), StoreKind::Os);
    let AuthState::SignedIn { session, .. } = client.auth_state() else {
        panic!("{:?}", client.auth_state())
    };
    assert_eq!(session.id, signed_in_as);
    client_shows_the_truth(&server, &client, store.as_ref(), WITHIN_CAP).await;
    assert_eq!(state_name(&client), "signed-in");
    // And after a logout with the store working, nothing comes back.
    client.log_out().await;
    assert!(eventually(WITHIN_CAP, || client.pending_logout_count() == 0).await);
    assert_eq!(store.get("session_token").unwrap(), None);
    drop(client);
    let (client, _) = launch_with(&server, dir.path(), &os).await;
    assert_eq!(state_name(&client), "signed-out");
}

// ---------------------------------------------------------------- clocks

#[tokio::test]
async fn the_server_clock_moved_past_a_lifetime_signs_the_client_out_with_the_reason() {
    for (flag, reason, message) in [
        (
            "--idle-timeout",
            RevocationReason::ExpiredIdle,
            "Signed out after 1 hour without use",
        ),
        (
            "--absolute-lifetime",
            RevocationReason::ExpiredAbsolute,
            "Signed out because sign-ins last at most 1 hour.",
        ),
    ] {
        let server = Latchd::start(&[flag, "1h"]);
        let a = signed_in_device(&server, "Laptop", "ada@example.com").await;
        shows_the_truth(&server, &a, WITHIN_CAP).await;
        let mut auth = a.client.subscribe_auth();
        // The sweep that /dev/clock runs finds it and announces it on the stream.
        server.advance_clock("2h").await;
        let signed_out = tokio::time::timeout(
            SOON,
            auth.wait_for(|s| matches!(s, AuthState::SignedOut { .. })),
        )
        .await;
        assert!(signed_out.is_ok(), "{flag}: not signed out within 1 s");
        let (got, by, text) = notice_reason(&a.client).unwrap();
        assert_eq!((got, by), (reason, None), "{flag}");
        assert!(text.starts_with(message), "{flag}: {text}");
        assert!(a.store.get("session_token").unwrap().is_none());
    }
}

/// This computer's clock hours or days off, either way: every deadline the
/// client acts on comes from the server, so sign-in by link and by code,
/// the list, and sign-outs all work, and the "Check your email" countdown
/// is still ten minutes on this computer's clock.
#[tokio::test]
async fn a_wrong_client_clock_breaks_nothing() {
    let server = Latchd::start(&[]);
    let honest = signed_in_device(&server, "Honest", "ada@example.com").await;
    for hours in [3i64, -3, 50, -50] {
        let skew = chrono::Duration::hours(hours);
        let a = device_with(
            &server,
            &format!("Off by {hours}h"),
            |c: &mut ClientConfig| c.clock_skew = skew,
        )
        .await;
        let state = a.client.request_link("ada@example.com").await.unwrap();
        let AuthState::AwaitingLink { expires_at, .. } = state else {
            panic!("{state:?}")
        };
        let left = expires_at - (chrono::Utc::now() + skew);
        assert!(
            // The Date header has whole seconds.
            left > chrono::Duration::minutes(9)
                && left <= chrono::Duration::minutes(10) + chrono::Duration::seconds(2),
            "{hours}h: the countdown shows {left:?}"
        );
        let mail = server.mail_for("ada@example.com").await;
        // The verifier's clean-up timer must not fire early on a wrong clock.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let state = if hours > 0 {
            a.client.submit_code(&mail.code).await
        } else {
            a.client.open_deep_link(&mail.deep_link()).await
        };
        assert!(
            matches!(state, Ok(AuthState::SignedIn { .. })),
            "{hours}h: {state:?}"
        );
        shows_the_truth(&server, &a, WITHIN_CAP).await;
        let AuthState::SignedIn { session, .. } = a.client.auth_state() else {
            panic!()
        };
        assert!(session.current, "the row is marked Current");
        // Terminated from the honest device: signed out with the reason.
        honest.client.terminate(&session.id).await.unwrap();
        assert!(
            eventually(WITHIN_CAP, || state_name(&a.client) == "signed-out").await,
            "{hours}h"
        );
        let (reason, by, _) = notice_reason(&a.client).unwrap();
        assert_eq!(
            (reason, by.as_deref()),
            (RevocationReason::Terminated, Some("Honest")),
            "{hours}h"
        );
    }
}

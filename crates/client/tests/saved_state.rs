//! What an install keeps across an upgrade and a damaged file: today's
//! `client-state.json` (version 1, a list of accounts) read from the two
//! files an older Latch wrote (its own unversioned one, and the shell's
//! `settings.json` with the server and the device name), and the window
//! told the state at connect and every change after it, in order.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use latch_client::{
    AuthState, ClientConfig, DeviceIdentity, LatchClient, MemoryStore, SecretStore,
    SessionsSnapshot, Update,
};
use latch_protocol::RevocationReason;
use latch_testkit::Latchd;
use serde_json::{json, Value};

mod common;
use common::*;

/// Rewrites `device`'s files as a Latch from before version 1 left them:
/// one account's fields at the top of client-state.json, and the server
/// and name (and the theme) in settings.json. Answers settings.json's path.
fn as_before_version_1(device: &Device, name: &str) -> PathBuf {
    let state = device.dir.path().join("client-state.json");
    let current: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(current["version"], 1, "{current}");
    let account = current["accounts"][0].clone();
    assert!(account.get("version").is_none());
    std::fs::write(&state, account.to_string()).unwrap();
    let settings = device.dir.path().join("config").join("settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let old = json!({"server_url": account["server"], "device_name": name, "theme": "dark"});
    std::fs::write(&settings, old.to_string()).unwrap();
    settings
}

/// The app's start: no server given (it must come from the files), the old
/// settings.json where the shell keeps it.
/// Ada's "Work laptop", signed in, then quit with its files as before
/// version 1: what is left of it (its data dir and store), its session's
/// id and the old `settings.json`.
async fn signed_in_then_quit_before_version_1(server: &Latchd) -> (Quit, String, PathBuf) {
    let a = signed_in_device(server, "Work laptop", "ada@example.com").await;
    let id = session_id(&a.client);
    let settings = as_before_version_1(&a, "Work laptop");
    let Device { client, store, dir } = a;
    drop(client);
    (Quit { store, dir }, id, settings)
}

/// A device's files once its client has quit.
struct Quit {
    store: Arc<MemoryStore>,
    dir: tempfile::TempDir,
}

async fn launch(dir: &Path, store: Arc<MemoryStore>, settings: &Path) -> LatchClient {
    let mut config = ClientConfig::new(dir.to_path_buf());
    config.legacy_settings = Some(settings.to_path_buf());
    config.backoff_cap = Duration::from_millis(300);
    let identity = DeviceIdentity::detect(dir, "0.1.0-test").unwrap();
    let client = LatchClient::new(config, identity, store);
    client.start().await;
    client
}

fn session_id(client: &LatchClient) -> String {
    match client.auth_state() {
        AuthState::SignedIn { session, .. } => session.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_older_install_keeps_its_server_name_and_session_signed_in() {
    let server = Latchd::start(&[]);
    let (a, id, settings) = signed_in_then_quit_before_version_1(&server).await;

    let client = launch(a.dir.path(), a.store.clone(), &settings).await;
    assert_eq!(
        session_id(&client),
        id,
        "the same session, not a new sign-in"
    );
    assert_eq!(client.server().unwrap().as_str(), server.base.clone() + "/");
    assert_eq!(client.device_name(), "Work laptop");
    assert_eq!(client.warning(), None);
    // Saved the new way: the next start needs no settings.json.
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(a.dir.path().join("client-state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (&saved["version"], &saved["device_name"]),
        (&json!(1), &json!("Work laptop"))
    );
    assert_eq!(saved["accounts"].as_array().unwrap().len(), 1);
    drop(client);
    std::fs::remove_file(&settings).unwrap();
    let client = launch(a.dir.path(), a.store.clone(), &settings).await;
    assert_eq!(session_id(&client), id);
    assert_eq!(client.device_name(), "Work laptop");
    assert_eq!(client.list_sessions().await.sessions.len(), 1);
}

#[tokio::test]
async fn an_older_install_keeps_its_server_name_and_notice_signed_out() {
    let server = Latchd::start(&[]);
    let (a, b) = two_signed_in(&server, ["Work laptop", "Pixel 8"], "ada@example.com").await;
    let a_id = session_id(&a.client);
    b.client.terminate(&a_id).await.unwrap();
    assert!(
        latch_testkit::eventually(SOON, || notice_reason(&a.client).is_some()).await,
        "A hears it was terminated"
    );
    let settings = as_before_version_1(&a, "Work laptop");
    drop(a.client);

    let client = launch(a.dir.path(), a.store.clone(), &settings).await;
    let (reason, by, _) = notice_reason(&client).expect("the notice is kept");
    assert_eq!(
        (reason, by.as_deref()),
        (RevocationReason::Terminated, Some("Pixel 8"))
    );
    assert_eq!(client.server().unwrap().as_str(), server.base.clone() + "/");
    assert_eq!(client.device_name(), "Work laptop");
    // And it still signs in there.
    client.request_link("ada@example.com").await.unwrap();
    server.mail_for("ada@example.com").await;
}

#[tokio::test]
async fn a_damaged_state_file_gives_defaults_and_a_warning_and_keeps_the_settings() {
    let server = Latchd::start(&[]);
    let a = signed_in_device(&server, "Work laptop", "ada@example.com").await;
    let settings = as_before_version_1(&a, "Work laptop");
    drop(a.client);
    let state = a.dir.path().join("client-state.json");
    std::fs::write(&state, "{{{ not json").unwrap();

    let client = launch(a.dir.path(), a.store.clone(), &settings).await;
    assert_eq!(state_name(&client), "signed-out");
    let warning = client.warning().expect("a warning for the window");
    assert!(warning.contains("damaged"), "{warning}");
    assert!(
        a.dir.path().join("client-state.json.damaged").exists(),
        "set aside"
    );
    assert_eq!(client.server().unwrap().as_str(), server.base.clone() + "/");
    assert_eq!(client.device_name(), "Work laptop");
    assert!(
        a.store.get("session_token").unwrap().is_none(),
        "the token of a state it can't read is dropped"
    );
}

#[tokio::test]
async fn a_damaged_settings_file_keeps_the_server_and_session() {
    let server = Latchd::start(&[]);
    let (a, id, settings) = signed_in_then_quit_before_version_1(&server).await;
    std::fs::write(&settings, "{ this is not json").unwrap();

    let client = launch(a.dir.path(), a.store.clone(), &settings).await;
    // The server is in client-state.json too; the name was only in the
    // damaged file, so it is the default (the shell warns about the file).
    assert_eq!(session_id(&client), id);
    assert_eq!(client.server().unwrap().as_str(), server.base.clone() + "/");
    let identity = DeviceIdentity::detect(a.dir.path(), "0.1.0-test").unwrap();
    assert_eq!(client.device_name(), identity.default_name);
}

/// The window's first read and the changes after it: a link clicked while
/// Latch was closed signs in while the window connects; whichever comes
/// first, the window ends up signed in (the state it was answered, then
/// every change after it, in order).
#[tokio::test]
async fn a_cold_start_sign_in_is_in_the_first_read_or_on_the_channel() {
    let server = Latchd::start(&[]);
    for round in 0..5 {
        let b = device(&server, "B").await;
        let email = format!("bob{round}@example.com");
        b.client.request_link(&email).await.unwrap();
        let mail = server.mail_for(&email).await;
        let Device { client, store, dir } = b;
        drop(client);
        let identity = DeviceIdentity::detect(dir.path(), "0.1.0-test").unwrap();
        let client = LatchClient::new(config(dir.path(), &server), identity, store);
        // The OS hands the link over before the client has started.
        assert!(client.offer_link(&mail.deep_link()));
        let starting = {
            let client = client.clone();
            tokio::spawn(async move { client.start().await })
        };
        let (mut auth, _, mut subscription) = client.connect().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !matches!(auth, AuthState::SignedIn { .. }) {
            match tokio::time::timeout_at(deadline, subscription.next()).await {
                Ok(Some(Update::Auth(newer))) => auth = newer,
                Ok(Some(Update::Sessions(_))) => {}
                Ok(other) => panic!("round {round}: {other:?}"),
                Err(_) => panic!("round {round}: the window never heard the sign-in: {auth:?}"),
            }
        }
        starting.await.unwrap();
        assert_eq!(client.auth_state(), auth);
        // Every later change follows: both the state and the list.
        assert!(
            latch_testkit::eventually(SOON, || client.sessions_snapshot().sessions.len() == 1)
                .await,
            "round {round}: the list is fetched"
        );
        client.log_out().await;
        let (mut signed_out, mut emptied) = (false, false);
        while !(signed_out && emptied) {
            match tokio::time::timeout_at(deadline, subscription.next()).await {
                Ok(Some(Update::Auth(AuthState::SignedOut { .. }))) => signed_out = true,
                Ok(Some(Update::Sessions(s))) if s.sessions.is_empty() => emptied = true,
                Ok(Some(_)) => {}
                other => panic!("round {round}: {other:?} ({signed_out}, {emptied})"),
            }
        }
    }
}

#[tokio::test]
async fn a_refused_link_reaches_the_window_even_before_it_connects() {
    let server = Latchd::start(&[]);
    let a = device(&server, "A").await;
    assert!(a
        .client
        .offer_link("app.latch:/auth/callback?flow=flw_x&code=ABCD-EFGH"));
    assert!(a.client.offer_link("https://example.com/"));
    // Refused while nobody listened: kept for the first window.
    assert!(
        latch_testkit::eventually(SOON, || a.client.unheard_link_refusals() == 2).await,
        "both refused"
    );
    let (auth, snapshot, mut subscription) = a.client.connect().await;
    assert_eq!(state_name(&a.client), "signed-out");
    assert!(matches!(auth, AuthState::SignedOut { notice: None }));
    assert_eq!(snapshot, SessionsSnapshot::default());
    let mut codes = Vec::new();
    for _ in 0..2 {
        match tokio::time::timeout(SOON, subscription.next()).await {
            Ok(Some(Update::LinkRefused(error))) => codes.push(error.code()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(codes, ["not_pending", "invalid_link"]);
    // A later change arrives after them.
    a.client.request_link("ada@example.com").await.unwrap();
    match tokio::time::timeout(SOON, subscription.next()).await {
        Ok(Some(Update::Auth(AuthState::AwaitingLink { .. }))) => {}
        other => panic!("{other:?}"),
    }
}

/// Item 9 of issue 15: `http://localhost` is no longer accepted (RFC 8252
/// §8.3), so a saved one moves to `http://127.0.0.1` on the same port,
/// keeping the session; and the file is 0600.
#[tokio::test]
async fn a_saved_localhost_server_moves_to_127_0_0_1_and_stays_signed_in() {
    let server = Latchd::start(&[]);
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    let a = signed_in_device(&server, "Work laptop", "ada@example.com").await;
    let id = session_id(&a.client);
    let state = a.dir.path().join("client-state.json");
    let Device { client, store, dir } = a;
    drop(client);
    let by_name = server.base.replace("127.0.0.1", "localhost") + "/";
    let mut saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        saved["accounts"][0]["server"],
        json!(server.base.clone() + "/")
    );
    saved["accounts"][0]["server"] = json!(by_name);
    std::fs::write(&state, saved.to_string()).unwrap();

    // No server configured: it can only come from the file.
    let mut config = ClientConfig::new(dir.path().to_path_buf());
    config.backoff_cap = Duration::from_millis(300);
    let identity = DeviceIdentity::detect(dir.path(), "0.1.0-test").unwrap();
    let client = LatchClient::new(config, identity, store.clone());
    client.start().await;
    assert_eq!(client.server().unwrap().as_str(), server.base.clone() + "/");
    assert_eq!(
        session_id(&client),
        id,
        "the same session, not a new sign-in"
    );
    assert_eq!(client.list_sessions().await.sessions.len(), 1);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        saved["accounts"][0]["server"],
        json!(server.base.clone() + "/"),
        "saved the new way"
    );
    // And typing it in is refused, saying what to write instead.
    let refused = client.set_server(&by_name).await.unwrap_err().to_string();
    assert!(refused.contains("http://127.0.0.1:"), "{refused}");
}

#[cfg(unix)]
#[tokio::test]
async fn client_state_json_is_0600_even_over_a_leftover_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let server = Latchd::start(&[]);
    let a = signed_in_device(&server, "Work laptop", "ada@example.com").await;
    let state = a.dir.path().join("client-state.json");
    assert_eq!(mode(&state), 0o600);
    let leftover = a.dir.path().join("client-state.tmp");
    std::fs::write(&leftover, "{}").unwrap();
    std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
    a.client.rename_account("Ada L").await.unwrap();
    assert_eq!(
        mode(&state),
        0o600,
        "rewritten 0600, not with the leftover's mode"
    );
}

#[tokio::test]
async fn a_name_set_while_signed_out_is_kept_after_a_relaunch() {
    let server = Latchd::start(&[]);
    let a = device(&server, "Laptop").await;
    assert_eq!(state_name(&a.client), "signed-out");
    assert_eq!(
        a.client.set_device_name("Kitchen PC").await.unwrap(),
        "Kitchen PC"
    );
    let a = relaunch(&server, a).await;
    assert_eq!(a.client.device_name(), "Kitchen PC");
}

//! What the client's tests against a real latchd share: a device (a
//! `LatchClient` with its own data dir and store), signing it in, relaunching
//! it, and reading its state.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use latch_client::{AuthState, ClientConfig, DeviceIdentity, LatchClient, MemoryStore};
use latch_protocol::RevocationReason;
use latch_testkit::Latchd;

pub const SOON: Duration = Duration::from_secs(1);

pub struct Device {
    pub client: LatchClient,
    pub store: Arc<MemoryStore>,
    pub dir: tempfile::TempDir,
}

/// A device's config: `server` when none is saved (the app's
/// `LATCH_SERVER_URL`), quick retries.
pub fn config(dir: &std::path::Path, server: &Latchd) -> ClientConfig {
    let mut config = ClientConfig::new(dir.to_path_buf());
    config.server = Some(server.base.clone());
    config.backoff_cap = Duration::from_millis(300);
    config.logout_retry_every = Duration::from_millis(100);
    config
}

pub async fn device(server: &Latchd, name: &str) -> Device {
    device_with(server, name, |_| {}).await
}

pub async fn device_with(
    server: &Latchd,
    name: &str,
    tweak: impl FnOnce(&mut ClientConfig),
) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::default());
    let mut config = config(dir.path(), server);
    config.device_name = Some(name.to_owned());
    tweak(&mut config);
    let identity = DeviceIdentity::detect(dir.path(), "0.1.0-test").unwrap();
    let client = LatchClient::new(config, identity, store.clone());
    client.start().await;
    Device { client, store, dir }
}

/// The same data dir and store, as after quitting and relaunching the app.
pub async fn relaunch(server: &Latchd, old: Device) -> Device {
    let Device { client, store, dir } = old;
    drop(client);
    let identity = DeviceIdentity::detect(dir.path(), "0.1.0-test").unwrap();
    let client = LatchClient::new(config(dir.path(), server), identity, store.clone());
    client.start().await;
    Device { client, store, dir }
}

/// A new device named `name`, signed in as `email`.
pub async fn signed_in_device(server: &Latchd, name: &str, email: &str) -> Device {
    let device = device(server, name).await;
    sign_in(server, &device, email).await;
    device
}

/// Two new devices with these names, then both signed in as `email`.
pub async fn two_signed_in(server: &Latchd, names: [&str; 2], email: &str) -> (Device, Device) {
    let a = device(server, names[0]).await;
    let b = device(server, names[1]).await;
    sign_in(server, &a, email).await;
    sign_in(server, &b, email).await;
    (a, b)
}

/// How many sessions `device` lists (asking the server).
pub async fn listed_sessions(device: &Device) -> usize {
    device.client.list_sessions().await.sessions.len()
}

/// An outage signs nobody out: `device` is still signed in.
pub fn assert_an_outage_signs_nobody_out(device: &Device) {
    assert_eq!(
        state_name(&device.client),
        "signed-in",
        "an outage signs nobody out"
    );
}

/// The token is in the fallback file `credentials.json` in `dir`, which
/// only its owner may read (0600 on Unix).
pub fn assert_token_in_private_file(dir: &std::path::Path) {
    let file = dir.join("credentials.json");
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("session_token"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

pub async fn sign_in(server: &Latchd, device: &Device, email: &str) {
    device.client.request_link(email).await.unwrap();
    let mail = server.mail_for(email).await;
    let state = device
        .client
        .open_deep_link(&mail.deep_link())
        .await
        .unwrap();
    assert!(matches!(state, AuthState::SignedIn { .. }), "{state:?}");
}

pub fn state_name(client: &LatchClient) -> &'static str {
    match client.auth_state() {
        AuthState::NeedsServer => "needs-server",
        AuthState::SignedOut { .. } => "signed-out",
        AuthState::AwaitingLink { .. } => "awaiting-link",
        AuthState::SignedIn { .. } => "signed-in",
    }
}

pub fn notice_reason(client: &LatchClient) -> Option<(RevocationReason, Option<String>, String)> {
    match client.auth_state() {
        AuthState::SignedOut { notice: Some(n) } => Some((n.reason, n.by_device, n.message)),
        _ => None,
    }
}

pub async fn session_ids(client: &LatchClient) -> Vec<String> {
    client
        .list_sessions()
        .await
        .sessions
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// The server's live sessions as the token in `store` sees them: sorted
/// (id, device name) pairs, and the id of the token's own session.
pub async fn server_sessions(
    server: &Latchd,
    store: &dyn latch_client::SecretStore,
) -> (Vec<(String, String)>, String) {
    let token = store
        .get("session_token")
        .unwrap()
        .expect("the device holds a token");
    let list: serde_json::Value = reqwest::Client::new()
        .get(server.url("/v1/sessions"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = list["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"));
    let current = sessions
        .iter()
        .find(|s| s["current"] == true)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .unwrap();
    let mut pairs: Vec<(String, String)> = sessions
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["device"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    (pairs, current)
}

/// Waits until `device` shows what the server says: signed in as the
/// token's session, and a fresh (not stale) list of exactly the server's
/// sessions. Panics with both sides when it doesn't within `within`.
pub async fn shows_the_truth(server: &Latchd, device: &Device, within: Duration) {
    client_shows_the_truth(server, &device.client, device.store.as_ref(), within).await
}

/// `shows_the_truth` for a client whose secrets are in `store`.
pub async fn client_shows_the_truth(
    server: &Latchd,
    client: &LatchClient,
    store: &dyn latch_client::SecretStore,
    within: Duration,
) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let (truth, current) = server_sessions(server, store).await;
        let auth = client.auth_state();
        let snapshot = client.sessions_snapshot();
        let mut shown: Vec<(String, String)> = snapshot
            .sessions
            .iter()
            .map(|s| (s.id.clone(), s.device_name.clone()))
            .collect();
        shown.sort();
        let signed_in_as = match &auth {
            AuthState::SignedIn { session, .. } => Some(session.id.clone()),
            _ => None,
        };
        let current_row = snapshot
            .sessions
            .iter()
            .find(|s| s.current)
            .map(|s| s.id.clone());
        if shown == truth
            && !snapshot.stale
            && signed_in_as.as_ref() == Some(&current)
            && current_row.as_ref() == Some(&current)
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the client doesn't show the truth within {within:?}:\nserver: {truth:?} (current {current})\nclient: {auth:?}\n{snapshot:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

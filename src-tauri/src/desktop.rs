//! The session client inside the app: built at startup from the data
//! directory, settings and environment; its state changes forwarded to the
//! window as `auth-changed` and `sessions-changed` events.

use std::sync::Arc;

use latch_client::{
    open_for_install, ClientConfig, DeviceIdentity, FallbackStore, LatchClient, StoreKind,
};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::watch;

use crate::commands::CommandError;
use crate::data_dir::Places;
use crate::settings::{Settings, SettingsFile};
use crate::shell::Shell;

/// Where an unconfigured debug build looks for `latchd --dev`.
const DEBUG_SERVER: &str = "http://127.0.0.1:8787";
/// Overrides the saved server address (tests, scripts/dev).
pub const SERVER_URL_ENV: &str = "LATCH_SERVER_URL";

pub struct Desktop<R: Runtime> {
    pub client: LatchClient,
    pub version: String,
    /// The OS as the server is told it (`Linux`, `Debian 12`…).
    pub os: String,
    pub places: Places,
    store: Arc<FallbackStore>,
    settings: SettingsFile<R>,
    ready_tx: watch::Sender<bool>,
}

impl<R: Runtime> Desktop<R> {
    pub fn new(app: &AppHandle<R>, places: &Places) -> std::io::Result<Desktop<R>> {
        let version = app.package_info().version.to_string();
        let identity = DeviceIdentity::detect(&places.data, &version)?;
        let os = format!(
            "{} ({})",
            identity.platform.display_name(),
            identity.os_version
        );
        let store = Arc::new(open_for_install(&places.data, &identity.install_id));
        // Off the main thread: the window is built meanwhile.
        store.probe_in_background();
        let client = LatchClient::new(
            ClientConfig::new(places.data.clone()),
            identity,
            store.clone(),
        );
        Ok(Desktop {
            client,
            version,
            os,
            places: places.clone(),
            store,
            settings: SettingsFile::open(app, &places.config),
            ready_tx: watch::channel(false).0,
        })
    }

    /// Waits until the client has restored its state (commands called
    /// before that would see a half-started app).
    pub async fn ready(&self) {
        let mut ready = self.ready_tx.subscribe();
        let _ = ready.wait_for(|r| *r).await;
    }

    pub fn store_kind(&self) -> StoreKind {
        self.store.kind()
    }

    pub fn settings_warning(&self) -> Option<String> {
        self.settings.warning.clone()
    }

    /// The settings as they are now: the server and device name the client
    /// uses, the saved theme.
    pub fn settings(&self) -> Settings {
        let mut settings = self.settings.read(&self.client.device_name());
        settings.server_url = self.client.server().map(|s| s.display());
        settings.device_name = self.client.device_name();
        settings
    }

    /// Changes and saves the settings; answers them.
    pub fn save_settings(&self, change: impl FnOnce(&mut Settings)) -> Settings {
        let mut settings = self.settings();
        change(&mut settings);
        self.settings.write(&settings);
        settings
    }

    /// The server to start with: saved, else `LATCH_SERVER_URL`, else (debug
    /// builds) the local dev server, else none: the window asks.
    fn initial_server(&self) -> Option<String> {
        let saved = self.settings.read("").server_url;
        saved
            .or_else(|| {
                std::env::var(SERVER_URL_ENV)
                    .ok()
                    .filter(|s| !s.trim().is_empty())
            })
            .or_else(|| cfg!(debug_assertions).then(|| DEBUG_SERVER.to_owned()))
    }
}

/// Restores the client, then lets deep links in and forwards its changes.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(desktop) = app.try_state::<Desktop<R>>() else {
            return;
        };
        let saved_name = desktop.settings.read("").device_name;
        let name = Some(saved_name).filter(|n| !n.is_empty());
        desktop
            .client
            .start(desktop.initial_server().as_deref(), name.as_deref())
            .await;
        desktop.save_settings(|_| {});
        // send_replace: the value must change even when no command is waiting yet.
        desktop.ready_tx.send_replace(true);
        forward_events(&app, &desktop.client);
        attach_deep_links(&app);
    });
}

fn forward_events<R: Runtime>(app: &AppHandle<R>, client: &LatchClient) {
    let mut auth = client.subscribe_auth();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        while auth.changed().await.is_ok() {
            let state = auth.borrow_and_update().clone();
            if let Err(error) = handle.emit("auth-changed", state) {
                tracing::warn!(%error, "can't tell the window the sign-in state");
            }
        }
    });
    let mut sessions = client.subscribe_sessions();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        while sessions.changed().await.is_ok() {
            let snapshot = sessions.borrow_and_update().clone();
            if let Err(error) = handle.emit("sessions-changed", snapshot) {
                tracing::warn!(%error, "can't tell the window the session list");
            }
        }
    });
}

/// Deep links go to the client in arrival order; a refused one is told to
/// the window as `deep-link-error` (`{code, message}`), never logged.
fn attach_deep_links<R: Runtime>(app: &AppHandle<R>) {
    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    let handle = app.clone();
    shell.intake().attach(Arc::new(move |link| {
        let handle = handle.clone();
        tauri::async_runtime::spawn(async move {
            let Some(desktop) = handle.try_state::<Desktop<R>>() else {
                return;
            };
            if let Err(error) = desktop.client.open_deep_link(link.url().as_str()).await {
                tracing::info!(code = error.code(), "deep link refused");
                let _ = handle.emit("deep-link-error", CommandError::from(error));
            }
        });
    }));
}

//! The session client inside the app, built at startup from the data
//! directory, with the window's preferences beside it. The client decides
//! the server and the device name and saves them; this only adds the
//! theme and the one event channel to the window.

use std::sync::Arc;

use latch_client::{open_for_install, ClientConfig, DeviceIdentity, FallbackStore, LatchClient};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};

use latch_desktop_core::{Diagnostics, Places, SignInSummary};

use crate::events::{self, Connected, WindowEvent};
use crate::settings::{Settings, SettingsFile, Theme, SETTINGS_FILE};
use crate::shell::Shell;

/// How long the diagnostics' server check may take before it says so.
const SERVER_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Desktop<R: Runtime> {
    pub client: LatchClient,
    pub version: String,
    /// The OS as the server is told it (`Linux`, `Debian 12`…).
    pub os: String,
    pub places: Places,
    pub store: Arc<FallbackStore>,
    settings: SettingsFile<R>,
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
        // Opened first: a damaged file is set aside before the client reads
        // the server and name an older Latch saved in it.
        let settings = SettingsFile::open(app, &places.config);
        let config = ClientConfig::for_app(places.data.clone(), places.config.join(SETTINGS_FILE));
        let client = LatchClient::new(config, identity, store.clone());
        Ok(Desktop {
            client,
            version,
            os,
            places: places.clone(),
            store,
            settings,
        })
    }

    /// What went wrong reading the saved settings or state, if anything.
    pub fn settings_warning(&self) -> Option<String> {
        let warnings: Vec<String> = [self.settings.warning.clone(), self.client.warning()]
            .into_iter()
            .flatten()
            .collect();
        (!warnings.is_empty()).then(|| warnings.join(" "))
    }

    /// The settings as they are now: the client's server and device name,
    /// the saved theme.
    pub async fn settings(&self) -> Settings {
        self.client.ready().await;
        Settings {
            server_url: self.client.server().map(|s| s.display()),
            device_name: self.client.device_name(),
            theme: self.settings.theme(),
        }
    }

    pub async fn set_theme(&self, theme: Theme) -> Settings {
        self.settings.set_theme(theme);
        self.settings().await
    }

    /// The state now; every change after it goes to `channel`. Each
    /// connection is its own: a second one (a reloaded window, a test
    /// driver reading the state) doesn't take the window's events away.
    pub async fn connect(&self, channel: Channel<WindowEvent>) -> Connected {
        let (auth, sessions, subscription) = self.client.connect().await;
        tauri::async_runtime::spawn(events::forward(subscription, channel));
        Connected { auth, sessions }
    }

    /// The "Copy diagnostics" report (worded in latch-desktop-core): asks
    /// the server, waiting at most a few seconds. No secrets.
    pub async fn diagnostics(&self, shell: &Shell) -> Diagnostics {
        self.client.ready().await;
        let server = match self.client.server() {
            None => None,
            Some(url) => {
                let answer =
                    match tokio::time::timeout(SERVER_CHECK, self.client.server_info()).await {
                        Ok(Ok(info)) => Ok(format!("answers: latchd {}", info.version)),
                        Ok(Err(error)) => Err(error.to_string()),
                        Err(_) => Err(format!(
                            "no answer within {} seconds",
                            SERVER_CHECK.as_secs()
                        )),
                    };
                Some((url.display(), answer))
            }
        };
        Diagnostics {
            app_version: self.version.clone(),
            debug: cfg!(debug_assertions),
            tauri_version: tauri::VERSION.to_owned(),
            webview_version: tauri::webview_version().ok(),
            os: self.os.clone(),
            arch: std::env::consts::ARCH.to_owned(),
            server,
            sign_in: SignInSummary::from(&self.client.auth_state()),
            credential_store: self.store.kind(),
            scheme: shell.scheme_registration(),
            link_forwarding: shell.link_forwarding(),
            settings_warning: self.settings_warning(),
            data_dir: self.places.data.clone(),
            config_dir: self.places.config.clone(),
            log_file: shell.log_file(),
        }
    }
}

/// Restores the client (which then lets deep links in), then drops what
/// settings.json held for it.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(desktop) = app.try_state::<Desktop<R>>() else {
            return;
        };
        desktop.client.start().await;
        desktop.settings.forget_moved_keys();
    });
}

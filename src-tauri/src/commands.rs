//! The IPC command layer: thin functions the window calls. Each is
//! annotated for tauri-specta, which generates `ui/src/lib/bindings.ts`, and
//! declared in `build.rs` so a capability must grant it.

use serde::Serialize;
use tauri::{AppHandle, State};

use crate::shell::{SchemeRegistration, Shell};

/// What the window shows about the app itself.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The app's version, from Cargo.toml.
    pub version: String,
    /// Whether the `app.latch:` scheme is registered with the OS, so links
    /// opened from a browser or a mail client reach the app.
    pub scheme_registration: SchemeRegistration,
    /// How many deep links this instance has received (new ones, not
    /// duplicates) since it started.
    pub deep_links_received: u32,
    /// Where this instance keeps its files.
    pub data_dir: String,
}

#[tauri::command]
#[specta::specta]
pub fn app_info(app: AppHandle, shell: State<'_, Shell>) -> AppInfo {
    AppInfo {
        version: app.package_info().version.to_string(),
        scheme_registration: shell.scheme_registration(),
        deep_links_received: shell.deep_links_received(),
        data_dir: shell.data_dir().display().to_string(),
    }
}

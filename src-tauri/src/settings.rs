//! The window's preferences (the theme), through tauri-plugin-store in the
//! config directory. The server and the device name are the client's (it
//! saves them in `client-state.json`). A missing file gives the defaults; a
//! damaged one is set aside, the defaults used, and the window told
//! (`AppInfo.settings_warning`). Secrets never come here.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::{Store, StoreExt};

/// The window-preferences file, in the config directory. Secrets never go
/// here: they live in the OS credential store (SECURITY.md).
pub const SETTINGS_FILE: &str = "settings.json";

/// Keys the file held before the client saved them itself; dropped once
/// the client has read them.
const MOVED_TO_CLIENT: [&str; 2] = ["server_url", "device_name"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

/// What Settings shows: the server and name from the client, the theme from
/// this file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Settings {
    pub server_url: Option<String>,
    pub device_name: String,
    pub theme: Theme,
}

/// The store, and what went wrong opening it, if anything.
pub struct SettingsFile<R: Runtime> {
    store: Option<Arc<Store<R>>>,
    pub warning: Option<String>,
}

impl<R: Runtime> SettingsFile<R> {
    /// Opens `dir/settings.json` (the config directory: `Places::config`).
    pub fn open(app: &AppHandle<R>, dir: &Path) -> Self {
        if let Err(error) = std::fs::create_dir_all(dir) {
            tracing::warn!(%error, "can't create the settings directory");
        }
        let path = dir.join(SETTINGS_FILE);
        // The store plugin quietly starts empty on a file it can't parse, so
        // look first: a damaged file is set aside and the window told.
        let damaged = std::fs::read(&path)
            .map(|bytes| {
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes)
                    .is_err()
            })
            .unwrap_or(false);
        let mut warning = None;
        if damaged {
            tracing::warn!("settings file damaged; set aside, using defaults");
            let aside = path.with_extension("json.damaged");
            warning = Some(match std::fs::rename(&path, &aside) {
                Ok(()) => format!(
                    "Your settings file was damaged, so Latch started with default settings. The old file is at {}.",
                    aside.display()
                ),
                Err(_) => "Your settings file couldn't be read, so Latch is using default settings.".to_owned(),
            });
        }
        match app.store(&path) {
            Ok(store) => Self {
                store: Some(store),
                warning,
            },
            Err(error) => {
                tracing::warn!(%error, "settings file unusable; using defaults");
                Self {
                    store: None,
                    warning: Some("Latch can't use its settings file, so it is running with default settings.".to_owned()),
                }
            }
        }
    }

    pub fn theme(&self) -> Theme {
        self.store
            .as_ref()
            .and_then(|store| store.get("theme"))
            .and_then(|t| serde_json::from_value(t).ok())
            .unwrap_or_default()
    }

    pub fn set_theme(&self, theme: Theme) {
        let Some(store) = &self.store else { return };
        store.set("theme", serde_json::to_value(theme).unwrap_or_default());
        self.save(store);
    }

    /// Drops what the client now keeps (call once it has read them).
    pub fn forget_moved_keys(&self) {
        let Some(store) = &self.store else { return };
        let mut changed = false;
        for key in MOVED_TO_CLIENT {
            changed |= store.delete(key);
        }
        if changed {
            self.save(store);
        }
    }

    fn save(&self, store: &Store<R>) {
        if let Err(error) = store.save() {
            tracing::warn!(%error, "can't save the settings file");
        }
    }
}

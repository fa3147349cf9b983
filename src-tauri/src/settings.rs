//! The non-secret settings (server address, this device's name, theme),
//! through tauri-plugin-store in the config directory. A missing file gives
//! the defaults; a damaged one is set aside, the defaults used, and the
//! window told (`AppInfo.settings_warning`). Secrets never come here.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::{Store, StoreExt};

use crate::SETTINGS_FILE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

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

    fn string(&self, key: &str) -> Option<String> {
        self.store.as_ref()?.get(key)?.as_str().map(str::to_owned)
    }

    /// The saved settings; `default_name` when no device name was saved.
    pub fn read(&self, default_name: &str) -> Settings {
        Settings {
            server_url: self.string("server_url"),
            device_name: self
                .string("device_name")
                .unwrap_or_else(|| default_name.to_owned()),
            theme: self
                .string("theme")
                .and_then(|t| serde_json::from_value(serde_json::Value::String(t)).ok())
                .unwrap_or_default(),
        }
    }

    pub fn write(&self, settings: &Settings) {
        let Some(store) = &self.store else { return };
        match &settings.server_url {
            Some(url) => store.set("server_url", url.clone()),
            None => {
                store.delete("server_url");
            }
        }
        store.set("device_name", settings.device_name.clone());
        store.set(
            "theme",
            serde_json::to_value(settings.theme).unwrap_or_default(),
        );
        if let Err(error) = store.save() {
            tracing::warn!(%error, "can't save the settings file");
        }
    }
}

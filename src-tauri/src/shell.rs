//! The state the shell keeps for the life of the app.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::deep_link::DeepLinkIntake;

/// Whether the OS knows to open `app.latch:` links with this app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum SchemeRegistration {
    /// Registration runs in the background at startup and has not finished.
    Pending,
    /// Links open this app through `entry` (a desktop entry on Linux: the
    /// installed one, or a handler written at startup).
    Registered { entry: String },
    /// The platform registers the scheme at install time (macOS, Windows
    /// release builds): nothing to do at run time.
    NotNeeded,
    /// Registration failed; links still work when the app is started with
    /// the URL, but a browser can't find the app. Shown to the user.
    Failed { message: String },
}

/// Whether a second launch (a clicked link) can hand its URL to this
/// window. On Linux that needs the D-Bus session bus, which the
/// single-instance plugin silently goes without.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum LinkForwarding {
    /// Checked in the background at startup, not finished.
    Pending,
    Available,
    /// A second launch runs as a second app instead. `reason` says why in
    /// words for the window; `detail` is the error, for logs and diagnostics.
    Unavailable {
        reason: String,
        detail: String,
    },
}

pub struct Shell {
    scheme_registration: Mutex<SchemeRegistration>,
    link_forwarding: Mutex<LinkForwarding>,
    log_file: Mutex<Option<PathBuf>>,
    intake: DeepLinkIntake,
}

impl Default for Shell {
    fn default() -> Self {
        Self::new()
    }
}

impl Shell {
    pub fn new() -> Self {
        Self {
            scheme_registration: Mutex::new(SchemeRegistration::Pending),
            link_forwarding: Mutex::new(LinkForwarding::Pending),
            log_file: Mutex::new(None),
            intake: DeepLinkIntake::new(),
        }
    }

    pub fn intake(&self) -> &DeepLinkIntake {
        &self.intake
    }

    pub fn scheme_registration(&self) -> SchemeRegistration {
        self.scheme_registration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_scheme_registration(&self, status: SchemeRegistration) {
        *self
            .scheme_registration
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = status;
    }

    pub fn link_forwarding(&self) -> LinkForwarding {
        self.link_forwarding
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_link_forwarding(&self, status: LinkForwarding) {
        *self
            .link_forwarding
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = status;
    }

    /// The log file this run writes, once it is open.
    pub fn log_file(&self) -> Option<PathBuf> {
        self.log_file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_log_file(&self, path: PathBuf) {
        *self.log_file.lock().unwrap_or_else(PoisonError::into_inner) = Some(path);
    }
}

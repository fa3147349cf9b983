//! The state the shell keeps for the life of the app.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::deep_link::DeepLinkIntake;

/// Whether the OS knows to open `app.latch:` links with this app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum SchemeRegistration {
    /// Registration runs in the background at startup and has not finished.
    Pending,
    Registered,
    /// The platform registers the scheme at install time (macOS, Windows
    /// release builds): nothing to do at run time.
    NotNeeded,
    /// Registration failed; links still work when the app is started with
    /// the URL, but a browser can't find the app. Shown to the user.
    Failed {
        message: String,
    },
}

pub struct Shell {
    data_dir: PathBuf,
    scheme_registration: Mutex<SchemeRegistration>,
    deep_links_received: AtomicU32,
    intake: DeepLinkIntake,
}

impl Shell {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            scheme_registration: Mutex::new(SchemeRegistration::Pending),
            deep_links_received: AtomicU32::new(0),
            intake: DeepLinkIntake::new(),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
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

    pub fn deep_links_received(&self) -> u32 {
        self.deep_links_received.load(Ordering::Relaxed)
    }

    /// Counts a link handed to the client, so tests can see one arrived.
    pub fn count_deep_link(&self) {
        self.deep_links_received.fetch_add(1, Ordering::Relaxed);
    }
}

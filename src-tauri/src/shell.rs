//! The state the shell keeps for the life of the app.

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
    scheme_registration: Mutex<SchemeRegistration>,
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
}

//! The state the shell keeps for the life of the app.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use latch_desktop_core::{LinkForwarding, SchemeRegistration};

pub struct Shell {
    scheme_registration: Mutex<SchemeRegistration>,
    link_forwarding: Mutex<LinkForwarding>,
    log_file: Mutex<Option<PathBuf>>,
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
        }
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

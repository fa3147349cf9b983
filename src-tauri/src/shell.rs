//! The state the shell keeps for the life of the app.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

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
        locked(&self.scheme_registration).clone()
    }

    pub fn set_scheme_registration(&self, status: SchemeRegistration) {
        *locked(&self.scheme_registration) = status;
    }

    pub fn link_forwarding(&self) -> LinkForwarding {
        locked(&self.link_forwarding).clone()
    }

    pub fn set_link_forwarding(&self, status: LinkForwarding) {
        *locked(&self.link_forwarding) = status;
    }

    /// The log file this run writes, once it is open.
    pub fn log_file(&self) -> Option<PathBuf> {
        locked(&self.log_file).clone()
    }

    pub fn set_log_file(&self, path: PathBuf) {
        *locked(&self.log_file) = Some(path);
    }
}

/// The value behind `mutex`; a panic elsewhere while it was held leaves it
/// as it was, still readable.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

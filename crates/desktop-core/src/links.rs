//! Whether sign-in links reach this window, as the shell found out at
//! startup, and what the window says about it.

use latch_client::status::capitalise;
use serde::Serialize;

/// Whether the OS knows to open `app.latch:` links with this app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

impl SchemeRegistration {
    /// Whether links reach the app (as far as known yet).
    pub fn registered(&self) -> bool {
        matches!(self, Self::Registered { .. } | Self::NotNeeded)
    }

    /// What the window says about it, when there is something to say.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Failed { message } => Some(format!(
                "Sign-in links can't open Latch from your browser: {message}. Type the code instead."
            )),
            Self::Registered { .. } | Self::NotNeeded | Self::Pending => None,
        }
    }
}

/// Whether a second launch (a clicked link) can hand its URL to this
/// window. On Linux that needs the D-Bus session bus, which the
/// single-instance plugin silently goes without.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

impl LinkForwarding {
    /// What the window says about it: words, not the error.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Unavailable { reason, .. } => Some(format!(
                "{}. A sign-in link opened while Latch is running starts a second Latch instead of reaching this window: type the code from the email instead.",
                capitalise(reason)
            )),
            Self::Available | Self::Pending => None,
        }
    }
}

//! What the window is shown: plain data without secrets; times as
//! timestamps, which the window words (and keeps fresh).
//! These are the types that cross the IPC boundary.

use chrono::{DateTime, Utc};
use latch_protocol::{Account, AppKind, Platform, RevocationReason, Session, SessionState};
use serde::{Deserialize, Serialize};

pub use crate::status::Expiry;
use crate::status::{expiry_of, Lifetimes};

/// The sign-in state as the window sees it. `state` is also
/// `document.body.dataset.state`.
// One value of this exists at a time; boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum AuthState {
    NeedsServer,
    SignedOut {
        notice: Option<SignedOutNotice>,
    },
    AwaitingLink {
        email: String,
        flow_id: String,
        expires_at: DateTime<Utc>,
        resend_after: DateTime<Utc>,
        /// The device name the email shows.
        device_name: String,
    },
    SignedIn {
        account: Account,
        session: SessionView,
    },
}

/// Why this device was signed out, when it wasn't its own "Log out".
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOutNotice {
    pub reason: RevocationReason,
    pub by_device: Option<String>,
    pub at: DateTime<Utc>,
    /// "This device was terminated from Pixel 8 at 09:13".
    pub message: String,
}

/// One row of Active sessions.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub device_name: String,
    pub platform: Platform,
    pub os_version: String,
    pub app: AppKind,
    pub app_version: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_active_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: SessionState,
    pub current: bool,
    /// When to say "Expires in …": None when not worth saying.
    pub expiry: Option<Expiry>,
    /// The device that renamed this one, when another did ("renamed from Pixel 8").
    pub renamed_by_device: Option<String>,
}

impl SessionView {
    pub fn of(session: &Session, lifetimes: &Lifetimes, now: DateTime<Utc>) -> SessionView {
        SessionView {
            id: session.id.0.clone(),
            device_name: session.device.name.clone(),
            platform: session.device.platform,
            os_version: session.device.os_version.clone(),
            app: session.device.app,
            app_version: session.device.app_version.clone(),
            ip: session.ip.clone(),
            created_at: session.created_at,
            last_active_at: session.last_active_at,
            expires_at: session.expires_at,
            state: session.state,
            current: session.current,
            expiry: expiry_of(session, lifetimes, now),
            renamed_by_device: session.renamed_by_device.clone(),
        }
    }
}

/// The Active sessions list with how fresh it is.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SessionsSnapshot {
    pub sessions: Vec<SessionView>,
    /// When the list was last confirmed by the server (fetch or event).
    pub fetched_at: Option<DateTime<Utc>>,
    /// True when the last refresh failed and this is the last known list.
    pub stale: bool,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_state_is_tagged_with_the_body_state_names() {
        assert_eq!(
            serde_json::to_value(AuthState::NeedsServer).unwrap(),
            json!({"state": "needs-server"})
        );
        assert_eq!(
            serde_json::to_value(AuthState::SignedOut { notice: None }).unwrap(),
            json!({"state": "signed-out", "notice": null})
        );
        let awaiting = AuthState::AwaitingLink {
            email: "a@b.co".into(),
            flow_id: "flw_1".into(),
            expires_at: "2026-11-27T12:10:00Z".parse().unwrap(),
            resend_after: "2026-11-27T12:01:00Z".parse().unwrap(),
            device_name: "Laptop".into(),
        };
        assert_eq!(
            serde_json::to_value(awaiting).unwrap(),
            json!({"state": "awaiting-link", "email": "a@b.co", "flow_id": "flw_1",
                   "expires_at": "2026-11-27T12:10:00Z", "resend_after": "2026-11-27T12:01:00Z", "device_name": "Laptop"})
        );
    }
}

//! The window's one event channel: every change the client publishes, as a
//! typed union, on the `Channel` the window hands to `connect`.

use latch_client::{AuthState, SessionsSnapshot, Subscription, Update};
use serde::Serialize;
use tauri::ipc::Channel;

use crate::error::CommandError;

/// One change, for the window. TypeScript: `{type: "auth-changed", auth} |
/// {type: "sessions-changed", sessions} | {type: "deep-link-error", error}`.
// One value at a time crosses; boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WindowEvent {
    AuthChanged { auth: AuthState },
    SessionsChanged { sessions: SessionsSnapshot },
    DeepLinkError { error: CommandError },
}

impl From<Update> for WindowEvent {
    fn from(update: Update) -> Self {
        match update {
            Update::Auth(auth) => Self::AuthChanged { auth },
            Update::Sessions(sessions) => Self::SessionsChanged { sessions },
            Update::LinkRefused(error) => Self::DeepLinkError {
                error: error.into(),
            },
        }
    }
}

/// What `connect` answers: the state when the channel was subscribed.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Connected {
    pub auth: AuthState,
    pub sessions: SessionsSnapshot,
}

/// Sends every change to the window until the channel or the client closes.
pub async fn forward(mut subscription: Subscription, channel: Channel<WindowEvent>) {
    while let Some(update) = subscription.next().await {
        if let Err(error) = channel.send(WindowEvent::from(update)) {
            tracing::warn!(%error, "can't tell the window a change; it stops listening");
            return;
        }
    }
}

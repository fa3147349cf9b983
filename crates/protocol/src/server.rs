//! `GET /v1/server`, the dev-mode calls, and `latchd seed`'s output.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{SessionId, SessionToken};

/// `GET /v1/server`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInfo {
    pub version: String,
    pub idle_timeout_s: u64,
    pub absolute_lifetime_s: u64,
}

/// One message of `GET /dev/mailbox.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sent_at: DateTime<Utc>,
}

/// `POST /dev/clock`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAdvanceRequest {
    /// A duration with a unit: `90s`, `10m`, `15d`.
    pub advance: String,
}

/// The answer to `POST /dev/clock`: the server's time after the move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockResponse {
    pub now: DateTime<Utc>,
}

/// One line printed by `latchd seed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeededSession {
    pub session_id: SessionId,
    pub session_token: SessionToken,
    pub device_name: String,
}

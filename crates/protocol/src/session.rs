//! Sessions, their states, and why one ended.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::device::Device;
use crate::ids::SessionId;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Active,
    Idle,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Idle => "idle",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "idle" => Some(Self::Idle),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: SessionId,
    pub device: Device,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_active_at: DateTime<Utc>,
    /// `min(last_active_at + idle timeout, created_at + absolute lifetime)`.
    pub expires_at: DateTime<Utc>,
    pub state: SessionState,
    /// True only for the session whose token made the call (or owns the stream).
    pub current: bool,
    /// The device name of the session that last renamed this one, as it was
    /// then, when that was another session; null when the device named
    /// itself (a self-rename clears it) or was never renamed. Added after v1:
    /// absent from an older server's answers.
    #[serde(default)]
    pub renamed_by_device: Option<String>,
}

/// `GET /v1/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    pub sessions: Vec<Session>,
}

/// `POST /v1/sessions/current/heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatRequest {
    pub state: SessionState,
}

/// `PATCH /v1/sessions/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameSessionRequest {
    /// Trimmed, then 1–64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub device_name: String,
}

/// `200` answer to `revoke-others` and `revoke-all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedCount {
    pub revoked: u32,
}

/// Why a session ended.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// This device logged itself out.
    LoggedOut,
    /// Another device terminated it.
    Terminated,
    /// Another device logged out all other devices.
    LoggedOutOthers,
    /// Some device logged out everywhere.
    LoggedOutEverywhere,
    ExpiredIdle,
    ExpiredAbsolute,
    /// Over the cap of live sessions; the least recently active goes.
    Evicted,
    /// The server's operator ended it (`latchd admin revoke`).
    Admin,
    /// A reason this version doesn't know (a newer server's), kept as sent
    /// and written back as it came. latchd never sends one.
    #[serde(untagged)]
    Unknown(String),
}

impl RevocationReason {
    /// Every reason this version knows (not `Unknown`).
    pub const ALL: [RevocationReason; 8] = [
        Self::LoggedOut,
        Self::Terminated,
        Self::LoggedOutOthers,
        Self::LoggedOutEverywhere,
        Self::ExpiredIdle,
        Self::ExpiredAbsolute,
        Self::Evicted,
        Self::Admin,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::Terminated => "terminated",
            Self::LoggedOutOthers => "logged_out_others",
            Self::LoggedOutEverywhere => "logged_out_everywhere",
            Self::ExpiredIdle => "expired_idle",
            Self::ExpiredAbsolute => "expired_absolute",
            Self::Evicted => "evicted",
            Self::Admin => "admin",
            Self::Unknown(name) => name,
        }
    }

    /// A reason this version knows, by its wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

// The schema names the known reasons only: what latchd sends.
string_enum_schema!(RevocationReason);

/// What `session_revoked` adds to the error body, and what the
/// `session.revoked` event carries besides the session id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revocation {
    pub reason: RevocationReason,
    /// The device name of the session that did it (its own for `logged_out`);
    /// null for expiry, eviction and `admin`.
    pub by_device: Option<String>,
    pub at: DateTime<Utc>,
}

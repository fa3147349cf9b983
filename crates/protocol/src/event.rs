//! `GET /v1/events`: the events a stream carries.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::SessionId;
use crate::session::{Revocation, Session};

/// `data` of the `session.revoked` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionRevoked {
    pub session_id: SessionId,
    #[serde(flatten)]
    pub revocation: Revocation,
}

/// One event of `GET /v1/events`. The SSE event name is [`Event::name`];
/// `data` is the JSON of the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    SessionCreated(Session),
    SessionUpdated(Session),
    SessionRevoked(SessionRevoked),
    /// The `Last-Event-ID` is no longer known: refetch everything.
    Resync,
}

/// Why an SSE frame could not be read as an [`Event`].
#[derive(Debug)]
pub enum EventParseError {
    UnknownName(String),
    Data(serde_json::Error),
}

impl fmt::Display for EventParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownName(name) => write!(f, "unknown event type {name:?}"),
            Self::Data(e) => write!(f, "malformed event data: {e}"),
        }
    }
}

impl std::error::Error for EventParseError {}

impl Event {
    pub const SESSION_CREATED: &'static str = "session.created";
    pub const SESSION_UPDATED: &'static str = "session.updated";
    pub const SESSION_REVOKED: &'static str = "session.revoked";
    pub const RESYNC: &'static str = "resync";
    /// Every event name this version sends.
    pub const NAMES: [&'static str; 4] = [
        Self::SESSION_CREATED,
        Self::SESSION_UPDATED,
        Self::SESSION_REVOKED,
        Self::RESYNC,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Self::SessionCreated(_) => Self::SESSION_CREATED,
            Self::SessionUpdated(_) => Self::SESSION_UPDATED,
            Self::SessionRevoked(_) => Self::SESSION_REVOKED,
            Self::Resync => Self::RESYNC,
        }
    }

    pub fn data(&self) -> serde_json::Value {
        let value = match self {
            Self::SessionCreated(s) | Self::SessionUpdated(s) => serde_json::to_value(s),
            Self::SessionRevoked(r) => serde_json::to_value(r),
            Self::Resync => Ok(serde_json::json!({})),
        };
        // These types are plain structs of strings, enums and timestamps:
        // serialising them to a Value cannot fail.
        value.unwrap_or(serde_json::Value::Null)
    }

    pub fn parse(name: &str, data: &str) -> Result<Event, EventParseError> {
        fn parse<T: serde::de::DeserializeOwned>(d: &str) -> Result<T, EventParseError> {
            serde_json::from_str(d).map_err(EventParseError::Data)
        }
        Ok(match name {
            Self::SESSION_CREATED => Self::SessionCreated(parse(data)?),
            Self::SESSION_UPDATED => Self::SessionUpdated(parse(data)?),
            Self::SESSION_REVOKED => Self::SessionRevoked(parse(data)?),
            Self::RESYNC => Self::Resync,
            other => return Err(EventParseError::UnknownName(other.to_owned())),
        })
    }
}

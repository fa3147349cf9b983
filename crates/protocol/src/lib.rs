//! The Latch wire contract, v1 (DESIGN §3).
//!
//! v1 is frozen: names here are what other clients rely on. Add, never rename.
//! Every type serialises to exactly the JSON the design names; the tests at the
//! bottom pin those shapes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod code;
mod email;

pub use code::{format_code, normalize_code, CodeError, CODE_ALPHABET, CODE_LEN};
pub use email::{normalize_email, EmailError, MAX_EMAIL_LEN};

/// Every `*_at` field: an RFC 3339 UTC instant.
pub type Timestamp = DateTime<Utc>;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_type!(
    /// An account's opaque id.
    AccountId
);
id_type!(
    /// A session's opaque id (not a secret: it names a device in lists).
    SessionId
);
id_type!(
    /// A sign-in flow's opaque id.
    FlowId
);

/// The bearer token of a session. A secret: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for an `Authorization` header or the credential store.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(**redacted**)")
    }
}

/// The 8-character one-time code of a flow. A secret: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    pub fn new(code: String) -> Self {
        Self(code)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(**redacted**)")
    }
}

/// A PKCE code verifier (RFC 7636). A secret: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    pub fn new(verifier: String) -> Self {
        Self(verifier)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(**redacted**)")
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Linux,
    Macos,
    Windows,
    Android,
    Ios,
    Web,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linux => "linux",
            Self::Macos => "macos",
            Self::Windows => "windows",
            Self::Android => "android",
            Self::Ios => "ios",
            Self::Web => "web",
        }
    }

    /// How a person names the platform, e.g. in the sign-in email.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Linux => "Linux",
            Self::Macos => "macOS",
            Self::Windows => "Windows",
            Self::Android => "Android",
            Self::Ios => "iOS",
            Self::Web => "the web",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AppKind {
    Desktop,
    Web,
    Mobile,
}

impl AppKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Web => "web",
            Self::Mobile => "mobile",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// Most characters a device name, display name or version may have.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a name or version was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty"),
            Self::TooLong => write!(f, "must be at most {MAX_NAME_CHARS} characters"),
        }
    }
}

/// Trims a name and checks it holds 1–64 characters.
pub fn normalize_name(raw: &str) -> Result<String, NameError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    Ok(trimmed.to_owned())
}

/// The device a flow was started from and a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// Trimmed, then 1–64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    pub platform: Platform,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub os_version: String,
    pub app: AppKind,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub app_version: String,
}

impl Device {
    /// The same device with its name trimmed, or which field is wrong and why.
    pub fn normalized(&self) -> Result<Device, (&'static str, NameError)> {
        let name = normalize_name(&self.name).map_err(|e| ("device.name", e))?;
        let version = |field: &'static str, v: &str| {
            if v.is_empty() {
                Err((field, NameError::Empty))
            } else if v.chars().count() > MAX_NAME_CHARS {
                Err((field, NameError::TooLong))
            } else {
                Ok(v.to_owned())
            }
        };
        Ok(Device {
            name,
            platform: self.platform,
            os_version: version("device.os_version", &self.os_version)?,
            app: self.app,
            app_version: version("device.app_version", &self.app_version)?,
        })
    }
}

/// `GET /v1/server`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInfo {
    pub version: String,
    pub idle_timeout_s: u64,
    pub absolute_lifetime_s: u64,
}

/// The only PKCE method Latch accepts.
pub const CODE_CHALLENGE_METHOD_S256: &str = "S256";

/// `POST /v1/auth/email-link`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailLinkRequest {
    /// Trimmed and lower-cased for identity; at most 254 characters then.
    #[cfg_attr(feature = "openapi", schema(min_length = 3))]
    pub email: String,
    /// BASE64URL(SHA-256(verifier)), unpadded: 43 characters.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub code_challenge: String,
    /// Must be `S256`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^S256$"))]
    pub code_challenge_method: String,
    pub device: Device,
}

/// `202` answer to `POST /v1/auth/email-link`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailLinkResponse {
    pub flow_id: FlowId,
    pub expires_at: DateTime<Utc>,
    pub resend_after: DateTime<Utc>,
}

/// `POST /v1/auth/token`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    pub flow_id: FlowId,
    /// `ABCD-EFGH`, any case, hyphen optional.
    pub code: OneTimeCode,
    pub code_verifier: CodeVerifier,
}

/// `200` answer to `POST /v1/auth/token`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub session_token: SessionToken,
    pub session: Session,
    pub account: Account,
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub display_name: String,
    pub initials: String,
    pub created_at: DateTime<Utc>,
}

/// `PATCH /v1/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateAccountRequest {
    /// Trimmed, then 1–64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub display_name: String,
}

/// The initials of a display name: the first letters of its first two parts
/// split on spaces, `.`, `-` and `_`, upper-case (one part: its first letter).
pub fn initials(display_name: &str) -> String {
    display_name
        .split([' ', '.', '-', '_'])
        .filter(|part| !part.is_empty())
        .take(2)
        .filter_map(|part| part.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
}

impl RevocationReason {
    pub const ALL: [RevocationReason; 7] = [
        Self::LoggedOut,
        Self::Terminated,
        Self::LoggedOutOthers,
        Self::LoggedOutEverywhere,
        Self::ExpiredIdle,
        Self::ExpiredAbsolute,
        Self::Evicted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::Terminated => "terminated",
            Self::LoggedOutOthers => "logged_out_others",
            Self::LoggedOutEverywhere => "logged_out_everywhere",
            Self::ExpiredIdle => "expired_idle",
            Self::ExpiredAbsolute => "expired_absolute",
            Self::Evicted => "evicted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The `error` member of every error body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidCode,
    VerifierMismatch,
    FlowExpired,
    FlowUsed,
    FlowLocked,
    RateLimited,
    Unauthenticated,
    SessionRevoked,
    CannotTerminateCurrent,
    NotFound,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidCode => "invalid_code",
            Self::VerifierMismatch => "verifier_mismatch",
            Self::FlowExpired => "flow_expired",
            Self::FlowUsed => "flow_used",
            Self::FlowLocked => "flow_locked",
            Self::RateLimited => "rate_limited",
            Self::Unauthenticated => "unauthenticated",
            Self::SessionRevoked => "session_revoked",
            Self::CannotTerminateCurrent => "cannot_terminate_current",
            Self::NotFound => "not_found",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status that carries this code (DESIGN §3). `invalid_request`
    /// is also sent with 413 for an oversized body.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest
            | Self::InvalidCode
            | Self::VerifierMismatch
            | Self::FlowExpired
            | Self::FlowUsed
            | Self::FlowLocked => 400,
            Self::RateLimited => 429,
            Self::Unauthenticated | Self::SessionRevoked => 401,
            Self::CannotTerminateCurrent => 409,
            Self::NotFound => 404,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

/// What `session_revoked` adds to the error body, and what the
/// `session.revoked` event carries besides the session id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revocation {
    pub reason: RevocationReason,
    /// The device name of the session that did it (its own for `logged_out`);
    /// null for expiry and eviction.
    pub by_device: Option<String>,
    pub at: DateTime<Utc>,
}

/// Every error answer: one flat object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorCode,
    pub message: String,
    /// Present with `session_revoked`.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
}

/// Written by hand: utoipa renders the flattened `Option<Revocation>` as
/// `allOf: [oneOf: [null, Revocation], …]`, which no plain error body (an
/// object without `reason`) matches — schemathesis caught every 4xx
/// "violating" it. The wire is unchanged: `error` and `message` always,
/// `reason`, `by_device` and `at` beside them with `session_revoked`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::Ref;
        let string = || ObjectBuilder::new().schema_type(Type::String);
        ObjectBuilder::new()
            .description(Some(
                "Every error answer: one flat object. With `session_revoked`, also \
                 `reason`, `by_device` (null for expiry and eviction) and `at`.",
            ))
            .property("error", Ref::from_schema_name("ErrorCode"))
            .required("error")
            .property("message", string())
            .required("message")
            .property("reason", Ref::from_schema_name("RevocationReason"))
            .property(
                "by_device",
                ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                    Type::String,
                    Type::Null,
                ])),
            )
            .property(
                "at",
                string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorBody {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("ErrorCode".into(), ErrorCode::schema()));
        schemas.push(("RevocationReason".into(), RevocationReason::schema()));
    }
}

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

#[cfg(test)]
mod tests;

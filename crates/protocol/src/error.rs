//! The error body every failed call answers with.

use serde::{Deserialize, Serialize};

use crate::session::Revocation;

/// The `error` member of every error body.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// A code this version doesn't know (a newer server's), kept as sent and
    /// written back as it came. latchd never sends one.
    #[serde(untagged)]
    Unknown(String),
}

impl ErrorCode {
    /// Every code this version knows (not `Unknown`).
    pub const ALL: [ErrorCode; 13] = [
        Self::InvalidRequest,
        Self::InvalidCode,
        Self::VerifierMismatch,
        Self::FlowExpired,
        Self::FlowUsed,
        Self::FlowLocked,
        Self::RateLimited,
        Self::Unauthenticated,
        Self::SessionRevoked,
        Self::CannotTerminateCurrent,
        Self::NotFound,
        Self::Unavailable,
        Self::Internal,
    ];

    pub fn as_str(&self) -> &str {
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
            Self::Unknown(name) => name,
        }
    }

    /// The HTTP status that carries this code (`docs/protocol.md`).
    /// `invalid_request` is also sent with 413 for an oversized body; an
    /// unknown code says nothing of its status, so it is taken as a 500.
    pub fn status(&self) -> u16 {
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
            Self::Internal | Self::Unknown(_) => 500,
        }
    }
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
        schemas.push((
            "RevocationReason".into(),
            crate::session::RevocationReason::schema(),
        ));
    }
}

// The schema names the known codes only: what latchd sends.
string_enum_schema!(ErrorCode);

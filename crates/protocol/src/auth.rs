//! Sign-in: `POST /v1/auth/email-link` and `POST /v1/auth/token`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::device::Device;
use crate::ids::{CodeVerifier, FlowId, OneTimeCode, SessionToken};
use crate::session::Session;

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

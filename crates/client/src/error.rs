//! What can go wrong, in words a person can act on. `code()` is the stable
//! name the window sees (`{code, message}` at the Tauri boundary).

use latch_protocol::{ErrorBody, ErrorCode, Revocation};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("Latch can't reach the server at {server} — check your connection.")]
    Unreachable { server: String },
    #[error("{0}")]
    InvalidServer(String),
    #[error("{0}")]
    InvalidEmail(String),
    #[error("That code is not right. Check the email and try again.")]
    InvalidCode,
    #[error("This sign-in link has expired. Send a new one.")]
    FlowExpired,
    #[error("This sign-in link was already used. Send a new one.")]
    FlowUsed,
    #[error("Too many wrong tries for this sign-in. Send a new link.")]
    FlowLocked,
    #[error(
        "This sign-in was started from another Latch window or device. Send a new link from here."
    )]
    VerifierMismatch,
    #[error("Too many requests. Try again in {retry_after_s} seconds.")]
    RateLimited { retry_after_s: u64 },
    /// A deep link or code that isn't for the sign-in this window is waiting on.
    #[error("{0}")]
    NotPending(String),
    /// A deep link that isn't a Latch sign-in link at all.
    #[error("{0}")]
    InvalidLink(String),
    #[error("That device is no longer signed in.")]
    NotFound,
    #[error("{0}")]
    InvalidName(String),
    /// This device's session is over (revoked, expired, or unknown).
    #[error("{}", session_ended_message(.0))]
    SessionEnded(Option<Revocation>),
    #[error("Sign in first.")]
    NotSignedIn,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    Server(String),
}

fn session_ended_message(revocation: &Option<Revocation>) -> String {
    match revocation {
        Some(_) => "This device was signed out.".to_owned(),
        None => "This device is no longer signed in. Sign in again.".to_owned(),
    }
}

/// The stable name of what went wrong, which the window switches on
/// (`{code, message}` at the Tauri boundary; a string union in TypeScript).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCodeName {
    Unreachable,
    InvalidServer,
    InvalidEmail,
    InvalidCode,
    FlowExpired,
    FlowUsed,
    FlowLocked,
    VerifierMismatch,
    RateLimited,
    NotPending,
    InvalidLink,
    NotFound,
    InvalidName,
    SignedOut,
    InvalidRequest,
    ServerError,
}

impl ErrorCodeName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::InvalidServer => "invalid_server",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidCode => "invalid_code",
            Self::FlowExpired => "flow_expired",
            Self::FlowUsed => "flow_used",
            Self::FlowLocked => "flow_locked",
            Self::VerifierMismatch => "verifier_mismatch",
            Self::RateLimited => "rate_limited",
            Self::NotPending => "not_pending",
            Self::InvalidLink => "invalid_link",
            Self::NotFound => "not_found",
            Self::InvalidName => "invalid_name",
            Self::SignedOut => "signed_out",
            Self::InvalidRequest => "invalid_request",
            Self::ServerError => "server_error",
        }
    }
}

impl ClientError {
    /// The stable code the window switches on.
    pub fn code_name(&self) -> ErrorCodeName {
        use ErrorCodeName as N;
        match self {
            Self::Unreachable { .. } => N::Unreachable,
            Self::InvalidServer(_) => N::InvalidServer,
            Self::InvalidEmail(_) => N::InvalidEmail,
            Self::InvalidCode => N::InvalidCode,
            Self::FlowExpired => N::FlowExpired,
            Self::FlowUsed => N::FlowUsed,
            Self::FlowLocked => N::FlowLocked,
            Self::VerifierMismatch => N::VerifierMismatch,
            Self::RateLimited { .. } => N::RateLimited,
            Self::NotPending(_) => N::NotPending,
            Self::InvalidLink(_) => N::InvalidLink,
            Self::NotFound => N::NotFound,
            Self::InvalidName(_) => N::InvalidName,
            Self::SessionEnded(_) | Self::NotSignedIn => N::SignedOut,
            Self::InvalidRequest(_) => N::InvalidRequest,
            Self::Server(_) => N::ServerError,
        }
    }

    /// [`ClientError::code_name`] as its string.
    pub fn code(&self) -> &'static str {
        self.code_name().as_str()
    }

    /// The error a protocol error body stands for.
    pub fn from_body(status: u16, body: Option<ErrorBody>, retry_after_s: Option<u64>) -> Self {
        let Some(body) = body else {
            return Self::Server(format!(
                "The server answered with an unexpected error ({status}). Try again."
            ));
        };
        match body.error {
            ErrorCode::InvalidRequest => Self::InvalidRequest(body.message),
            ErrorCode::InvalidCode => Self::InvalidCode,
            ErrorCode::VerifierMismatch => Self::VerifierMismatch,
            ErrorCode::FlowExpired => Self::FlowExpired,
            ErrorCode::FlowUsed => Self::FlowUsed,
            ErrorCode::FlowLocked => Self::FlowLocked,
            ErrorCode::RateLimited => Self::RateLimited {
                retry_after_s: retry_after_s.unwrap_or(60).max(1),
            },
            ErrorCode::Unauthenticated => Self::SessionEnded(None),
            ErrorCode::SessionRevoked => Self::SessionEnded(body.revocation),
            ErrorCode::CannotTerminateCurrent => {
                Self::InvalidRequest("This is the device you're using: log out instead.".to_owned())
            }
            ErrorCode::NotFound => Self::NotFound,
            ErrorCode::Unavailable => Self::Server(
                "The server is temporarily unavailable. Try again in a moment.".to_owned(),
            ),
            ErrorCode::Internal => Self::Server("The server had a problem. Try again.".to_owned()),
            // A code from a newer server: its message is for that server's
            // clients, so say it generically.
            ErrorCode::Unknown(_) => Self::Server(
                "The server refused this for a reason this version of Latch doesn't know. Try again, or update Latch.".to_owned(),
            ),
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_error_code_is_worded_generically() {
        let body: ErrorBody = serde_json::from_value(serde_json::json!({
            "error": "step_up_required",
            "message": "Confirm it's you with your security key.",
        }))
        .unwrap();
        let error = ClientError::from_body(403, Some(body), None);
        assert_eq!(error.code(), "server_error");
        assert_eq!(
            error.to_string(),
            "The server refused this for a reason this version of Latch doesn't know. Try again, or update Latch."
        );
    }
}

//! The one error type of the HTTP layer: each variant is a row of
//! `docs/protocol.md`'s error table, and `IntoResponse` is the only place
//! that turns one into a status and a flat `{error, message, …}` body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latch_protocol::{ErrorBody, ErrorCode, Revocation, RevocationReason};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("The request body is larger than 16 KiB.")]
    BodyTooLarge,
    #[error("That code is not right. Check the email and try again.")]
    InvalidCode,
    #[error("This sign-in was started on another device or app. Start again here.")]
    VerifierMismatch,
    #[error("This sign-in link has expired. Send a new one.")]
    FlowExpired,
    #[error("This sign-in link was already used. Send a new one.")]
    FlowUsed,
    #[error("Too many wrong tries for this sign-in. Send a new link.")]
    FlowLocked,
    #[error("Too many requests. Try again in {retry_after_s} s.")]
    RateLimited { retry_after_s: u64 },
    #[error("Sign in first.")]
    Unauthenticated,
    #[error("{}", revoked_message(.0))]
    SessionRevoked(Revocation),
    #[error("This is the device you are using: log out instead of terminating it.")]
    CannotTerminateCurrent,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("The account database is unavailable. Try again shortly.")]
    Unavailable,
    #[error("Something went wrong on the server.")]
    Internal(String),
}

fn revoked_message(r: &Revocation) -> String {
    let by = r.by_device.as_deref().unwrap_or("another device");
    match &r.reason {
        RevocationReason::LoggedOut => "This device logged out.".to_owned(),
        RevocationReason::Terminated => format!("This device was terminated from {by}."),
        RevocationReason::LoggedOutOthers => {
            format!("All other devices were logged out from {by}.")
        }
        RevocationReason::LoggedOutEverywhere => format!("All devices were logged out from {by}."),
        RevocationReason::ExpiredIdle => "Signed out after too long without use.".to_owned(),
        RevocationReason::ExpiredAbsolute => {
            "Signed out: sessions last at most the server's absolute lifetime.".to_owned()
        }
        RevocationReason::Evicted => {
            "Signed out because the account reached its limit of signed-in devices.".to_owned()
        }
        RevocationReason::Admin => "Signed out by the server's administrator.".to_owned(),
        // latchd records only the reasons it knows; this is for completeness.
        RevocationReason::Unknown(_) => "Signed out by the server.".to_owned(),
    }
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidRequest(_) | Self::BodyTooLarge => ErrorCode::InvalidRequest,
            Self::InvalidCode => ErrorCode::InvalidCode,
            Self::VerifierMismatch => ErrorCode::VerifierMismatch,
            Self::FlowExpired => ErrorCode::FlowExpired,
            Self::FlowUsed => ErrorCode::FlowUsed,
            Self::FlowLocked => ErrorCode::FlowLocked,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::SessionRevoked(_) => ErrorCode::SessionRevoked,
            Self::CannotTerminateCurrent => ErrorCode::CannotTerminateCurrent,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Unavailable => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            other => StatusCode::from_u16(other.code().status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as Sq;
        match e.sqlite_error_code() {
            Some(
                Sq::DatabaseBusy
                | Sq::DatabaseLocked
                | Sq::ReadOnly
                | Sq::CannotOpen
                | Sq::SystemIoFailure
                | Sq::DiskFull
                | Sq::NotADatabase
                | Sq::DatabaseCorrupt,
            ) => {
                tracing::error!(error = %e, "database unavailable");
                Self::Unavailable
            }
            _ => Self::Internal(format!("database: {e}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            Self::Unavailable => {}
            // Client errors: the code is enough to follow a run; the message
            // may quote what the client sent, so it stays out of the log.
            other => tracing::info!(code = other.code().as_str(), %status, "request refused"),
        }
        let body = ErrorBody {
            error: self.code(),
            message: self.to_string(),
            revocation: match &self {
                Self::SessionRevoked(r) => Some(r.clone()),
                _ => None,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::RateLimited { retry_after_s } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s.max(1)));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

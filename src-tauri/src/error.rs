//! What every failed command answers: a stable code and words for the user.
//! Errors keep their type (`ClientError`) until here, the Tauri boundary.

use latch_client::{ClientError, ErrorCodeName};
use serde::Serialize;

/// `{code, message}`; `code` is a string union in TypeScript, so the
/// window can't match a misspelt one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct CommandError {
    pub code: ErrorCodeName,
    pub message: String,
}

impl From<ClientError> for CommandError {
    fn from(e: ClientError) -> Self {
        Self {
            code: e.code_name(),
            message: e.to_string(),
        }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_errors_are_code_and_message() {
        let error = CommandError::from(ClientError::FlowExpired);
        assert_eq!(
            serde_json::to_value(error).unwrap(),
            serde_json::json!({"code": "flow_expired", "message": "This sign-in link has expired. Send a new one."})
        );
    }

    #[test]
    fn every_code_is_its_old_string() {
        let rate = ClientError::RateLimited { retry_after_s: 5 };
        for error in [ClientError::NotSignedIn, ClientError::InvalidCode, rate] {
            let json = serde_json::to_value(CommandError::from(error.clone())).unwrap();
            assert_eq!(json["code"], error.code());
        }
    }
}

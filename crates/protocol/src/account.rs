//! The account: `GET` and `PATCH /v1/me`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::AccountId;

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

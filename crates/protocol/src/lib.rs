//! The Latch wire contract, v1 (`docs/protocol.md`).
//!
//! v1 is frozen: names here are what other clients rely on. Add, never rename.
//! Every type serialises to exactly the JSON the design names; the tests at the
//! bottom pin those shapes.

use chrono::{DateTime, Utc};

/// The OpenAPI schema of an open string enum (one with `ALL` and
/// `as_str`): a string of the known values.
macro_rules! string_enum_schema {
    ($ty:ty) => {
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::schema::string_enum(Self::ALL.iter().map(|v| v.as_str().to_owned()))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $ty {}
    };
}

mod account;
mod auth;
mod code;
mod device;
mod email;
mod error;
mod event;
mod ids;
mod name;
#[cfg(feature = "openapi")]
mod schema;
mod server;
mod session;

pub use account::*;
pub use auth::*;
pub use code::{format_code, normalize_code, CodeError, CODE_ALPHABET, CODE_LEN};
pub use device::*;
pub use email::{normalize_email, EmailError, MAX_EMAIL_LEN};
pub use error::*;
pub use event::*;
pub use ids::*;
pub use name::{clean_name, normalize_name, NameError, MAX_NAME_CHARS};
pub use server::*;
pub use session::*;

/// Every `*_at` field: an RFC 3339 UTC instant.
pub type Timestamp = DateTime<Utc>;

#[cfg(test)]
mod tests;

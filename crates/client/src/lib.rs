//! `latch-client`: everything the Latch window needs that doesn't need a
//! window — HTTP calls, the sign-in state machine, deep-link parsing, status
//! wording, the live event stream, and secret storage behind a trait. No
//! Tauri in here, so all of it is tested in milliseconds.

pub mod api;
pub mod client;
pub mod device;
pub mod error;
pub mod link_intake;
pub mod pkce;
mod private_fs;
pub mod secret_store;
pub mod server_url;
mod sse;
pub mod state;
pub mod status;
pub mod view;

pub use client::links::{Subscription, Update};
pub use client::{ClientConfig, LatchClient, SERVER_URL_ENV};
pub use deep_link::{DeepLink, DeepLinkError};
pub use device::DeviceIdentity;
pub use error::{ClientError, ErrorCodeName};
pub use latch_deeplink as deep_link;
pub use secret_store::{
    open_for_install, FallbackStore, FileStore, KeyringStore, MemoryStore, SecretStore, StoreKind,
};
pub use server_url::ServerUrl;
pub use view::{AuthState, Expiry, SessionView, SessionsSnapshot, SignedOutNotice};

//! What survives a restart: secrets in the secret store, the rest in
//! `client-state.json`.
//!
//! `client-state.json` is versioned and holds a list of accounts (one for
//! now). Before version 1 it held one account's fields at the top level,
//! while the server address and the device name lived in the shell's
//! `settings.json` too; such an install is read once the old way, then
//! saved the new way, keeping its server, name and session. A damaged file
//! is set aside and the defaults used, with a warning for the window.

use std::path::PathBuf;

use latch_protocol::{normalize_name, Account, FlowId, Session, SessionToken};
use serde::{Deserialize, Serialize};

use super::LatchClient;
use crate::private_fs;
use crate::server_url::{migrate_localhost, ServerUrl};
use crate::state::{PendingFlow, SignInState};
use crate::status::Lifetimes;
use crate::view::SignedOutNotice;

pub(super) const TOKEN_KEY: &str = "session_token";
pub(super) const VERIFIER_KEY: &str = "pending_verifier";
pub(super) const PENDING_LOGOUTS_KEY: &str = "pending_logouts";
pub const STATE_FILE: &str = "client-state.json";
const STATE_VERSION: u32 = 1;

/// `client-state.json` (no secret in here).
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    device_name: Option<String>,
    accounts: Vec<SavedAccount>,
}

/// One account's part of the file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SavedAccount {
    server: String,
    lifetimes: Option<Lifetimes>,
    pending: Option<PendingFlow>,
    signed_in: Option<(Account, Session)>,
    notice: Option<SignedOutNotice>,
}

/// The file before version 1 (it has no `version`).
#[derive(Debug, Default, Deserialize)]
struct Unversioned {
    server: Option<String>,
    lifetimes: Option<Lifetimes>,
    pending: Option<PendingFlow>,
    signed_in: Option<(Account, Session)>,
    notice: Option<SignedOutNotice>,
}

/// What the client took from the shell's `settings.json` before version 1.
#[derive(Debug, Default)]
struct LegacySettings {
    server_url: Option<String>,
    device_name: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct StoredVerifier {
    pub(super) flow_id: FlowId,
    pub(super) verifier: String,
}

impl LatchClient {
    pub(super) fn secret(&self, key: &str) -> Option<String> {
        self.inner.store.get(key).unwrap_or_else(|e| {
            tracing::warn!(error = %e, key, "can't read a secret");
            None
        })
    }

    pub(super) fn keep(&self, key: &str, value: &str) {
        if let Err(e) = self.inner.store.set(key, value) {
            tracing::error!(error = %e, key, "can't store a secret");
        }
    }

    pub(super) fn forget(&self, key: &str) {
        if let Err(e) = self.inner.store.delete(key) {
            tracing::warn!(error = %e, key, "can't delete a secret");
        }
    }

    pub(super) fn stored_verifier(&self) -> Option<StoredVerifier> {
        self.secret(VERIFIER_KEY)
            .and_then(|json| serde_json::from_str(&json).ok())
    }

    fn state_path(&self) -> PathBuf {
        self.inner.config.data_dir.join(STATE_FILE)
    }

    /// Reads the last run's state into the client (server, device name,
    /// warning) and answers the sign-in state to resume.
    pub(super) fn restore(&self) -> SignInState {
        let (file, warning) = self.load();
        let saved = file.accounts.into_iter().next();
        let server = saved
            .as_ref()
            .map(|a| a.server.clone())
            .or_else(|| self.inner.config.server.clone());
        let api = server
            .and_then(|s| ServerUrl::parse(&s).ok())
            .and_then(|url| self.api_for(url).ok());
        {
            let mut core = self.core();
            core.warning = warning;
            if let Some(name) = file.device_name.and_then(|n| normalize_name(&n).ok()) {
                core.device_name = name;
            }
        }
        let Some(api) = api else {
            return SignInState::NeedsServer;
        };
        let saved = saved
            .filter(|a| a.server == api.server().as_str())
            .unwrap_or_default();
        let now = self.now();
        let token = self.secret(TOKEN_KEY).map(SessionToken::new);
        let verifier = self.stored_verifier();
        let mut core = self.core();
        core.account.api = Some(api);
        core.account.lifetimes = saved.lifetimes.unwrap_or_default();
        match (token, saved.signed_in, saved.pending) {
            (Some(token), Some((account, session)), _) => SignInState::SignedIn {
                account,
                session,
                token,
            },
            (_, _, Some(pending))
                if pending.expires_at > now
                    && verifier
                        .as_ref()
                        .is_some_and(|v| v.flow_id == pending.flow_id) =>
            {
                SignInState::AwaitingLink(pending)
            }
            _ => SignInState::SignedOut {
                notice: saved.notice,
            },
        }
    }

    /// The saved state, and why it couldn't be used when it couldn't. A
    /// missing file is a first start (or one from before version 1); a
    /// damaged one is set aside: never an error.
    fn load(&self) -> (StateFile, Option<String>) {
        let (mut file, warning) = self.load_as_saved();
        // Saved by a version that allowed http://localhost, which this one
        // refuses (RFC 8252 §8.3): the same server by its address. The next
        // save writes it so.
        for account in &mut file.accounts {
            account.server = migrate_localhost(&account.server);
        }
        (file, warning)
    }

    fn load_as_saved(&self) -> (StateFile, Option<String>) {
        let path = self.state_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (self.upgrade(None), None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "can't read the client state; starting signed out");
                let warning =
                    "Latch couldn't read its saved sign-in, so this device starts signed out.";
                return (self.upgrade(None), Some(warning.to_owned()));
            }
        };
        match parse(&text) {
            Ok(Parsed::Current(file)) => (file, None),
            Ok(Parsed::Unversioned(old)) => (self.upgrade(Some(*old)), None),
            Err(e) => {
                tracing::warn!(error = %e, "client state damaged; set aside, starting signed out");
                let aside = path.with_extension("json.damaged");
                let warning = match std::fs::rename(&path, &aside) {
                    Ok(()) => format!(
                        "Latch's saved sign-in was damaged, so this device starts signed out. The old file is at {}.",
                        aside.display()
                    ),
                    Err(_) => "Latch's saved sign-in was damaged, so this device starts signed out.".to_owned(),
                };
                (self.upgrade(None), Some(warning))
            }
        }
    }

    /// A state file from before version 1, with what the shell's
    /// `settings.json` held then: the server and name from there (the
    /// server from the state file when settings.json has none), the account
    /// when it was saved for that server.
    fn upgrade(&self, old: Option<Unversioned>) -> StateFile {
        let legacy = self.legacy_settings();
        let old = old.unwrap_or_default();
        let server = legacy.server_url.or_else(|| old.server.clone());
        let accounts = server
            .map(|server| {
                if old.server.as_deref() == Some(server.as_str()) {
                    SavedAccount {
                        server,
                        lifetimes: old.lifetimes,
                        pending: old.pending,
                        signed_in: old.signed_in,
                        notice: old.notice,
                    }
                } else {
                    SavedAccount {
                        server,
                        ..SavedAccount::default()
                    }
                }
            })
            .into_iter()
            .collect();
        StateFile {
            version: STATE_VERSION,
            device_name: legacy.device_name,
            accounts,
        }
    }

    /// The server and name in the shell's old `settings.json`; nothing when
    /// it is missing or damaged (the shell sets a damaged one aside and
    /// tells the window).
    fn legacy_settings(&self) -> LegacySettings {
        let Some(path) = &self.inner.config.legacy_settings else {
            return LegacySettings::default();
        };
        let Ok(bytes) = std::fs::read(path) else {
            return LegacySettings::default();
        };
        let Ok(map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes)
        else {
            tracing::warn!("old settings file damaged; its server and device name are not used");
            return LegacySettings::default();
        };
        let text = |key: &str| {
            map.get(key)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        LegacySettings {
            server_url: text("server_url"),
            device_name: text("device_name"),
        }
    }

    pub(super) fn persist(&self) {
        let _saving = self
            .inner
            .saving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let file = {
            let core = self.core();
            let account = &core.account;
            StateFile {
                version: STATE_VERSION,
                device_name: Some(core.device_name.clone()),
                accounts: account
                    .api
                    .as_ref()
                    .map(|api| SavedAccount {
                        server: api.server().as_str().to_owned(),
                        lifetimes: Some(account.lifetimes),
                        pending: account.state.pending().cloned(),
                        signed_in: match &account.state {
                            SignInState::SignedIn {
                                account, session, ..
                            } => Some((account.clone(), session.clone())),
                            _ => None,
                        },
                        notice: match &account.state {
                            SignInState::SignedOut { notice } => notice.clone(),
                            _ => None,
                        },
                    })
                    .into_iter()
                    .collect(),
            }
        };
        let path = self.state_path();
        // 0600: no secret in here, but the account's email, its devices
        // and their addresses are nobody else's business.
        let write = || -> std::io::Result<()> {
            private_fs::create_dir(&self.inner.config.data_dir)?;
            let tmp = path.with_extension("tmp");
            private_fs::write_new(&tmp, &serde_json::to_vec(&file)?)?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            tracing::warn!(error = %e, "can't save client state");
        }
    }
}

enum Parsed {
    Current(StateFile),
    Unversioned(Box<Unversioned>),
}

fn parse(text: &str) -> serde_json::Result<Parsed> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    if value.get("version").is_some() {
        Ok(Parsed::Current(serde_json::from_value(value)?))
    } else {
        Ok(Parsed::Unversioned(Box::new(serde_json::from_value(
            value,
        )?)))
    }
}

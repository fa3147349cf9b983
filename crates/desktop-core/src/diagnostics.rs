//! "Copy diagnostics" (Settings → General): a plain-text report a person can
//! paste into a support request.
//!
//! It says what would be asked first — versions, the server and whether it
//! answers, the credential store in use, whether sign-in links reach the
//! app, where the files are — and nothing that could sign anyone in or say
//! who they are: no token, verifier, code, flow id, email, account, session
//! or install id. Only the fields below can appear, so a new secret can't
//! slip in by accident; tests pin it.

use std::fmt::Write as _;
use std::path::PathBuf;

use latch_client::{AuthState, StoreKind};

use crate::links::{LinkForwarding, SchemeRegistration};

/// Everything the report says, gathered first so the wording is tested
/// without an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    pub app_version: String,
    pub debug: bool,
    pub tauri_version: String,
    pub webview_version: Option<String>,
    pub os: String,
    pub arch: String,
    /// The server address, and what `GET /v1/server` answered.
    pub server: Option<(String, Result<String, String>)>,
    pub sign_in: SignInSummary,
    pub credential_store: StoreKind,
    pub scheme: SchemeRegistration,
    pub link_forwarding: LinkForwarding,
    pub settings_warning: Option<String>,
    pub data_dir: PathBuf,
    pub config_dir: PathBuf,
    pub log_file: Option<PathBuf>,
}

/// Where sign-in stands, without whose account it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInSummary {
    NeedsServer,
    SignedOut,
    AwaitingLink,
    SignedIn,
}

impl From<&AuthState> for SignInSummary {
    fn from(state: &AuthState) -> Self {
        match state {
            AuthState::NeedsServer => Self::NeedsServer,
            AuthState::SignedOut { .. } => Self::SignedOut,
            AuthState::AwaitingLink { .. } => Self::AwaitingLink,
            AuthState::SignedIn { .. } => Self::SignedIn,
        }
    }
}

impl Diagnostics {
    /// The report as it is copied.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |label: &str, value: &str| {
            let _ = writeln!(out, "{label:<18}{value}");
        };
        line(
            "Latch diagnostics",
            "(no passwords, tokens, codes or email addresses)",
        );
        line(
            "App",
            &format!(
                "Latch {}{}",
                self.app_version,
                if self.debug { " (debug build)" } else { "" }
            ),
        );
        line("Tauri", &self.tauri_version);
        line(
            "Web view",
            self.webview_version.as_deref().unwrap_or("unknown"),
        );
        line("OS", &format!("{} {}", self.os, self.arch));
        line(
            "Server",
            &match &self.server {
                None => "not set".to_owned(),
                Some((url, Ok(answer))) => format!("{url} — {answer}"),
                Some((url, Err(error))) => format!("{url} — doesn't answer: {error}"),
            },
        );
        line(
            "Sign-in",
            match self.sign_in {
                SignInSummary::NeedsServer => "no server set",
                SignInSummary::SignedOut => "signed out",
                SignInSummary::AwaitingLink => "waiting for a sign-in link",
                SignInSummary::SignedIn => "signed in",
            },
        );
        line(
            "Credential store",
            &match &self.credential_store {
                StoreKind::Os => format!("{} (the OS credential store)", os_store_name()),
                StoreKind::File { why } => {
                    format!("private file in the data folder, because: {why}")
                }
            },
        );
        line(
            "app.latch: links",
            &match &self.scheme {
                SchemeRegistration::Pending => "registration still running".to_owned(),
                SchemeRegistration::Registered { entry } => format!("registered: {entry}"),
                SchemeRegistration::NotNeeded => "registered by the installer".to_owned(),
                SchemeRegistration::Failed { message } => format!("not registered: {message}"),
            },
        );
        line(
            "Link forwarding",
            &match &self.link_forwarding {
                LinkForwarding::Pending => "still being checked".to_owned(),
                LinkForwarding::Available => "available".to_owned(),
                LinkForwarding::Unavailable { reason, detail } => {
                    format!("unavailable: {reason} ({detail})")
                }
            },
        );
        line(
            "Settings",
            self.settings_warning.as_deref().unwrap_or("read and saved"),
        );
        line("Data folder", &self.data_dir.display().to_string());
        line("Settings folder", &self.config_dir.display().to_string());
        line(
            "Log file",
            &self
                .log_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none (logging to the terminal only)".to_owned()),
        );
        out
    }
}

/// The OS credential store keyring uses on this platform.
fn os_store_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "Keychain"
    } else if cfg!(windows) {
        "Windows Credential Manager"
    } else {
        "Secret Service"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Diagnostics {
        Diagnostics {
            app_version: "0.1.0".into(),
            debug: false,
            tauri_version: "2.12.5".into(),
            webview_version: Some("2.46.5".into()),
            os: "Linux (Debian 12)".into(),
            arch: "x86_64".into(),
            server: Some((
                "https://accounts.example.com".into(),
                Ok("answers: latchd 0.1.0".into()),
            )),
            sign_in: SignInSummary::SignedIn,
            credential_store: StoreKind::Os,
            scheme: SchemeRegistration::Registered {
                entry: "Latch.desktop".into(),
            },
            link_forwarding: LinkForwarding::Available,
            settings_warning: None,
            data_dir: "/home/ada/.local/share/app.latch.desktop".into(),
            config_dir: "/home/ada/.config/app.latch.desktop".into(),
            log_file: Some("/home/ada/.local/state/app.latch.desktop/logs/latch.log".into()),
        }
    }

    #[test]
    fn the_report_says_what_support_asks_first() {
        let text = sample().to_text();
        for expected in [
            "Latch 0.1.0",
            "Tauri             2.12.5",
            "Web view          2.46.5",
            "Linux (Debian 12) x86_64",
            "https://accounts.example.com — answers: latchd 0.1.0",
            "Sign-in           signed in",
            "Secret Service (the OS credential store)",
            "registered: Latch.desktop",
            "Link forwarding   available",
            "/logs/latch.log",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert!(!text.contains("debug build"));
    }

    #[test]
    fn the_report_words_every_problem() {
        let mut d = sample();
        d.debug = true;
        d.server = Some((
            "http://127.0.0.1:8787".into(),
            Err("Can't reach 127.0.0.1:8787.".into()),
        ));
        d.credential_store = StoreKind::File {
            why: "no Secret Service".into(),
        };
        d.scheme = SchemeRegistration::Failed {
            message: "xdg-mime is missing".into(),
        };
        d.link_forwarding = LinkForwarding::Unavailable {
            reason: "there is no D-Bus session bus".into(),
            detail: "no such file".into(),
        };
        d.log_file = None;
        let text = d.to_text();
        for expected in [
            "(debug build)",
            "doesn't answer: Can't reach 127.0.0.1:8787.",
            "private file in the data folder, because: no Secret Service",
            "not registered: xdg-mime is missing",
            "unavailable: there is no D-Bus session bus (no such file)",
            "logging to the terminal only",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }
}

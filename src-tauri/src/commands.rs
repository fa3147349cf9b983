//! The IPC command layer: one command, one client call, one error mapping.
//! Annotated for tauri-specta (which writes `ui/src/lib/bindings.ts`) and
//! declared in `build.rs` so a capability must grant each.

use latch_client::{AuthState, ClientError, SessionView, SessionsSnapshot, StoreKind};
use latch_protocol::Account;
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use crate::desktop::Desktop;
use crate::diagnostics::Diagnostics;
use crate::settings::{Settings, Theme};
use crate::shell::{LinkForwarding, SchemeRegistration, Shell};

/// What every failed command answers: a stable code and words for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

impl From<ClientError> for CommandError {
    fn from(e: ClientError) -> Self {
        Self {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

type CommandResult<T> = Result<T, CommandError>;

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Where the session token is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum CredentialStore {
    /// The OS credential store (Keychain, Credential Manager, Secret Service).
    Os,
    /// The private-file fallback.
    File,
}

/// What the window shows about the app itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AppInfo {
    pub version: String,
    pub debug: bool,
    pub credential_store: CredentialStore,
    pub credential_store_warning: Option<String>,
    pub scheme_registered: bool,
    pub scheme_warning: Option<String>,
    /// Set when a second launch (a clicked link) can't reach this window.
    pub link_forwarding_warning: Option<String>,
    pub settings_warning: Option<String>,
    /// Debug builds only: the dev server's mailbox page.
    pub dev_mailbox_url: Option<String>,
}

#[tauri::command]
#[specta::specta]
pub async fn get_state<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<AuthState> {
    desktop.ready().await;
    Ok(desktop.client.auth_state())
}

#[tauri::command]
#[specta::specta]
pub async fn get_app_info<R: Runtime>(
    _app: AppHandle<R>,

    desktop: State<'_, Desktop<R>>,
    shell: State<'_, Shell>,
) -> CommandResult<AppInfo> {
    desktop.ready().await;
    let (credential_store, credential_store_warning) = match desktop.store_kind() {
        StoreKind::Os => (CredentialStore::Os, None),
        StoreKind::File { why } => (
            CredentialStore::File,
            Some(format!(
                "Latch keeps your sign-in in a private file instead of the system keyring ({why})."
            )),
        ),
    };
    let (scheme_registered, scheme_warning) = match shell.scheme_registration() {
        SchemeRegistration::Registered { .. } | SchemeRegistration::NotNeeded => (true, None),
        SchemeRegistration::Pending => (false, None),
        SchemeRegistration::Failed { message } => (
            false,
            Some(format!("Sign-in links can't open Latch from your browser: {message}. Type the code instead.")),
        ),
    };
    let link_forwarding_warning = match shell.link_forwarding() {
        LinkForwarding::Unavailable { reason, .. } => Some(format!(
            "{}. A sign-in link opened while Latch is running starts a second Latch instead of reaching this window: type the code from the email instead.",
            capitalise(&reason)
        )),
        LinkForwarding::Available | LinkForwarding::Pending => None,
    };
    let debug = cfg!(debug_assertions);
    Ok(AppInfo {
        version: desktop.version.clone(),
        debug,
        credential_store,
        credential_store_warning,
        scheme_registered,
        scheme_warning,
        link_forwarding_warning,
        settings_warning: desktop.settings_warning(),
        dev_mailbox_url: desktop
            .client
            .server()
            .filter(|_| debug)
            .map(|server| server.join("dev/mailbox").to_string()),
    })
}

/// The "Copy diagnostics" text: versions, server, credential store, link
/// registration, where the files are. No secrets (see diagnostics.rs).
#[tauri::command]
#[specta::specta]
pub async fn get_diagnostics<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    shell: State<'_, Shell>,
) -> CommandResult<String> {
    desktop.ready().await;
    Ok(Diagnostics::collect(&desktop, &shell).await.to_text())
}

#[tauri::command]
#[specta::specta]
pub async fn get_settings<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<Settings> {
    desktop.ready().await;
    Ok(desktop.settings())
}

#[tauri::command]
#[specta::specta]
pub async fn set_server<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    url: String,
) -> CommandResult<AuthState> {
    desktop.ready().await;
    let state = desktop.client.set_server(&url).await?;
    desktop.save_settings(|s| s.server_url = desktop.client.server().map(|u| u.display()));
    Ok(state)
}

#[tauri::command]
#[specta::specta]
pub async fn set_device_name<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    name: String,
) -> CommandResult<Settings> {
    desktop.ready().await;
    desktop.client.set_device_name(&name).await?;
    Ok(desktop.save_settings(|_| {}))
}

#[tauri::command]
#[specta::specta]
pub async fn set_theme<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    theme: Theme,
) -> CommandResult<Settings> {
    desktop.ready().await;
    Ok(desktop.save_settings(|s| s.theme = theme))
}

#[tauri::command]
#[specta::specta]
pub async fn request_link<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    email: String,
) -> CommandResult<AuthState> {
    desktop.ready().await;
    Ok(desktop.client.request_link(&email).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn resend_link<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<AuthState> {
    desktop.ready().await;
    Ok(desktop.client.resend_link().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_sign_in<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<AuthState> {
    desktop.ready().await;
    Ok(desktop.client.cancel_sign_in().await)
}

#[tauri::command]
#[specta::specta]
pub async fn submit_code<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    code: String,
) -> CommandResult<AuthState> {
    desktop.ready().await;
    Ok(desktop.client.submit_code(&code).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn list_sessions<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<SessionsSnapshot> {
    desktop.ready().await;
    Ok(desktop.client.list_sessions().await)
}

#[tauri::command]
#[specta::specta]
pub async fn rename_session<R: Runtime>(
    _app: AppHandle<R>,

    desktop: State<'_, Desktop<R>>,
    session_id: String,
    name: String,
) -> CommandResult<SessionView> {
    desktop.ready().await;
    let view = desktop.client.rename_session(&session_id, &name).await?;
    if view.current {
        desktop.save_settings(|_| {});
    }
    Ok(view)
}

#[tauri::command]
#[specta::specta]
pub async fn rename_account<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    name: String,
) -> CommandResult<Account> {
    desktop.ready().await;
    Ok(desktop.client.rename_account(&name).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn log_out<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<AuthState> {
    desktop.ready().await;
    Ok(desktop.client.log_out().await)
}

#[tauri::command]
#[specta::specta]
pub async fn terminate_session<R: Runtime>(
    _app: AppHandle<R>,

    desktop: State<'_, Desktop<R>>,
    session_id: String,
) -> CommandResult<()> {
    desktop.ready().await;
    Ok(desktop.client.terminate(&session_id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn log_out_others<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<u32> {
    desktop.ready().await;
    Ok(desktop.client.log_out_others().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn log_out_everywhere<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<u32> {
    desktop.ready().await;
    Ok(desktop.client.log_out_everywhere().await?)
}

#[tauri::command]
#[specta::specta]
pub fn report_activity<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    active: bool,
) {
    desktop.client.report_activity(active);
}

// Each command takes the `AppHandle` only to pin its runtime (the app's,
// or the mock one in tests): with `State` alone Tauri can't infer it.

include!("command_names.rs");

//! The IPC command layer: one command, one client call, one error mapping.
//! Annotated for tauri-specta (which writes `ui/src/lib/bindings.ts`) and
//! declared in `build.rs` so a capability must grant each.
//!
//! Each command takes the `AppHandle` only to pin its runtime (the app's,
//! or the mock one in tests): with `State` alone Tauri can't infer it.

use latch_client::{AuthState, SessionView, SessionsSnapshot, StoreKind};
use latch_protocol::Account;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use crate::desktop::Desktop;
use crate::error::CommandResult;
use crate::events::{Connected, WindowEvent};
use crate::settings::{Settings, Theme};
use crate::shell::Shell;

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

/// The window's first call: the state now, and every change after it on
/// `events` (subscribed before the state is read, so none falls between).
#[tauri::command]
#[specta::specta]
pub async fn connect<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    events: Channel<WindowEvent>,
) -> CommandResult<Connected> {
    Ok(desktop.connect(events).await)
}

#[tauri::command]
#[specta::specta]
pub async fn get_app_info<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    shell: State<'_, Shell>,
) -> CommandResult<AppInfo> {
    desktop.client.ready().await;
    let store = desktop.store.kind();
    let scheme = shell.scheme_registration();
    let debug = cfg!(debug_assertions);
    Ok(AppInfo {
        version: desktop.version.clone(),
        debug,
        credential_store: match store {
            StoreKind::Os => CredentialStore::Os,
            StoreKind::File { .. } => CredentialStore::File,
        },
        credential_store_warning: store.warning(),
        scheme_registered: scheme.registered(),
        scheme_warning: scheme.warning(),
        link_forwarding_warning: shell.link_forwarding().warning(),
        settings_warning: desktop.settings_warning(),
        dev_mailbox_url: desktop
            .client
            .server()
            .filter(|_| debug)
            .map(|server| server.join("dev/mailbox").to_string()),
    })
}

/// The "Copy diagnostics" text: versions, server, credential store, link
/// registration, where the files are. No secrets (see
/// latch-desktop-core's diagnostics).
#[tauri::command]
#[specta::specta]
pub async fn get_diagnostics<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    shell: State<'_, Shell>,
) -> CommandResult<String> {
    Ok(desktop.diagnostics(&shell).await.to_text())
}

#[tauri::command]
#[specta::specta]
pub async fn get_settings<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<Settings> {
    Ok(desktop.settings().await)
}

#[tauri::command]
#[specta::specta]
pub async fn set_server<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    url: String,
) -> CommandResult<AuthState> {
    Ok(desktop.client.set_server(&url).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn set_device_name<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    name: String,
) -> CommandResult<Settings> {
    desktop.client.set_device_name(&name).await?;
    Ok(desktop.settings().await)
}

#[tauri::command]
#[specta::specta]
pub async fn set_theme<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    theme: Theme,
) -> CommandResult<Settings> {
    Ok(desktop.set_theme(theme).await)
}

#[tauri::command]
#[specta::specta]
pub async fn request_link<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    email: String,
) -> CommandResult<AuthState> {
    Ok(desktop.client.request_link(&email).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn resend_link<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<AuthState> {
    Ok(desktop.client.resend_link().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_sign_in<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<AuthState> {
    Ok(desktop.client.cancel_sign_in().await)
}

#[tauri::command]
#[specta::specta]
pub async fn submit_code<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    code: String,
) -> CommandResult<AuthState> {
    Ok(desktop.client.submit_code(&code).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn list_sessions<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<SessionsSnapshot> {
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
    Ok(desktop.client.rename_session(&session_id, &name).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn rename_account<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    name: String,
) -> CommandResult<Account> {
    Ok(desktop.client.rename_account(&name).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn log_out<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<AuthState> {
    Ok(desktop.client.log_out().await)
}

#[tauri::command]
#[specta::specta]
pub async fn terminate_session<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
    session_id: String,
) -> CommandResult<()> {
    Ok(desktop.client.terminate(&session_id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn log_out_others<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<u32> {
    Ok(desktop.client.log_out_others().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn log_out_everywhere<R: Runtime>(
    _app: AppHandle<R>,
    desktop: State<'_, Desktop<R>>,
) -> CommandResult<u32> {
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

include!("command_names.rs");

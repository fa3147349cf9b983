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

/// A command that takes the window's `Desktop` (named by the caller) and
/// the given arguments, and answers the body: one client call plus the error
/// mapping. The names stay what the window calls (see `bindings.ts`).
macro_rules! client_commands {
    ($(
        $(#[$attr:meta])*
        fn $name:ident($desktop:ident $(, $arg:ident: $ty:ty)*) -> $out:ty $body:block
    )*) => {$(
        $(#[$attr])*
        #[tauri::command]
        #[specta::specta]
        pub async fn $name<R: Runtime>(
            _app: AppHandle<R>,
            $desktop: State<'_, Desktop<R>>,
            $($arg: $ty),*
        ) -> CommandResult<$out> $body
    )*};
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

client_commands! {
    /// The window's first call: the state now, and every change after it on
    /// `events` (subscribed before the state is read, so none falls between).
    fn connect(desktop, events: Channel<WindowEvent>) -> Connected {
        Ok(desktop.connect(events).await)
    }
    fn get_app_info(desktop, shell: State<'_, Shell>) -> AppInfo {
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
    fn get_diagnostics(desktop, shell: State<'_, Shell>) -> String {
        Ok(desktop.diagnostics(&shell).await.to_text())
    }
    fn get_settings(desktop) -> Settings { Ok(desktop.settings().await) }
    fn set_server(desktop, url: String) -> AuthState { Ok(desktop.client.set_server(&url).await?) }
    fn set_device_name(desktop, name: String) -> Settings {
        desktop.client.set_device_name(&name).await?;
        Ok(desktop.settings().await)
    }
    fn set_theme(desktop, theme: Theme) -> Settings { Ok(desktop.set_theme(theme).await) }
    fn request_link(desktop, email: String) -> AuthState {
        Ok(desktop.client.request_link(&email).await?)
    }
    fn resend_link(desktop) -> AuthState { Ok(desktop.client.resend_link().await?) }
    fn cancel_sign_in(desktop) -> AuthState { Ok(desktop.client.cancel_sign_in().await) }
    fn submit_code(desktop, code: String) -> AuthState {
        Ok(desktop.client.submit_code(&code).await?)
    }
    fn list_sessions(desktop) -> SessionsSnapshot { Ok(desktop.client.list_sessions().await) }
    fn rename_session(desktop, session_id: String, name: String) -> SessionView {
        Ok(desktop.client.rename_session(&session_id, &name).await?)
    }
    fn rename_account(desktop, name: String) -> Account {
        Ok(desktop.client.rename_account(&name).await?)
    }
    fn log_out(desktop) -> AuthState { Ok(desktop.client.log_out().await) }
    fn terminate_session(desktop, session_id: String) -> () {
        Ok(desktop.client.terminate(&session_id).await?)
    }
    fn log_out_others(desktop) -> u32 { Ok(desktop.client.log_out_others().await?) }
    fn log_out_everywhere(desktop) -> u32 { Ok(desktop.client.log_out_everywhere().await?) }
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

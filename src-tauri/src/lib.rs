//! latch-desktop: the Tauri shell around the session client.
//!
//! It owns the window, the single-instance lock, the window preferences
//! and the IPC commands, and hands the OS's deep links to the client; the
//! session logic, its state and the link intake live in `crates/client`,
//! without Tauri.
//!
//! What needs no Tauri (the data directory, the log file, desktop
//! entries, the diagnostics report) is in `latch-desktop-core`.
//!
//! Modules depend downwards only: `commands` → `desktop` → `events` →
//! `error`, and `desktop` → `settings`, `shell`; `platform` → `shell`,
//! `second_launch`.

pub mod commands;
mod desktop;
mod error;
mod events;
mod platform;
mod second_launch;
mod settings;
mod shell;

use std::error::Error;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use latch_desktop_core::LogFile;
use tauri::webview::PageLoadEvent;
use tauri::{App, AppHandle, Manager, WebviewWindowBuilder};
use tauri_plugin_deep_link::DeepLinkExt;

pub use commands::{AppInfo, CredentialStore, NAMES as COMMANDS};
pub use desktop::{start as start_client, Desktop};
pub use error::{CommandError, CommandResult};
pub use events::{Connected, WindowEvent};
pub use latch_client::{SignedOutNotice, SERVER_URL_ENV};
pub use latch_desktop_core::{
    DataDirOverride, LinkForwarding, Places, SchemeRegistration, DATA_DIR_ENV,
};
pub use settings::{Settings, Theme, SETTINGS_FILE};
pub use shell::Shell;
#[doc(hidden)]
pub use tauri_specta;

/// The label of the one window, as in tauri.conf.json and the capability.
pub const MAIN_WINDOW: &str = "main";

/// Limits the window checks as it is typed, exported into the bindings.
pub const DEVICE_NAME_MAX_CHARS: usize = latch_protocol::MAX_NAME_CHARS;
pub const CODE_LENGTH: usize = latch_protocol::CODE_LEN;

/// The TypeScript bindings of the IPC commands, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/lib/bindings.ts";

/// Every command the window can call, for a runtime: the app's (`ipc()`)
/// or the mock one in tests (`latch_ipc!(MockRuntime)`). A command added
/// here must also be listed in build.rs and granted in capabilities/.
#[macro_export]
macro_rules! latch_ipc {
    ($($runtime:tt)+) => {
        $crate::tauri_specta::Builder::<$($runtime)+>::new()
            .commands($crate::tauri_specta::collect_commands![
                $crate::commands::connect::<$($runtime)+>,
                $crate::commands::get_app_info::<$($runtime)+>,
                $crate::commands::get_diagnostics::<$($runtime)+>,
                $crate::commands::get_settings::<$($runtime)+>,
                $crate::commands::set_server::<$($runtime)+>,
                $crate::commands::set_device_name::<$($runtime)+>,
                $crate::commands::set_theme::<$($runtime)+>,
                $crate::commands::request_link::<$($runtime)+>,
                $crate::commands::resend_link::<$($runtime)+>,
                $crate::commands::cancel_sign_in::<$($runtime)+>,
                $crate::commands::submit_code::<$($runtime)+>,
                $crate::commands::list_sessions::<$($runtime)+>,
                $crate::commands::rename_session::<$($runtime)+>,
                $crate::commands::rename_account::<$($runtime)+>,
                $crate::commands::log_out::<$($runtime)+>,
                $crate::commands::terminate_session::<$($runtime)+>,
                $crate::commands::log_out_others::<$($runtime)+>,
                $crate::commands::log_out_everywhere::<$($runtime)+>,
                $crate::commands::report_activity::<$($runtime)+>,
            ])
            .typ::<$crate::SignedOutNotice>()
            .constant("DEVICE_NAME_MAX_CHARS", $crate::DEVICE_NAME_MAX_CHARS)
            .constant("CODE_LENGTH", $crate::CODE_LENGTH)
    };
}

/// The app's commands and types (also what the TypeScript is generated from).
pub fn ipc() -> tauri_specta::Builder<tauri::Wry> {
    latch_ipc!(tauri::Wry)
}

/// The TypeScript for [`ipc`]'s commands and types.
pub fn bindings_typescript() -> specta_typescript::Typescript {
    specta_typescript::Typescript::default().header(
        "// Generated from src-tauri by tauri-specta: do not edit.\n\
         // Regenerate: cargo test -p latch-desktop --lib bindings\n",
    )
}

/// Builds and runs the app until its last window closes.
pub fn run() -> Result<(), tauri::Error> {
    software_compositing();
    let log_file = init_tracing();

    let mut context = tauri::generate_context!();
    let data_override = DataDirOverride::from_env();
    if let Some(dir) = &data_override {
        // One lock per data directory; see latch-desktop-core's data_dir.rs for why the
        // identifier is what we change.
        let identifier = dir.instance_identifier(&context.config().identifier);
        context.config_mut().identifier = identifier;
    }

    if second_launch::hand_over(&context.config().identifier) {
        return Ok(());
    }

    let ipc = ipc();
    tauri::Builder::default()
        // First: a second launch that second_launch::hand_over didn't end
        // (another instance took the name since) hands over its arguments
        // and exits before anything else of it runs. With its `deep-link`
        // feature it passes them to the deep-link plugin, which emits them
        // to `on_open_url` below; our callback only brings the window up.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            // argv may hold a deep link with a one-time code: not logged.
            tracing::info!("another launch handed over to this instance");
            show_main_window(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_store::Builder::default().build())
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| setup(app, data_override.as_ref(), &log_file))
        .run(context)
}

/// Linux: WebKitGTK's accelerated compositing costs Latch's web process
/// ~100 MiB (GL through Mesa, and per-layer buffers: 217 → 115 MiB signed
/// in, 282 → 156 MiB with 100 sessions shown; BENCHMARKS.md) and buys a
/// window of text and a few short transitions nothing visible. A value the
/// user set (`WEBKIT_DISABLE_COMPOSITING_MODE=0` turns it back on) is kept.
fn software_compositing() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // Sound: the first thing run() does, before any thread exists.
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// Logs to stderr and, once setup opens it, to the log file (see latch-desktop-core's logs.rs).
fn init_tracing() -> LogFile {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let log_file = LogFile::new();
    // Fails only when a subscriber is already set, which is then kept.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(log_file.clone())
                .with_ansi(false),
        )
        .try_init();
    log_file
}

/// The platform's places for this app's files, or all under the data
/// directory given with `LATCH_DATA_DIR`.
fn places(app: &App, data_override: Option<&DataDirOverride>) -> Result<Places, tauri::Error> {
    Ok(match data_override {
        Some(dir) => Places::under(dir.path()),
        None => Places {
            data: app.path().app_data_dir()?,
            config: app.path().app_config_dir()?,
            logs: platform::log_dir(app.handle())?,
        },
    })
}

fn setup(
    app: &mut App,
    data_override: Option<&DataDirOverride>,
    log_file: &LogFile,
) -> Result<(), Box<dyn Error>> {
    let places = places(app, data_override)?;
    let shell = Shell::new();
    match log_file.open(&places.logs) {
        Ok(path) => shell.set_log_file(path),
        Err(error) => {
            tracing::warn!(%error, dir = %places.logs.display(), "can't write the log file; logging to stderr only")
        }
    }
    let exe = tauri::utils::platform::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    tracing::info!(version = %app.package_info().version, %exe, "Latch starting");
    app.manage(shell);
    app.manage(Desktop::new(app.handle(), &places)?);

    create_main_window(app, data_override)?;
    start_deep_link_intake(app);
    desktop::start(app.handle());
    Ok(())
}

/// The window is declared in tauri.conf.json with `create: false` and made
/// here, so an instance with its own data directory also keeps its webview
/// storage (local storage, caches) there.
fn create_main_window(
    app: &App,
    data_override: Option<&DataDirOverride>,
) -> Result<(), Box<dyn Error>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == MAIN_WINDOW)
        .ok_or("tauri.conf.json declares no \"main\" window")?
        .clone();
    // The OS chores (registering the scheme runs `xdg-mime`, a shell script
    // of many processes; asking the bus who holds the single-instance name)
    // wait until the page has loaded: on two cores they took CPU from the
    // window's start, and nothing on screen needs them before.
    let chores_started = AtomicBool::new(false);
    let mut builder = WebviewWindowBuilder::from_config(app.handle(), &config)?.on_page_load(
        move |window, payload| {
            if payload.event() == PageLoadEvent::Finished
                && !chores_started.swap(true, Ordering::Relaxed)
            {
                platform::register_scheme(window.app_handle());
                platform::check_link_forwarding(window.app_handle());
            }
        },
    );
    if let Some(dir) = data_override {
        builder = builder.data_directory(dir.path().join("webview"));
    }
    builder.build()?;
    Ok(())
}

fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Listens for links first, then reads the cold-start link once, so none is
/// missed in between (a link seen both ways is dropped as a duplicate). Each
/// goes straight to the client, which parses it, queues it until it is
/// ready, and opens it.
fn start_deep_link_intake(app: &App) {
    let Some(desktop) = app.try_state::<Desktop<tauri::Wry>>() else {
        return;
    };
    let client = desktop.client.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            client.offer_link(url.as_str());
        }
    });
    match app.deep_link().get_current() {
        Ok(Some(urls)) => {
            for url in urls {
                desktop.client.offer_link(url.as_str());
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "cannot read the link the app was started with"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The committed bindings must be what the commands generate. When they
    /// are not, the file is rewritten (review and commit it) and the test
    /// fails, so CI catches a stale file.
    #[test]
    fn bindings_are_current() {
        let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH);
        let fresh = tempfile::NamedTempFile::new().unwrap();
        ipc().export(bindings_typescript(), fresh.path()).unwrap();
        let generated = std::fs::read_to_string(fresh.path()).unwrap();
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        if generated != committed {
            std::fs::write(&committed_path, &generated).unwrap();
            panic!(
                "{} was stale and has been regenerated: review and commit it",
                committed_path.display()
            );
        }
    }

    #[test]
    fn app_info_serializes_as_the_ui_expects() {
        let info = AppInfo {
            version: "0.1.0".into(),
            debug: true,
            credential_store: CredentialStore::File,
            credential_store_warning: Some("no keyring".into()),
            scheme_registered: false,
            scheme_warning: None,
            link_forwarding_warning: Some("no bus".into()),
            settings_warning: None,
            dev_mailbox_url: Some("http://127.0.0.1:8787/dev/mailbox".into()),
        };
        assert_eq!(
            serde_json::to_value(info).unwrap(),
            serde_json::json!({
                "version": "0.1.0", "debug": true, "credential_store": "file",
                "credential_store_warning": "no keyring", "scheme_registered": false,
                "scheme_warning": null, "link_forwarding_warning": "no bus",
                "settings_warning": null,
                "dev_mailbox_url": "http://127.0.0.1:8787/dev/mailbox",
            })
        );
    }

    /// The capability, the command list build.rs declares and the invoke
    /// handler name the same commands: none missing, none extra.
    #[test]
    fn the_capability_grants_exactly_the_commands() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
        let granted: std::collections::BTreeSet<String> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| {
                p.as_str()?
                    .strip_prefix("allow-")
                    .map(|n| n.replace('-', "_"))
            })
            .collect();
        let commands: std::collections::BTreeSet<String> =
            COMMANDS.iter().map(|c| c.to_string()).collect();
        assert_eq!(granted, commands);
        // The handler (latch_ipc!) registers the same list: the generated
        // bindings name every command once.
        let bindings = include_str!("../../ui/src/lib/bindings.ts");
        for command in COMMANDS {
            assert!(
                bindings.contains(&format!("__TAURI_INVOKE(\"{command}\""))
                    || bindings.contains(&format!("__TAURI_INVOKE<void>(\"{command}\"")),
                "latch_ipc! lacks {command}"
            );
        }
        assert_eq!(
            bindings.matches("__TAURI_INVOKE(").count()
                + bindings.matches("__TAURI_INVOKE<void>(").count(),
            COMMANDS.len()
        );
        let plugin_permissions: Vec<&str> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| p.contains(':'))
            .collect();
        assert!(
            plugin_permissions.is_empty(),
            "no plugin or core permission: {plugin_permissions:?}"
        );
    }
}

//! latch-desktop: the Tauri shell around the session client.
//!
//! It owns the window, the single-instance lock, deep-link intake, the
//! settings store and the IPC commands; the session logic lives in
//! `crates/client`, without Tauri.

pub mod commands;
mod data_dir;
mod deep_link;
mod desktop;
pub mod diagnostics;
pub mod logs;
// The desktop-entry logic runs on Linux only; its tests run everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod scheme;
mod settings;
mod shell;

use std::error::Error;
use std::io::IsTerminal;

use logs::LogFile;
use tauri::{App, AppHandle, Manager, WebviewWindowBuilder};
use tauri_plugin_deep_link::DeepLinkExt;

pub use commands::{AppInfo, CommandError, CredentialStore, NAMES as COMMANDS};
pub use data_dir::{DataDirOverride, Places, DATA_DIR_ENV};
pub use deep_link::{DeepLinkIntake, IncomingLink};
pub use desktop::{start as start_client, Desktop, SERVER_URL_ENV};
pub use latch_client::SignedOutNotice;
pub use settings::{Settings, Theme};
pub use shell::{LinkForwarding, SchemeRegistration, Shell};
#[doc(hidden)]
pub use tauri_specta;

/// The label of the one window, as in tauri.conf.json and the capability.
pub const MAIN_WINDOW: &str = "main";

/// The non-secret settings file, in the data directory. Secrets never go
/// here: they live in the OS credential store (SECURITY.md).
pub const SETTINGS_FILE: &str = "settings.json";

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
                $crate::commands::get_state::<$($runtime)+>,
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
        // One lock per data directory; see data_dir.rs for why the
        // identifier is what we change.
        let identifier = dir.instance_identifier(&context.config().identifier);
        context.config_mut().identifier = identifier;
    }

    let ipc = ipc();
    tauri::Builder::default()
        // First: a second launch must hand over its arguments (a deep link)
        // and exit before anything else of it runs. With its `deep-link`
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

/// Logs to stderr and, once setup opens it, to the log file (see logs.rs).
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
            logs: logs::platform_log_dir(app.handle())?,
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
    register_scheme(app.handle());
    check_link_forwarding(app.handle());
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
    let mut builder = WebviewWindowBuilder::from_config(app.handle(), &config)?;
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
/// missed in between (a link seen both ways is dropped as a duplicate).
fn start_deep_link_intake(app: &App) {
    let handle = app.handle().clone();
    app.deep_link().on_open_url(move |event| {
        if let Some(shell) = handle.try_state::<Shell>() {
            for url in event.urls() {
                shell.intake().offer(IncomingLink::new(url));
            }
        }
    });

    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    match app.deep_link().get_current() {
        Ok(Some(urls)) => {
            for url in urls {
                shell.intake().offer(IncomingLink::new(url));
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "cannot read the link the app was started with"),
    }
}

/// Linux (and Windows debug builds, which no installer registered) learn the
/// `app.latch:` scheme at run time. On Linux an installed package's desktop
/// entry is used when it starts this binary, and a per-user handler is
/// written only for a build nothing installed (see scheme.rs). On Windows a
/// debug build writes the registry keys the installer would. It runs off the
/// main thread (it starts `xdg-mime` and `update-desktop-database`); a
/// failure is logged and kept for the window to show, never fatal.
fn register_scheme(app: &AppHandle) {
    #[cfg(any(target_os = "linux", all(windows, debug_assertions)))]
    {
        let handle = app.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let status = match register_scheme_now(&handle) {
                Ok(entry) => {
                    tracing::info!(%entry, "app.latch: scheme registered");
                    SchemeRegistration::Registered { entry }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot register the app.latch: scheme; links opened elsewhere won't reach the app");
                    SchemeRegistration::Failed { message: error }
                }
            };
            if let Some(shell) = handle.try_state::<Shell>() {
                shell.set_scheme_registration(status);
            }
        });
    }
    #[cfg(not(any(target_os = "linux", all(windows, debug_assertions))))]
    if let Some(shell) = app.try_state::<Shell>() {
        shell.set_scheme_registration(SchemeRegistration::NotNeeded);
    }
}

/// Registers the scheme; answers the entry that now opens links.
#[cfg(target_os = "linux")]
fn register_scheme_now(app: &AppHandle) -> Result<String, String> {
    use std::process::Command;

    let mime = scheme::mime_type();
    // An AppImage runs from a temporary mount: links must start the image.
    let exe = match app.env().appimage {
        Some(image) => std::path::PathBuf::from(image),
        None => tauri::utils::platform::current_exe().map_err(|e| e.to_string())?,
    };
    let current_default = Command::new("xdg-mime")
        .args(["query", "default", &mime])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let (user_dir, system_dirs) = scheme::application_dirs(
        std::env::var_os("XDG_DATA_HOME").as_deref(),
        app.path().home_dir().ok().as_deref(),
        std::env::var_os("XDG_DATA_DIRS").as_deref(),
    );
    let path_var = std::env::var_os("PATH");
    match scheme::plan(
        &current_default,
        &exe,
        user_dir.as_ref(),
        &system_dirs,
        path_var.as_deref(),
    ) {
        scheme::Plan::AlreadyDefault { entry } => Ok(entry),
        scheme::Plan::UseInstalled { entry } => {
            let status = Command::new("xdg-mime")
                .args(["default", &entry, &mime])
                .status()
                .map_err(|e| format!("can't run xdg-mime ({e}); install xdg-utils"))?;
            if status.success() {
                Ok(entry)
            } else {
                Err(format!(
                    "xdg-mime couldn't make {entry} the handler ({status})"
                ))
            }
        }
        scheme::Plan::WriteHandler => {
            app.deep_link().register_all().map_err(|e| e.to_string())?;
            let name = exe
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(format!("{name}-handler.desktop"))
        }
    }
}

#[cfg(all(windows, debug_assertions))]
fn register_scheme_now(app: &AppHandle) -> Result<String, String> {
    app.deep_link().register_all().map_err(|e| e.to_string())?;
    Ok("the current user's registry (debug build)".to_owned())
}

/// Finds out, off the main thread, whether a second launch can hand its
/// link to this window, and says so in the log and the window when it can't.
fn check_link_forwarding(app: &AppHandle) {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let status = link_forwarding_status(&handle);
        match &status {
            LinkForwarding::Unavailable { reason, detail } => {
                tracing::warn!("link forwarding is unavailable: {reason} ({detail})");
            }
            _ => tracing::info!("link forwarding is available"),
        }
        if let Some(shell) = handle.try_state::<Shell>() {
            shell.set_link_forwarding(status);
        }
    });
}

/// Linux: the single-instance plugin holds a D-Bus name on the session bus,
/// and goes on without one when there is no bus (it only logs a warning, and
/// keeps no state we can read). So ask the bus who owns that name: this
/// process, or nobody.
#[cfg(target_os = "linux")]
fn link_forwarding_status(app: &AppHandle) -> LinkForwarding {
    let name = format!("{}.SingleInstance", app.config().identifier);
    match single_instance_owner_pid(&name) {
        Ok(pid) if pid == std::process::id() => LinkForwarding::Available,
        Ok(pid) => LinkForwarding::Unavailable {
            reason: "another program holds Latch's single-instance name".to_owned(),
            detail: format!("process {pid} owns {name}"),
        },
        Err((reason, detail)) => LinkForwarding::Unavailable {
            reason: reason.to_owned(),
            detail,
        },
    }
}

/// The pid holding `name`, or why it can't be known: (words, the error).
#[cfg(target_os = "linux")]
fn single_instance_owner_pid(name: &str) -> Result<u32, (&'static str, String)> {
    use zbus::names::BusName;

    let connection = zbus::blocking::Connection::session()
        .map_err(|e| ("there is no D-Bus session bus", e.to_string()))?;
    let bus = zbus::blocking::fdo::DBusProxy::new(&connection)
        .map_err(|e| ("the D-Bus session bus doesn't answer", e.to_string()))?;
    let well_known = BusName::try_from(name)
        .map_err(|e| ("Latch's single-instance name is invalid", e.to_string()))?;
    let owner = bus.get_name_owner(well_known).map_err(|e| {
        (
            "Latch couldn't take its single-instance name on the D-Bus session bus",
            e.to_string(),
        )
    })?;
    bus.get_connection_unix_process_id(BusName::Unique(owner.into_inner()))
        .map_err(|e| {
            (
                "the D-Bus session bus doesn't say who holds Latch's single-instance name",
                e.to_string(),
            )
        })
}

/// macOS and Windows: the plugin's lock (a socket, a named mutex) needs no
/// session service.
#[cfg(not(target_os = "linux"))]
fn link_forwarding_status(_app: &AppHandle) -> LinkForwarding {
    LinkForwarding::Available
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

    #[test]
    fn command_errors_are_code_and_message() {
        let error = CommandError::from(latch_client::ClientError::FlowExpired);
        assert_eq!(
            serde_json::to_value(error).unwrap(),
            serde_json::json!({"code": "flow_expired", "message": "This sign-in link has expired. Send a new one."})
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
        assert_eq!(
            plugin_permissions,
            ["core:event:allow-listen", "core:event:allow-unlisten"]
        );
    }
}

//! What the app asks of the OS at startup, off the main thread: that
//! `app.latch:` links open this app (on Linux: the desktop entry, through
//! `xdg-mime`; the entry is chosen by latch-desktop-core's `desktop_entry`), and whether a second launch can hand its link
//! to this window (on Linux: who owns the single-instance name on the
//! D-Bus session bus). Either result is kept in [`Shell`] for the window and
//! the diagnostics; a failure is never fatal.

use std::path::PathBuf;

#[cfg(target_os = "linux")]
use latch_desktop_core::desktop_entry as scheme;
use tauri::{AppHandle, Manager};
#[cfg(any(target_os = "linux", all(windows, debug_assertions)))]
use tauri_plugin_deep_link::DeepLinkExt;

use latch_desktop_core::{LinkForwarding, SchemeRegistration};

use crate::shell::Shell;

/// Linux (and Windows debug builds, which no installer registered) learn the
/// `app.latch:` scheme at run time. On Linux an installed package's desktop
/// entry is used when it starts this binary, and a per-user handler is
/// written only for a build nothing installed (see latch-desktop-core's desktop_entry.rs). On Windows a
/// debug build writes the registry keys the installer would. It runs off the
/// main thread (it starts `xdg-mime` and `update-desktop-database`); a
/// failure is logged and kept for the window to show, never fatal.
pub fn register_scheme(app: &AppHandle) {
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
pub fn check_link_forwarding(app: &AppHandle) {
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
    let name = crate::second_launch::bus_name(&app.config().identifier);
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

/// The platform's place for this app's logs, when no data directory was
/// given: `$XDG_STATE_HOME/<id>/logs` on Linux (logs are "state" in the XDG
/// base directory spec; `~/.local/state` when unset), Tauri's log directory
/// elsewhere (`~/Library/Logs/<id>` on macOS, `%LOCALAPPDATA%\<id>\logs` on
/// Windows).
pub fn log_dir<R: tauri::Runtime>(app: &tauri::AppHandle<R>) -> Result<PathBuf, tauri::Error> {
    #[cfg(target_os = "linux")]
    {
        let identifier = &app.config().identifier;
        let state_home = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| {
                app.path()
                    .home_dir()
                    .ok()
                    .map(|home| home.join(".local/state"))
            });
        match state_home {
            Some(dir) => Ok(dir.join(identifier).join("logs")),
            None => app.path().app_log_dir(),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        app.path().app_log_dir()
    }
}

//! A second launch (the OS starting Latch again with a link) hands its
//! arguments to the running instance and ends, before Tauri builds anything.
//!
//! Why not leave it to the single-instance plugin alone: the plugin finds
//! the other instance in its setup, after Tauri has made the event loop,
//! and then calls `exit`. By then tao has started a thread that opens the X
//! display for device events, and `exit` runs Xlib's library destructors
//! under it: under load that thread locks a mutex the destructors freed,
//! and the launch dies of SIGSEGV with the link not handed over (a core
//! from `scripts/stress-forward`: `XextFindDisplay` ← `XISelectEvents` ←
//! `tao::…::device::spawn`, while the main thread is in `_dl_fini`). Here
//! no such thread exists yet. The plugin's own hand-over stays, for an
//! instance that takes the name between this check and the plugin's.
//!
//! This speaks the plugin's D-Bus interface (its name, path, method and
//! arguments), so the running instance receives the link through the
//! plugin as before.

/// The session-bus name the single-instance plugin holds for `identifier`.
#[cfg(target_os = "linux")]
pub fn bus_name(identifier: &str) -> String {
    format!("{identifier}.SingleInstance")
}

/// Linux: hands this launch's arguments to the instance holding the name,
/// and says whether it took them. `false` (nobody holds it, no bus, or the
/// call failed) means: start normally, and the plugin decides.
#[cfg(target_os = "linux")]
pub fn hand_over(identifier: &str) -> bool {
    let name = bus_name(identifier);
    // The plugin's object path: the name with '/' for '.', '_' for '-'.
    let path = format!("/{}", name.replace('.', "/").replace('-', "_"));
    let Ok(connection) = zbus::blocking::Connection::session() else {
        return false;
    };
    let argv: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let cwd = std::env::current_dir()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    match connection.call_method(
        Some(name.as_str()),
        path.as_str(),
        Some("org.SingleInstance.DBus"),
        "ExecuteCallback",
        &(argv, cwd.as_str()),
    ) {
        Ok(_) => {
            // The arguments may hold a one-time code: not logged.
            tracing::info!("handed this launch to the running Latch");
            true
        }
        // Nobody holds the name: this is the first instance.
        Err(zbus::Error::MethodError(error, _, _))
            if matches!(
                error.as_str(),
                "org.freedesktop.DBus.Error.ServiceUnknown"
                    | "org.freedesktop.DBus.Error.NameHasNoOwner"
            ) =>
        {
            false
        }
        Err(error) => {
            tracing::warn!(%error, "couldn't hand this launch to a running Latch; starting normally");
            false
        }
    }
}

/// macOS and Windows: the plugin's lock is a socket or a named mutex, taken
/// before any window thread exists.
#[cfg(not(target_os = "linux"))]
pub fn hand_over(_identifier: &str) -> bool {
    false
}

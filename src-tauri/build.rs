/// The app's commands (the same list as `commands::NAMES`; a test checks the
/// two and the capability agree).
const COMMANDS: &[&str] = &[
    "get_state",
    "get_app_info",
    "get_settings",
    "set_server",
    "set_device_name",
    "set_theme",
    "request_link",
    "resend_link",
    "cancel_sign_in",
    "submit_code",
    "list_sessions",
    "rename_session",
    "rename_account",
    "log_out",
    "terminate_session",
    "log_out_others",
    "log_out_everywhere",
    "report_activity",
];

fn main() {
    // Declaring the app's commands makes tauri-build generate an
    // `allow-<command>` permission for each, and switches the app from
    // "every command allowed" to "only what a capability grants".
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .unwrap_or_else(|error| {
        // A build script reports failure by exiting non-zero; the message
        // is what cargo shows.
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    });
}

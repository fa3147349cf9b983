include!("src/command_names.rs");

fn main() {
    // Declaring the app's commands makes tauri-build generate an
    // `allow-<command>` permission for each, and switches the app from
    // "every command allowed" to "only what a capability grants".
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(NAMES)),
    )
    .unwrap_or_else(|error| {
        // A build script reports failure by exiting non-zero; the message
        // is what cargo shows.
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    });
}

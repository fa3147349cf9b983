//! A bare Tauri 2 window: what any Tauri app costs before it does anything.
//! Latch's start-up time and memory are measured against it (scripts/bench).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> Result<(), tauri::Error> {
    tauri::Builder::default().run(tauri::generate_context!())
}

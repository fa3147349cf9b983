//! `latch-desktop-core`: what the desktop shell decides without Tauri, so it
//! is tested without a window: where an instance keeps its files and which
//! instance it is (`data_dir`), its rotating log file (`logs`), which Linux
//! desktop entry opens `app.latch:` links (`desktop_entry`), whether links
//! reach the window (`links`), and the "Copy diagnostics" report
//! (`diagnostics`). `src-tauri` asks the OS and Tauri, and hands the
//! answers to these.

pub mod data_dir;
// The desktop-entry logic runs on Linux only; its tests run everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub mod desktop_entry;
pub mod diagnostics;
pub mod links;
pub mod logs;

pub use data_dir::{DataDirOverride, Places, DATA_DIR_ENV};
pub use diagnostics::{Diagnostics, SignInSummary};
pub use links::{LinkForwarding, SchemeRegistration};
pub use logs::LogFile;

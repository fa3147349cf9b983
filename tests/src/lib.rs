//! The end-to-end harness: a private X display and D-Bus session per test
//! process, and app windows driven through their own `tauri-driver` (it
//! passes no environment to the app, so each window gets its own driver
//! started with that window's environment: its LATCH_DATA_DIR is its device).
//!
//! `display`: Xvfb and D-Bus. `driver`: the tauri-driver / WebKitWebDriver
//! processes behind a window and the other ways the app is started.
//! `window`: the WebDriver window API (waits, text, clicks, screenshots,
//! axe). `secrets`: the no-secret scan of every log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_device;

pub use http_device::{HttpDevice, HttpFlow};

mod display;
mod driver;
mod secrets;
mod window;

pub use display::Desktop;
pub use driver::Delivery;
pub use secrets::assert_no_secret_in;
pub use window::Window;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use secrets::collect_secrets;

/// False (after saying so) when `LATCH_E2E=skip`; otherwise every tool must
/// be there, or the test fails loudly naming what is missing.
pub fn enabled() -> bool {
    if std::env::var("LATCH_E2E").as_deref() == Ok("skip") {
        eprintln!("LATCH_E2E=skip: end-to-end test not run");
        return false;
    }
    for tool in ["Xvfb", "dbus-daemon", "tauri-driver", "WebKitWebDriver"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(
            found,
            "{tool} is missing: run scripts/setup (or set LATCH_E2E=skip)"
        );
    }
    assert!(
        app_binary().exists(),
        "no app at {}: scripts/test builds it (or set LATCH_APP)",
        app_binary().display()
    );
    true
}

/// The app built with its assets embedded (`tauri build --debug
/// --no-bundle`, copied aside by scripts/test so `cargo test` can't replace
/// it with a build that has none).
pub fn app_binary() -> PathBuf {
    if let Ok(path) = std::env::var("LATCH_APP") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap();
    target.join("e2e").join("latch-desktop")
}

/// Where screenshots go (kept out of git): `LATCH_E2E_ARTIFACTS`, or
/// `test-artifacts/e2e` at the repository root.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("LATCH_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("test-artifacts")
                .join("e2e")
        })
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// The deep link the emailed `/auth/open` page offers, read from the page.
pub async fn deep_link_from_page(page_url: &str) -> String {
    let page = reqwest::get(page_url).await.unwrap().text().await.unwrap();
    let start = page
        .find("href=\"app.latch:")
        .expect("the page offers the deep link")
        + 6;
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

//! What the tests that run the real binary under Xvfb share.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Fails the test, with the fix, when a tool it needs is not installed.
pub fn require_tools(tools: &[&str]) {
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .status()
            .unwrap()
            .success();
        assert!(found, "{tool} is missing: run scripts/setup");
    }
}

/// Runs `body` in bash (under `launcher`, e.g. `dbus-run-session --`) after
/// starting Xvfb on a free display and pointing the XDG dirs into `$T`.
/// `$T` is `tmp`, `$BIN` the app's binary; `env` adds more. Answers stdout.
pub fn run_under_xvfb(launcher: &[&str], body: &str, tmp: &Path, env: &[(&str, &str)]) -> String {
    let script = format!(
        r#"
set -u
for n in $(seq 90 250); do [ -e /tmp/.X$n-lock ] || break; done
Xvfb :$n -screen 0 1024x768x24 -nolisten tcp >/dev/null 2>&1 & X=$!
export DISPLAY=:$n
export XDG_DATA_HOME=$T/xdg/data XDG_CONFIG_HOME=$T/xdg/config XDG_CACHE_HOME=$T/xdg/cache
{body}"#
    );
    let argv: Vec<&str> = launcher
        .iter()
        .copied()
        .chain(["bash", "-c", &script])
        .collect();
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .env("T", tmp)
        .env("BIN", env!("CARGO_BIN_EXE_latch-desktop"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

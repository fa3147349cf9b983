//! The OS credential store for real: gnome-keyring's Secret Service in a
//! private D-Bus session (with its own HOME, so nothing touches the user's
//! keyrings), driven by the `credential_probe` example as separate processes.
//! Needs dbus-run-session, gnome-keyring-daemon and secret-tool
//! (scripts/setup installs them); fails loudly when they are missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use latch_testkit::Latchd;

mod common;

/// The probe example, built once per run so it is never stale.
fn probe() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "latch-client",
                    "--example",
                    "credential_probe",
                ])
                .status()
                .unwrap();
            assert!(status.success(), "building the credential probe failed");
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().and_then(Path::parent).unwrap();
            profile_dir.join("examples").join("credential_probe")
        })
        .clone()
}

fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .unwrap()
        .status
        .success();
    assert!(found, "{tool} is missing: run scripts/setup (it installs dbus, gnome-keyring and libsecret-tools)");
}

/// Runs `script` in a fresh D-Bus session with HOME in a temp dir; `keyring`
/// says how the Secret Service starts: "unlocked", "locked", or "none".
fn in_session(keyring: &str, script: &str) -> String {
    for tool in [
        "dbus-run-session",
        "gnome-keyring-daemon",
        "secret-tool",
        "gdbus",
    ] {
        require(tool);
    }
    let home = tempfile::tempdir().unwrap();
    let start = match keyring {
        "unlocked" => {
            r#"eval "$(printf '\n' | gnome-keyring-daemon --unlock --components=secrets)""#
        }
        // The login keyring exists once something is stored; then lock it.
        "locked" => {
            r#"eval "$(printf '\n' | gnome-keyring-daemon --unlock --components=secrets)"
printf x | secret-tool store --label=other service other username other
gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets \
  --method org.freedesktop.Secret.Service.Lock "[objectpath '/org/freedesktop/secrets/collection/login']" >/dev/null"#
        }
        _ => "true",
    };
    let out_path = home.path().join("out.txt");
    let err_path = home.path().join("err.txt");
    // Its own process group: the Secret Service that D-Bus activates outlives
    // the session and would hold our pipes open, so the group is ended after.
    let mut child = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", &format!("set -e\n{start}\n{script}")])
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path())
        .env("PROBE", probe())
        .env_remove("DISPLAY")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .status();
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        status.success(),
        "session failed:\n{stdout}\n{}",
        std::fs::read_to_string(&err_path).unwrap()
    );
    stdout
}

#[test]
fn the_token_is_kept_in_the_secret_service_and_read_back_by_a_fresh_process() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display();
    let out = in_session(
        "unlocked",
        &format!(
            r#"$PROBE set {dir} session_token tok-from-process-one
$PROBE get {dir} session_token
echo "--- secret-tool"
secret-tool search --all username session_token 2>&1"#
        ),
    );
    assert!(out.lines().next().unwrap().starts_with("store=os"), "{out}");
    assert!(
        out.contains("value=tok-from-process-one"),
        "a fresh process reads it back:\n{out}"
    );
    let listing = out.split("--- secret-tool").nth(1).unwrap();
    assert!(
        listing.contains("app.latch.desktop/"),
        "secret-tool sees the entry:\n{out}"
    );
    assert!(listing.contains("secret = tok-from-process-one"));
    assert!(
        !data.path().join("credentials.json").exists(),
        "nothing in the fallback file"
    );
}

/// Signs in with the Secret Service in state `keyring`, and checks the
/// token went to the private file, that the fallback was reported, and
/// that the file is the user's alone.
fn signs_in_through_the_file_fallback(keyring: &str) {
    let server = Latchd::start(&[]);
    let data = tempfile::tempdir().unwrap();
    let out = in_session(
        keyring,
        &format!(
            "$PROBE signin {} {} ada@example.com",
            data.path().display(),
            server.base
        ),
    );
    assert!(
        out.lines().any(|l| l.starts_with("store=file (")),
        "the fallback is reported:\n{out}"
    );
    assert!(out.contains("signed-in token_stored=true"), "{out}");
    common::assert_token_in_private_file(data.path());
}

#[test]
fn without_a_secret_service_the_private_file_is_used_reported_and_sign_in_works() {
    signs_in_through_the_file_fallback("none");
}

#[test]
fn with_a_locked_keyring_the_private_file_is_used_and_sign_in_works() {
    signs_in_through_the_file_fallback("locked");
}

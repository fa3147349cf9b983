//! Processes and ports: starting a latchd binary and reading its address.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Starts `binary` with `args`, logging to `log`; waits for its
/// "listening on" line and answers (process, base URL).
pub fn spawn(binary: &Path, args: &[String], env: &[(&str, &str)], log: &Path) -> (Child, String) {
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .env("RUST_LOG", "info");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("can't start {}: {e}", binary.display()));
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("latchd listening on ")
        .map(str::to_owned)
        .unwrap_or_else(|| {
            panic!(
                "latchd did not start: {line:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        });
    (child, base)
}

/// The `latchd` binary of this workspace: `LATCHD_BIN`, else beside the
/// test executable's target directory, built first if it isn't there.
pub fn latchd_binary() -> PathBuf {
    if let Ok(path) = std::env::var("LATCHD_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/latchd
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let binary = profile_dir.join(format!("latchd{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "latchd"])
            .status()
            .unwrap();
        assert!(status.success(), "building latchd failed");
    }
    assert!(binary.exists(), "no latchd at {}", binary.display());
    binary
}

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

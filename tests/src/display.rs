//! A private desktop per test: an Xvfb display and a D-Bus session bus, and
//! the environment each device's processes run with on it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::files_under;

/// A display number no other test of this process has taken and no
/// running X server holds. (Picking by lock file alone let two parallel
/// tests share one Xvfb, and the first to finish took it from the other.)
fn next_display() -> u32 {
    static NEXT: std::sync::Mutex<u32> = std::sync::Mutex::new(90);
    let mut next = NEXT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let n = *next;
        *next += 1;
        if !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        {
            return n;
        }
    }
}

/// Xvfb and a D-Bus session bus, ended on drop.
pub struct Desktop {
    pub dir: tempfile::TempDir,
    display: String,
    bus: String,
    xvfb: Child,
    bus_pid: String,
}

impl Desktop {
    pub fn start() -> Desktop {
        let dir = tempfile::tempdir().unwrap();
        let n = next_display();
        let mut xvfb = Command::new("Xvfb")
            .args([
                format!(":{n}"),
                "-screen".into(),
                "0".into(),
                "1280x800x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let bus = lines.next().unwrap().trim().to_owned();
        let bus_pid = lines.next().unwrap().trim().to_owned();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            assert!(Instant::now() < deadline, "Xvfb :{n} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            xvfb.try_wait().unwrap().is_none(),
            "Xvfb :{n} exited: another X server has that display"
        );
        Desktop {
            dir,
            display: format!(":{n}"),
            bus,
            xvfb,
            bus_pid,
        }
    }

    /// The environment every process of one device runs with.
    pub(crate) fn env(&self, data_dir: &Path, server: &str) -> Vec<(String, String)> {
        let xdg = self.dir.path().join("xdg");
        vec![
            ("DISPLAY".into(), self.display.clone()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus.clone()),
            (
                "XDG_DATA_HOME".into(),
                xdg.join("data").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                xdg.join("config").display().to_string(),
            ),
            (
                "XDG_CACHE_HOME".into(),
                xdg.join("cache").display().to_string(),
            ),
            ("LATCH_DATA_DIR".into(), data_dir.display().to_string()),
            ("LATCH_SERVER_URL".into(), server.to_owned()),
            ("RUST_LOG".into(), "info".into()),
        ]
    }

    pub fn data_dir(&self, device: &str) -> PathBuf {
        self.dir.path().join(device)
    }

    /// Every file this desktop's processes wrote (app, driver and WebKit
    /// logs, settings, stores), for the no-secret scan.
    pub fn files(&self) -> Vec<PathBuf> {
        files_under(self.dir.path())
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
        let _ = Command::new("kill").arg(&self.bus_pid).status();
    }
}

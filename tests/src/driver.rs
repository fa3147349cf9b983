//! The processes behind a window: its own `tauri-driver` (which starts
//! WebKitWebDriver, which starts the app) in a process group of its own,
//! the WebDriver session on it, and the other ways an OS starts the app
//! (a second launch, `gio open`, `xdg-open`).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use latch_testkit::free_port;

use crate::{app_binary, Desktop, Window};

/// How a link reaches the app: the ways an OS hands one over.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    /// The browser starts the app binary with the URL; single-instance
    /// forwards it to the running window.
    SecondLaunch,
    /// The same from a session with the bus but no display: the hand-over
    /// must come before anything opens one (a launch that exits with
    /// display threads running can crash; see src-tauri's second_launch.rs).
    SecondLaunchWithoutDisplay,
    /// `gio open URL`: GLib looks the scheme up in the registered handlers.
    GioOpen,
    /// `xdg-open URL` as a GNOME session runs it (it hands over to gio).
    XdgOpen,
}

/// One window's `tauri-driver`, in its own process group.
pub(crate) struct Driver(Child);

impl Drop for Driver {
    /// Ends the driver's process group (tauri-driver, WebKitWebDriver, the
    /// app) even when a test fails half-way, so none outlives its test.
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Desktop {
    /// Opens the app as the device called `name` (its own data dir, that
    /// device name in its settings) pointed at `server`.
    pub async fn open_window(&self, name: &str, server: &str) -> Window {
        self.launch(name, server, &[]).await
    }

    /// Starts the app of device `name` with `args` on its command line, the
    /// way the OS starts it for a link when it isn't running. The device's
    /// data dir is kept from any earlier window.
    pub async fn launch(&self, name: &str, server: &str, args: &[&str]) -> Window {
        self.launch_app(&app_binary(), name, server, args).await
    }

    /// `launch` for any Tauri app binary (the benchmarks' bare window too).
    pub async fn launch_app(
        &self,
        binary: &Path,
        name: &str,
        server: &str,
        args: &[&str],
    ) -> Window {
        self.launch_app_with(binary, name, server, args, &[]).await
    }

    /// `launch_app` with more environment for the app.
    pub async fn launch_app_with(
        &self,
        binary: &Path,
        name: &str,
        server: &str,
        args: &[&str],
        more_env: &[(&str, &str)],
    ) -> Window {
        let data_dir = self.data_dir(name);
        std::fs::create_dir_all(&data_dir).unwrap();
        let settings = data_dir.join("settings.json");
        if !settings.exists() {
            std::fs::write(&settings, json!({ "device_name": name }).to_string()).unwrap();
        }
        let mut env = self.env(&data_dir, server);
        env.extend(more_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let log = self.dir.path().join(format!("{name}.driver.log"));
        let (driver, port) = start_driver(&env, &log).await;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({ "application": binary, "args": args }),
        );
        let client = new_session(port, caps, &log).await;
        Window {
            client,
            _driver: driver,
            env,
            binary: binary.to_path_buf(),
            data_dir,
            log,
        }
    }
}

/// Starts a `tauri-driver` with `env` (it passes it on to WebKitWebDriver
/// and the app), logging to `log`; answers once it listens, with its port.
async fn start_driver(env: &[(String, String)], log: &Path) -> (Driver, u16) {
    let (port, native) = (free_port(), free_port());
    // Its own process group, so dropping the window ends WebKitWebDriver
    // (and the app it started) too, not only tauri-driver.
    let driver = Driver(
        Command::new("tauri-driver")
            .process_group(0)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tauri-driver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (driver, port)
}

/// A WebDriver session on the driver at `port`: the app starting.
async fn new_session(
    port: u16,
    caps: serde_json::Map<String, serde_json::Value>,
    log: &Path,
) -> Client {
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(40);
    let driver_errors = || std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
    // tauri-driver listens before its WebKitWebDriver is ready: a first
    // session request can fail, so retry within a deadline.
    loop {
        // Bounded: an app that exits at start leaves WebKitWebDriver
        // waiting for it, and the request would never answer.
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps.clone());
        let connect = builder.connect(&url);
        let Ok(attempt) = tokio::time::timeout(Duration::from_secs(60), connect).await else {
            panic!(
                "no WebDriver session within 60 s: the app did not come up\n{}",
                driver_errors()
            );
        };
        match attempt {
            Ok(client) => return client,
            Err(e) if Instant::now() < deadline => {
                eprintln!("WebDriver session not ready yet ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}\n{}", driver_errors()),
        }
    }
}

impl Window {
    /// Launches the app again with `url` as its only argument, the way the
    /// OS does: single-instance hands it to this window's process.
    pub fn deliver_link(&self, url: &str) {
        self.deliver_link_by(Delivery::SecondLaunch, url);
    }

    /// Hands `url` over the way `how` does, with this device's environment.
    pub fn deliver_link_by(&self, how: Delivery, url: &str) {
        let mut command = match how {
            Delivery::SecondLaunch | Delivery::SecondLaunchWithoutDisplay => {
                Command::new(&self.binary)
            }
            Delivery::GioOpen => {
                let mut c = Command::new("gio");
                c.arg("open");
                c
            }
            Delivery::XdgOpen => {
                let mut c = Command::new("xdg-open");
                c.env("XDG_CURRENT_DESKTOP", "GNOME");
                c
            }
        };
        command.arg(url).envs(self.env.iter().map(|(k, v)| (k, v)));
        if matches!(how, Delivery::SecondLaunchWithoutDisplay) {
            command.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
        }
        let status = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{how:?} failed: {status}");
    }

    /// The pid of this window's app process (its binary, its data dir).
    pub fn app_pid(&self) -> Option<u32> {
        let marker = format!("LATCH_DATA_DIR={}", self.data_dir.display());
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .filter_map(|e| Some((e.file_name().to_string_lossy().parse::<u32>().ok()?, e)))
            .find(|(_, e)| {
                let exe = std::fs::read_link(e.path().join("exe")).unwrap_or_default();
                let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
                exe.file_name() == self.binary.file_name()
                    && environ
                        .split(|b| *b == 0)
                        .any(|var| var == marker.as_bytes())
            })
            .map(|(pid, _)| pid)
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Closes the window and waits until its app process is gone, so the
    /// next launch for this device is a cold start.
    pub async fn quit(self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = self.app_pid();
        let _ = self.client.clone().close().await;
        // Until the process is dead or a zombie, not just until its exe link
        // is gone: an exiting process loses that before it closes its files,
        // and until then it holds the single-instance name on D-Bus, so a
        // launch in that moment tried to forward to it and failed.
        while pid.is_some_and(still_running) {
            assert!(Instant::now() < deadline, "the app did not quit");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether `pid` exists and isn't a zombie.
fn still_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat.rfind(')')?;
            stat[after + 1..]
                .split_whitespace()
                .next()
                .map(|s| s != "Z" && s != "X")
        })
        .unwrap_or(false)
}

//! The end-to-end harness: a private X display and D-Bus session per test
//! process, and app windows driven through their own `tauri-driver` (it
//! passes no environment to the app, so each window gets its own driver
//! started with that window's environment: its LATCH_DATA_DIR is its device).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
    fn env(&self, data_dir: &Path, server: &str) -> Vec<(String, String)> {
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

    /// Opens the app as the device called `name` (its own data dir, that
    /// device name in its settings) pointed at `server`.
    pub async fn open_window(&self, name: &str, server: &str) -> Window {
        let data_dir = self.dir.path().join(name);
        std::fs::create_dir_all(&data_dir).unwrap();
        std::fs::write(
            data_dir.join("settings.json"),
            json!({ "device_name": name }).to_string(),
        )
        .unwrap();
        let env = self.env(&data_dir, server);
        let (port, native) = (free_port(), free_port());
        let log = self.dir.path().join(format!("{name}.driver.log"));
        let driver = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({ "application": app_binary() }),
        );
        // tauri-driver listens before its WebKitWebDriver is ready: a first
        // session request can fail, so retry within a deadline.
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline + Duration::from_secs(20) => {
                    eprintln!("WebDriver session not ready yet ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!(
                    "no WebDriver session: {e}\n{}",
                    std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
                ),
            }
        };
        Window {
            client,
            driver,
            env,
            log,
        }
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
        let _ = Command::new("kill").arg(&self.bus_pid).status();
    }
}

/// One app window (one device).
pub struct Window {
    pub client: Client,
    driver: Child,
    env: Vec<(String, String)>,
    pub log: PathBuf,
}

impl Window {
    /// `document.body.dataset.state`, waited for (never slept). A script
    /// that fails while the page is being replaced counts as "not yet".
    pub async fn wait_state(&self, state: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let now = match self
                .client
                .execute("return document.body.dataset.state ?? null", vec![])
                .await
            {
                Ok(value) => value,
                Err(e) => Value::String(format!("(script failed: {e})")),
            };
            if now == Value::String(state.into()) {
                return;
            }
            assert!(Instant::now() < deadline, "state stayed {now}, not {state}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until `text` is visible in the page.
    pub async fn wait_text(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            // innerText, not WebDriver's element text, which leaves out some
            // text WebKit renders.
            let body = match self
                .client
                .execute("return document.body.innerText", vec![])
                .await
            {
                Ok(value) => value.as_str().unwrap_or_default().to_owned(),
                Err(e) => format!("(script failed: {e})"),
            };
            if body.contains(text) {
                return;
            }
            if Instant::now() >= deadline {
                let shot = std::env::temp_dir().join("latch-e2e-failure.png");
                if let Ok(png) = self.client.screenshot().await {
                    let _ = std::fs::write(&shot, png);
                }
                panic!(
                    "{text:?} never appeared (screenshot: {}); the page says:\n{body}",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Clicks the button or link whose visible text starts with `text`.
    pub async fn click(&self, text: &str) {
        let clicked = self
            .client
            .execute(
                "const e = [...document.querySelectorAll('button, a')].find(e => e.textContent.trim().startsWith(arguments[0]) && !e.disabled); if (e) { e.click(); return true } return false",
                vec![json!(text)],
            )
            .await
            .unwrap();
        assert_eq!(clicked, json!(true), "no enabled button {text:?}");
    }

    /// Clicks, inside the first element matching `scope`, the button or menu
    /// item whose text starts with `text`.
    pub async fn click_in(&self, scope: &str, text: &str) {
        let clicked = self
            .client
            .execute(
                "const root = document.querySelector(arguments[0]); const e = root && [...root.querySelectorAll('button, a, [role=menuitem]')].find(e => e.textContent.trim().startsWith(arguments[1]) && !e.disabled); if (e) { e.click(); return true } return false",
                vec![json!(scope), json!(text)],
            )
            .await
            .unwrap();
        assert_eq!(clicked, json!(true), "no {text:?} in {scope}");
    }

    /// The sign-in flow this window waits on (from `get_state`).
    pub async fn pending_flow(&self) -> String {
        let state = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('get_state').then(done, e => done(null));",
                vec![],
            )
            .await
            .unwrap();
        state["flow_id"]
            .as_str()
            .unwrap_or_else(|| panic!("not waiting on a link: {state}"))
            .to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Launches the app again with `url` as its only argument, the way the
    /// OS does: single-instance hands it to this window's process.
    pub fn deliver_link(&self, url: &str) {
        let status = Command::new(app_binary())
            .arg(url)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the second launch failed: {status}");
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Window {
    /// Ends the driver even when a test fails half-way, so no tauri-driver
    /// outlives its test.
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
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

//! The end-to-end harness: a private X display and D-Bus session per test
//! process, and app windows driven through their own `tauri-driver` (it
//! passes no environment to the app, so each window gets its own driver
//! started with that window's environment: its LATCH_DATA_DIR is its device).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_device;

pub use http_device::{HttpDevice, HttpFlow};

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
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
        let (port, native) = (free_port(), free_port());
        let log = self.dir.path().join(format!("{name}.driver.log"));
        // Its own process group, so dropping the window ends WebKitWebDriver
        // (and the app it started) too, not only tauri-driver.
        let driver = Command::new("tauri-driver")
            .process_group(0)
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
            json!({ "application": binary, "args": args }),
        );
        // tauri-driver listens before its WebKitWebDriver is ready: a first
        // session request can fail, so retry within a deadline.
        let client = loop {
            // Bounded: an app that exits at start leaves WebKitWebDriver
            // waiting for it, and the request would never answer.
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(caps.clone());
            let connect = builder.connect(&url);
            let Ok(attempt) = tokio::time::timeout(Duration::from_secs(60), connect).await else {
                panic!(
                    "no WebDriver session within 60 s: the app did not come up\n{}",
                    std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
                );
            };
            match attempt {
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
            binary: binary.to_path_buf(),
            data_dir,
            log,
        }
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
    binary: PathBuf,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

/// How a link reaches the app: the ways an OS hands one over.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    /// The browser starts the app binary with the URL; single-instance
    /// forwards it to the running window.
    SecondLaunch,
    /// `gio open URL`: GLib looks the scheme up in the registered handlers.
    GioOpen,
    /// `xdg-open URL` as a GNOME session runs it (it hands over to gio).
    XdgOpen,
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
            if Instant::now() >= deadline {
                panic!(
                    "state stayed {now}, not {state}\n{}",
                    self.diagnosis().await
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// What a failed wait prints: a screenshot, the page's text and the end
    /// of the app's log (which holds no secret: every journey checks).
    async fn diagnosis(&self) -> String {
        let shot = std::env::temp_dir().join("latch-e2e-failure.png");
        if let Some(png) = self.png().await {
            let _ = std::fs::write(&shot, png);
        }
        let body = self.text().await;
        let log = std::fs::read_to_string(self.data_dir.join("logs").join("latch.log"))
            .unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(25).collect();
        format!(
            "screenshot: {}\nthe page says:\n{body}\nthe end of the app's log:\n{}",
            shot.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// Waits until `text` is visible in the page.
    pub async fn wait_text(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let body = self.text().await;
            if body.contains(text) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("{text:?} never appeared\n{}", self.diagnosis().await);
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
        let state = self.invoke("get_state").await;
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
        self.deliver_link_by(Delivery::SecondLaunch, url);
    }

    /// Hands `url` over the way `how` does, with this device's environment.
    pub fn deliver_link_by(&self, how: Delivery, url: &str) {
        let mut command = match how {
            Delivery::SecondLaunch => Command::new(&self.binary),
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
        let status = command
            .arg(url)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{how:?} failed: {status}");
    }

    /// Waits until this window's app has registered the `app.latch:` scheme
    /// with the desktop (it does so in the background at start).
    pub async fn wait_scheme_registered(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let info = self.invoke("get_app_info").await;
            if info["scheme_registered"] == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "scheme never registered: {info}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls a command of the app as the window does; `null` on an error.
    pub async fn invoke(&self, command: &str) -> Value {
        self.invoke_with(command, json!({})).await
    }

    /// `invoke` with arguments.
    pub async fn invoke_with(&self, command: &str, args: Value) -> Value {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(done, e => done(null));",
                vec![json!(command), args],
            )
            .await
            .unwrap()
    }

    /// The text the page shows now: innerText, not WebDriver's element
    /// text, which leaves out some text WebKit renders. A failed script
    /// answers its error as the text, for the failure message.
    pub async fn text(&self) -> String {
        match self
            .client
            .execute("return document.body.innerText", vec![])
            .await
        {
            Ok(value) => value.as_str().unwrap_or_default().to_owned(),
            Err(e) => format!("(script failed: {e})"),
        }
    }

    /// Opens the ⋮ menu of the row for `device`.
    pub async fn open_actions_for(&self, device: &str) {
        let clicked = self
            .client
            .execute(
                "const b = document.querySelector(`[aria-label=\"Actions for ${arguments[0]}\"]`); if (b) { b.click(); return true } return false",
                vec![json!(device)],
            )
            .await
            .unwrap();
        assert_eq!(clicked, json!(true), "no ⋮ for {device}");
        self.wait_for_css("[role=menu]").await;
    }

    /// Waits for an element matching `css` to be in the page.
    pub async fn wait_for_css(&self, css: &str) {
        self.wait_css(css, true).await;
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone_css(&self, css: &str) {
        self.wait_css(css, false).await;
    }

    async fn wait_css(&self, css: &str, present: bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = self
                .client
                .execute(
                    "return document.querySelector(arguments[0]) !== null",
                    vec![json!(css)],
                )
                .await;
            if found.ok() == Some(json!(present)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} {}",
                if present { "never appeared" } else { "stayed" }
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The text of the open confirmation dialog.
    pub async fn dialog_text(&self) -> String {
        self.wait_for_css("dialog[open]").await;
        self.client
            .execute(
                "return document.querySelector('dialog[open]').innerText",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The device names the open confirmation dialog lists.
    pub async fn dialog_devices(&self) -> Vec<String> {
        self.wait_for_css("dialog[open]").await;
        let names = self
            .client
            .execute(
                "return [...document.querySelectorAll('dialog[open] li .name')].map(e => e.textContent.trim())",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(names).unwrap()
    }

    /// Shows the page in `theme` ("light" or "dark"), as the setting does.
    pub async fn set_theme(&self, theme: &str) {
        // Transitions off, so axe and the screenshot see the settled colours
        // rather than a blend half-way from the other theme.
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 if (!document.getElementById('e2e-still')) { const s = document.createElement('style'); s.id = 'e2e-still'; s.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }'; document.head.append(s); }
                 document.documentElement.dataset.theme = arguments[0];
                 requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
                vec![json!(theme)],
            )
            .await
            .unwrap();
    }

    /// Waits until nothing moves or loads (no running animation, nothing
    /// busy, no refresh spinning): a view half-way through a refresh was
    /// once measured with its toolbar greyed.
    pub async fn wait_still(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let still = self
                .client
                .execute(
                    "return document.getAnimations().every(a => a.playState !== 'running') && !document.querySelector('[aria-busy=true], .spinning')",
                    vec![],
                )
                .await;
            if still.ok() == Some(json!(true)) || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Saves what the window shows as `<artifacts>/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.wait_still().await;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        let png = self.png().await.expect("a screenshot of the window");
        std::fs::write(&path, png).unwrap();
        path
    }

    /// WebDriver's screenshot of the page. With compositing off (as Latch
    /// runs WebKitGTK, lib.rs), WebKitWebDriver's snapshot waits for a paint
    /// and a page where nothing changes never paints again: it hung. So one
    /// corner pixel flickers at 1% black until the screenshot is taken.
    async fn png(&self) -> Option<Vec<u8>> {
        let _ = self
            .client
            .execute(
                "const d = document.createElement('div'); d.id = 'e2e-paint';
                 d.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none';
                 document.body.append(d);
                 let n = 0;
                 const tick = () => { if (!d.isConnected) return; d.style.background = (n++ % 2) ? 'rgb(0 0 0 / 1%)' : 'transparent'; requestAnimationFrame(tick); };
                 requestAnimationFrame(tick);",
                vec![],
            )
            .await;
        let png = tokio::time::timeout(Duration::from_secs(30), self.client.screenshot()).await;
        let _ = self
            .client
            .execute("document.getElementById('e2e-paint')?.remove()", vec![])
            .await;
        png.ok()?.ok()
    }

    /// Runs axe-core in the real window; fails listing each violation.
    pub async fn assert_accessible(&self, view: &str) {
        static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let axe = AXE.get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../ui/node_modules/axe-core/axe.min.js");
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup)", path.display()))
        });
        let script = format!(
            "{axe}\nconst done = arguments[arguments.length - 1];\n\
             axe.run(document, {{ resultTypes: ['violations'] }}).then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ') + ' [' + n.any.concat(n.all, n.none).map(c => c.message).join('; ') + ']').join(', '))), e => done(['axe failed: ' + e]));"
        );
        self.wait_still().await;
        let violations = self.client.execute_async(&script, vec![]).await.unwrap();
        if violations != json!([]) {
            self.screenshot(&format!("axe-failure {view}")).await;
        }
        assert_eq!(
            violations,
            json!([]),
            "axe found violations in {view}:\n{violations:#}"
        );
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
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

    /// When the page last set performance mark `name`, in ms since the
    /// Unix epoch (the window's clock is the machine's).
    pub async fn mark_epoch_ms(&self, name: &str) -> Option<f64> {
        self.client
            .execute(
                "const m = performance.getEntriesByName(arguments[0], 'mark').at(-1); return m ? performance.timeOrigin + m.startTime : null",
                vec![json!(name)],
            )
            .await
            .ok()?
            .as_f64()
    }

    /// The secrets this device keeps (session token, PKCE verifier) as the
    /// file credential store holds them — the e2e desktop has no Secret
    /// Service, so the store falls back to the file.
    pub fn stored_secrets(&self) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(self.data_dir.join("credentials.json")) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        collect_secrets(
            &serde_json::from_str(&text).unwrap_or(Value::Null),
            &mut found,
        );
        found
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

/// String leaves long enough to be secrets, looking inside JSON held in
/// strings too.
fn collect_secrets(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(inner @ (Value::Object(_) | Value::Array(_))) => collect_secrets(&inner, into),
            _ if s.len() >= 32 => into.push(s.clone()),
            _ => {}
        },
        Value::Array(items) => items.iter().for_each(|v| collect_secrets(v, into)),
        Value::Object(map) => map.values().for_each(|v| collect_secrets(v, into)),
        _ => {}
    }
}

/// Fails naming the file when any secret shows up in any of `files`, in any
/// of the forms a log could hold it: raw, without the code's hyphen,
/// lower-case, percent-encoded.
pub fn assert_no_secret_in(files: &[PathBuf], secrets: &[String]) {
    let mut forms = Vec::new();
    for secret in secrets {
        let bare = secret.replace('-', "");
        for form in [
            secret.clone(),
            bare.clone(),
            secret.to_lowercase(),
            bare.to_lowercase(),
            percent_encode(secret),
        ] {
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    for file in files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "a secret ({}…) is in {}",
                &form[..4.min(form.len())],
                file.display()
            );
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for Window {
    /// Ends the driver's process group (tauri-driver, WebKitWebDriver, the
    /// app) even when a test fails half-way, so none outlives its test.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan finds a code in every form a log could hold it.
    #[test]
    fn the_secret_scan_finds_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        for (form, written) in [
            ("raw", "code=ABCD-EFGH"),
            ("no hyphen", "ABCDEFGH"),
            ("lower-case", "abcd-efgh"),
            ("lower, no hyphen", "x abcdefgh y"),
            ("percent-encoded", "q=AB%2BC"),
        ] {
            std::fs::write(&log, written).unwrap();
            let secrets = ["ABCD-EFGH".to_owned(), "AB+C".to_owned()];
            let found = std::panic::catch_unwind(|| {
                assert_no_secret_in(std::slice::from_ref(&log), &secrets)
            });
            assert!(found.is_err(), "missed the {form} form");
        }
        std::fs::write(&log, "nothing here").unwrap();
        assert_no_secret_in(&[log], &["ABCD-EFGH".to_owned()]);
    }
}

//! One app window through WebDriver: the waits (never sleeps), the page's
//! text, clicks and typing, the app's commands, screenshots and axe.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::driver::Driver;
use crate::{artifacts_dir, collect_secrets};

/// How long the waits without a timeout of their own wait.
const WAIT: Duration = Duration::from_secs(5);

/// One app window (one device).
pub struct Window {
    /// Held for its drop, which ends the app; first, so that happens before
    /// the session's client is dropped.
    pub(crate) _driver: Driver,
    pub client: Client,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) binary: PathBuf,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

/// A wait's deadline: `again` sleeps a moment before the next look, or says
/// the time is up.
struct Poll(Instant);

impl Poll {
    fn within(within: Duration) -> Poll {
        Poll(Instant::now() + within)
    }

    async fn again(&self) -> bool {
        if Instant::now() >= self.0 {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        true
    }
}

impl Window {
    /// Runs `script` in the page; its error when it fails (a page being
    /// replaced, a script that threw).
    async fn run(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.client
            .execute(script, args)
            .await
            .map_err(|e| e.to_string())
    }

    /// `document.body.dataset.state`, waited for (never slept). A script
    /// that fails while the page is being replaced counts as "not yet".
    pub async fn wait_state(&self, state: &str, within: Duration) {
        let poll = Poll::within(within);
        loop {
            let now = self
                .run("return document.body.dataset.state ?? null", vec![])
                .await
                .unwrap_or_else(|e| Value::String(format!("(script failed: {e})")));
            if now == Value::String(state.into()) {
                return;
            }
            if !poll.again().await {
                panic!(
                    "state stayed {now}, not {state}\n{}",
                    self.diagnosis().await
                );
            }
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
        let poll = Poll::within(within);
        while !self.text().await.contains(text) {
            if !poll.again().await {
                panic!("{text:?} never appeared\n{}", self.diagnosis().await);
            }
        }
    }

    /// The text the page shows now: innerText, not WebDriver's element
    /// text, which leaves out some text WebKit renders. A failed script
    /// answers its error as the text, for the failure message.
    pub async fn text(&self) -> String {
        match self.run("return document.body.innerText", vec![]).await {
            Ok(value) => value.as_str().unwrap_or_default().to_owned(),
            Err(e) => format!("(script failed: {e})"),
        }
    }

    /// Runs `script`, which answers whether it found what to click, and
    /// fails with `missing` when it didn't.
    async fn click_by(&self, script: &str, args: Vec<Value>, missing: String) {
        let clicked = self.run(script, args).await.unwrap();
        assert_eq!(clicked, json!(true), "{missing}");
    }

    /// Clicks the button or link whose visible text starts with `text`.
    pub async fn click(&self, text: &str) {
        self.click_by(
            "const e = [...document.querySelectorAll('button, a')].find(e => e.textContent.trim().startsWith(arguments[0]) && !e.disabled); if (e) { e.click(); return true } return false",
            vec![json!(text)],
            format!("no enabled button {text:?}"),
        )
        .await;
    }

    /// Clicks, inside the first element matching `scope`, the button or menu
    /// item whose text starts with `text`.
    pub async fn click_in(&self, scope: &str, text: &str) {
        self.click_by(
            "const root = document.querySelector(arguments[0]); const e = root && [...root.querySelectorAll('button, a, [role=menuitem]')].find(e => e.textContent.trim().startsWith(arguments[1]) && !e.disabled); if (e) { e.click(); return true } return false",
            vec![json!(scope), json!(text)],
            format!("no {text:?} in {scope}"),
        )
        .await;
    }

    /// Opens the ⋮ menu of the row for `device`.
    pub async fn open_actions_for(&self, device: &str) {
        self.click_by(
            "const b = document.querySelector(`[aria-label=\"Actions for ${arguments[0]}\"]`); if (b) { b.click(); return true } return false",
            vec![json!(device)],
            format!("no ⋮ for {device}"),
        )
        .await;
        self.wait_for_css("[role=menu]").await;
    }

    /// The sign-in state as the app answers it: `connect`'s answer, on a
    /// channel of the harness's own that hears nothing it acts on (the
    /// window's channel is left as it is).
    pub async fn auth_state(&self) -> Value {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1]; const t = window.__TAURI_INTERNALS__; const events = '__CHANNEL__:' + t.transformCallback(() => {}); t.invoke('connect', { events }).then(answer => done(answer.auth), e => done(null));",
                vec![],
            )
            .await
            .unwrap()
    }

    /// The sign-in flow this window waits on.
    pub async fn pending_flow(&self) -> String {
        let state = self.auth_state().await;
        state["flow_id"]
            .as_str()
            .unwrap_or_else(|| panic!("not waiting on a link: {state}"))
            .to_owned()
    }

    /// The id of this window's own session, while signed in.
    pub async fn own_session_id(&self) -> String {
        let state = self.auth_state().await;
        state["session"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("not signed in: {state}"))
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

    /// Waits until this window's app has registered the `app.latch:` scheme
    /// with the desktop (it does so in the background at start).
    pub async fn wait_scheme_registered(&self, within: Duration) {
        let poll = Poll::within(within);
        loop {
            let info = self.invoke("get_app_info").await;
            if info["scheme_registered"] == json!(true) {
                return;
            }
            assert!(poll.again().await, "scheme never registered: {info}");
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

    /// Waits for an element matching `css` to be in the page.
    pub async fn wait_for_css(&self, css: &str) {
        self.wait_css(css, true).await;
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone_css(&self, css: &str) {
        self.wait_css(css, false).await;
    }

    async fn wait_css(&self, css: &str, present: bool) {
        let poll = Poll::within(WAIT);
        loop {
            let found = self
                .run(
                    "return document.querySelector(arguments[0]) !== null",
                    vec![json!(css)],
                )
                .await;
            if found.ok() == Some(json!(present)) {
                return;
            }
            assert!(
                poll.again().await,
                "{css} {}",
                if present { "never appeared" } else { "stayed" }
            );
        }
    }

    /// The text of the open confirmation dialog.
    pub async fn dialog_text(&self) -> String {
        self.wait_for_css("dialog[open]").await;
        self.run(
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
            .run(
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
    /// once measured with its toolbar greyed. False when the page was still
    /// busy after `within`.
    pub async fn wait_still_within(&self, within: Duration) -> bool {
        let poll = Poll::within(within);
        loop {
            let still = self
                .run(
                    "return document.getAnimations().every(a => a.playState !== 'running') && !document.querySelector('[aria-busy=true], .spinning')",
                    vec![],
                )
                .await;
            if still.ok() == Some(json!(true)) {
                return true;
            }
            if !poll.again().await {
                return false;
            }
        }
    }

    /// `wait_still_within` five seconds; a screenshot of a page that is
    /// still busy then is taken anyway.
    pub async fn wait_still(&self) {
        self.wait_still_within(WAIT).await;
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
            .run(
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
            .run("document.getElementById('e2e-paint')?.remove()", vec![])
            .await;
        png.ok()?.ok()
    }

    /// Runs axe-core in the real window; fails listing each violation.
    ///
    /// Measures a still page only: it first waits for the page to settle
    /// (failing, with the diagnosis, when it never does — it used to go on
    /// after 5 s and measure whatever was half-way), and a run during which
    /// something became busy or stopped being so (a control disabled, a
    /// spinner, `aria-busy`) measured a page that changed under it, so it is
    /// measured again once the page has settled.
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
             let moved = 0; const busy = m => m.attributeName !== 'class' || /\\b(spinning|stale)\\b/.test((m.oldValue || '') + ' ' + (m.target.getAttribute('class') || ''));\n\
             const watch = new MutationObserver(ms => {{ moved += ms.filter(busy).length }});\n\
             watch.observe(document.body, {{ subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ['disabled', 'aria-busy', 'class'] }});\n\
             axe.run(document, {{ resultTypes: ['violations'] }}).then(r => {{ watch.disconnect(); done({{ moved, violations: r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ') + ' [' + n.any.concat(n.all, n.none).map(c => c.message).join('; ') + ']').join(', ')) }}) }}, e => done({{ moved, violations: ['axe failed: ' + e] }}));"
        );
        let mut violations = json!([]);
        for _ in 0..3 {
            if !self.wait_still_within(Duration::from_secs(15)).await {
                panic!(
                    "{view} never settled for axe (still busy after 15 s)\n{}",
                    self.diagnosis().await
                );
            }
            let measured = self.client.execute_async(&script, vec![]).await.unwrap();
            violations = measured["violations"].clone();
            if measured["moved"] == json!(0) {
                break;
            }
            eprintln!("{view}: the page changed during axe; measuring it again");
        }
        if violations != json!([]) {
            self.screenshot(&format!("axe-failure {view}")).await;
        }
        assert_eq!(
            violations,
            json!([]),
            "axe found violations in {view}:\n{violations:#}"
        );
    }

    /// When the page last set performance mark `name`, in ms since the
    /// Unix epoch (the window's clock is the machine's).
    pub async fn mark_epoch_ms(&self, name: &str) -> Option<f64> {
        self.run(
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

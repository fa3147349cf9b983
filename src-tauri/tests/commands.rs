//! The command layer wired as the window calls it, on Tauri's mock runtime
//! (no display): each command through the IPC handler, against a real
//! latchd, answering `{code, message}` on failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use latch_desktop_lib::{latch_ipc, Desktop, LinkForwarding, Places, Shell, WindowEvent};
use latch_testkit::Latchd;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, Channel, InvokeBody, InvokeResponseBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

struct App {
    app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    dir: tempfile::TempDir,
}

/// The app on the mock runtime, with `settings` as its settings file.
fn app(settings: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("settings.json"), settings).unwrap();
    app_in(dir, |_| {})
}

/// The app on the mock runtime in `dir`; `before_start` runs once the
/// client exists and before it starts (a cold start's link arrives then).
fn app_in(dir: tempfile::TempDir, before_start: impl FnOnce(&Desktop<MockRuntime>)) -> App {
    let app = mock_builder()
        .plugin(tauri_plugin_store::Builder::default().build())
        .invoke_handler(latch_ipc!(MockRuntime).invoke_handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    app.manage(Shell::new());
    app.manage(Desktop::new(app.handle(), &Places::under(dir.path())).unwrap());
    before_start(&app.state::<Desktop<MockRuntime>>());
    latch_desktop_lib::start_client(app.handle());
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    App { app, window, dir }
}

fn invoke(app: &App, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(&app.window, request).map(|body| body.deserialize::<Value>().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_signs_in_lists_renames_and_signs_out_through_commands() {
    let server = Latchd::start(&[]);
    // The saved server wins over every default, so no env var is needed.
    let app = app(&json!({"server_url": server.base}).to_string());
    let ui =
        tokio::task::block_in_place(|| invoke(&app, "connect", json!({"events": "__CHANNEL__:1"})))
            .unwrap();
    assert_eq!(ui["auth"]["state"], "signed-out");
    assert_eq!(ui["sessions"]["sessions"], json!([]));

    let settings = tokio::task::block_in_place(|| {
        invoke(&app, "set_device_name", json!({"name": "Test rig"}))
    })
    .unwrap();
    assert_eq!(settings["device_name"], "Test rig");
    assert_eq!(settings["server_url"].as_str(), Some(server.base.as_str()));

    let waiting = tokio::task::block_in_place(|| {
        invoke(&app, "request_link", json!({"email": "Ada@Example.com"}))
    })
    .unwrap();
    assert_eq!(
        (waiting["state"].as_str(), waiting["device_name"].as_str()),
        (Some("awaiting-link"), Some("Test rig"))
    );
    let error =
        tokio::task::block_in_place(|| invoke(&app, "submit_code", json!({"code": "2222-2222"})))
            .unwrap_err();
    assert_eq!(
        error,
        json!({"code": "invalid_code", "message": "That code is not right. Check the email and try again."})
    );

    let code = server.mail_for("ada@example.com").await.code.to_lowercase();
    let signed =
        tokio::task::block_in_place(|| invoke(&app, "submit_code", json!({"code": code}))).unwrap();
    assert_eq!(signed["state"], "signed-in");
    assert_eq!(signed["account"]["email"], "ada@example.com");
    assert!(
        !signed.to_string().contains("session_token") && !signed.to_string().contains("lt1_"),
        "no token crosses IPC"
    );

    let list = tokio::task::block_in_place(|| invoke(&app, "list_sessions", json!({}))).unwrap();
    let id = list["sessions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list["sessions"][0]["current"], true, "worded Current");
    let renamed = tokio::task::block_in_place(|| {
        invoke(
            &app,
            "rename_session",
            json!({"sessionId": id, "name": "Renamed rig"}),
        )
    })
    .unwrap();
    assert_eq!(renamed["device_name"], "Renamed rig");
    let account =
        tokio::task::block_in_place(|| invoke(&app, "rename_account", json!({"name": "Ada L"})))
            .unwrap();
    assert_eq!(account["initials"], "AL");
    let error =
        tokio::task::block_in_place(|| invoke(&app, "terminate_session", json!({"sessionId": id})))
            .unwrap_err();
    assert_eq!(
        error["code"], "invalid_request",
        "the current device logs out instead"
    );
    let info = tokio::task::block_in_place(|| invoke(&app, "get_app_info", json!({}))).unwrap();
    assert!(matches!(
        info["credential_store"].as_str(),
        Some("os" | "file")
    ));
    assert_eq!(
        tokio::task::block_in_place(|| invoke(&app, "log_out_others", json!({}))).unwrap(),
        json!(0)
    );
    tokio::task::block_in_place(|| invoke(&app, "report_activity", json!({"active": false})))
        .unwrap();

    let out = tokio::task::block_in_place(|| invoke(&app, "log_out", json!({}))).unwrap();
    assert_eq!(out, json!({"state": "signed-out", "notice": null}));
    let error =
        tokio::task::block_in_place(|| invoke(&app, "rename_account", json!({"name": "x"})))
            .unwrap_err();
    assert_eq!(error["code"], "signed_out");
    let error = tokio::task::block_in_place(|| {
        invoke(&app, "set_server", json!({"url": "http://example.com"}))
    })
    .unwrap_err();
    assert_eq!(error["code"], "invalid_server");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_settings_file_gives_defaults_and_a_warning() {
    let server = Latchd::start(&[]);
    let app = app("{ this is not json");
    let info = tokio::task::block_in_place(|| invoke(&app, "get_app_info", json!({}))).unwrap();
    let warning = info["settings_warning"]
        .as_str()
        .expect("a warning for the window");
    assert!(warning.contains("default settings"), "{warning}");
    let settings = tokio::task::block_in_place(|| invoke(&app, "get_settings", json!({}))).unwrap();
    assert_eq!(settings["theme"], "system");
    // Still a working app: it can be pointed at a server and sign in.
    let state =
        tokio::task::block_in_place(|| invoke(&app, "set_server", json!({"url": server.base})))
            .unwrap();
    assert_eq!(state["state"], "signed-out");
    let saved = tokio::task::block_in_place(|| invoke(&app, "get_settings", json!({}))).unwrap();
    assert_eq!(saved["server_url"].as_str(), Some(server.base.as_str()));
}

/// "Copy diagnostics" says what support needs and nothing that signs anyone
/// in or says who they are — checked while signed in, with the token, the
/// code, the flow and the email all live.
#[tokio::test(flavor = "multi_thread")]
async fn diagnostics_name_versions_server_and_store_but_no_secret() {
    let server = Latchd::start(&[]);
    let app = app(&json!({"server_url": server.base}).to_string());
    let waiting = tokio::task::block_in_place(|| {
        invoke(&app, "request_link", json!({"email": "grace@example.com"}))
    })
    .unwrap();
    let flow_id = waiting["flow_id"].as_str().unwrap().to_owned();
    let code = server.mail_for("grace@example.com").await.code;
    let signed =
        tokio::task::block_in_place(|| invoke(&app, "submit_code", json!({"code": code}))).unwrap();
    assert_eq!(signed["state"], "signed-in");
    let session_id = signed["session"]["id"].as_str().unwrap().to_owned();

    let text = tokio::task::block_in_place(|| invoke(&app, "get_diagnostics", json!({})))
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    for expected in [
        "App               Latch ".to_owned(),
        format!("Tauri             {}", tauri::VERSION),
        format!("{} — answers: latchd", server.base),
        "Sign-in           signed in".to_owned(),
        "Credential store".to_owned(),
        "app.latch: links".to_owned(),
        "Link forwarding".to_owned(),
        format!("Data folder       {}", app.dir.path().display()),
    ] {
        assert!(text.contains(&expected), "{expected:?} missing:\n{text}");
    }

    // Whatever the store kept — the session token above all — is absent,
    // read back from where the fallback file keeps it or through the id.
    let mut secrets = vec![
        code.clone(),
        code.replace('-', ""),
        flow_id,
        session_id,
        "grace@example.com".to_owned(),
        "grace".to_owned(),
        "lt1_".to_owned(),
    ];
    let install_id = std::fs::read_to_string(app.dir.path().join("install-id")).unwrap();
    secrets.push(install_id.trim().to_owned());
    if let Ok(file) = std::fs::read_to_string(app.dir.path().join("credentials.json")) {
        let stored: serde_json::Map<String, Value> = serde_json::from_str(&file).unwrap();
        // Secrets are long; a short bookkeeping value could match by chance.
        secrets.extend(
            stored
                .values()
                .filter_map(|v| v.as_str())
                .filter(|v| v.len() >= 16)
                .map(str::to_owned),
        );
    }
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!text.contains(secret.as_str()), "{secret:?} is in:\n{text}");
    }
}

/// Without a session bus the window is told links can't be forwarded, and
/// the diagnostics say so too.
#[tokio::test(flavor = "multi_thread")]
async fn unavailable_link_forwarding_reaches_the_window_and_the_diagnostics() {
    let server = Latchd::start(&[]);
    let app = app(&json!({"server_url": server.base}).to_string());
    let info = tokio::task::block_in_place(|| invoke(&app, "get_app_info", json!({}))).unwrap();
    assert_eq!(info["link_forwarding_warning"], Value::Null);

    app.app
        .state::<Shell>()
        .set_link_forwarding(LinkForwarding::Unavailable {
            reason: "there is no D-Bus session bus".into(),
            detail: "Failed to connect to address `unix:path=/run/user/0/bus`".into(),
        });
    let info = tokio::task::block_in_place(|| invoke(&app, "get_app_info", json!({}))).unwrap();
    let warning = info["link_forwarding_warning"].as_str().unwrap();
    assert!(
        warning.starts_with("There is no D-Bus session bus. A sign-in link opened while Latch is running starts a second Latch"),
        "{warning}"
    );
    assert!(warning.contains("type the code"), "{warning}");
    assert!(
        !warning.contains("unix:path"),
        "the window gets words, not the error: {warning}"
    );
    let text = tokio::task::block_in_place(|| invoke(&app, "get_diagnostics", json!({})))
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains(
            "Link forwarding   unavailable: there is no D-Bus session bus (Failed to connect"
        ),
        "{text}"
    );
}

/// What a window's channel received, as JSON, in order.
fn channel() -> (Channel<WindowEvent>, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let channel = Channel::new(move |body| {
        let InvokeResponseBody::Json(json) = body else {
            panic!("a channel message that isn't JSON")
        };
        sink.lock()
            .unwrap()
            .push(serde_json::from_str(&json).unwrap());
        Ok(())
    });
    (channel, seen)
}

/// Waits until the channel has received an event `matching`; answers it.
async fn received(seen: &Mutex<Vec<Value>>, matching: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(event) = seen.lock().unwrap().iter().find(|e| matching(e)) {
            return event.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not received; the channel got {:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A link clicked while Latch was closed reaches the client before it has
/// started, and signs in while the window connects. Whichever comes first,
/// the window has it: in `connect`'s answer, or as an event after it.
#[tokio::test(flavor = "multi_thread")]
async fn a_cold_start_sign_in_is_in_the_first_read_or_on_the_channel() {
    let server = Latchd::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.json"),
        json!({"server_url": server.base}).to_string(),
    )
    .unwrap();
    let first = app_in(dir, |_| {});
    tokio::task::block_in_place(|| {
        invoke(&first, "request_link", json!({"email": "ada@example.com"}))
    })
    .unwrap();
    let link = server.mail_for("ada@example.com").await.deep_link();
    let App { app, window, dir } = first;
    drop((window, app));

    let again = app_in(dir, |desktop| assert!(desktop.client.offer_link(&link)));
    let desktop = again.app.state::<Desktop<MockRuntime>>();
    let (events, seen) = channel();
    let connected = desktop.connect(events).await;
    if !matches!(connected.auth, latch_client::AuthState::SignedIn { .. }) {
        let event = received(&seen, |e| {
            e["type"] == "auth-changed" && e["auth"]["state"] == "signed-in"
        })
        .await;
        assert_eq!(event["auth"]["account"]["email"], "ada@example.com");
    }
    // Later changes follow on the same channel, as the typed union.
    let listed = |e: &Value| {
        e["type"] == "sessions-changed"
            && e["sessions"]["sessions"]
                .as_array()
                .is_some_and(|s| s.len() == 1)
    };
    received(&seen, listed).await;
    tokio::task::block_in_place(|| invoke(&again, "log_out", json!({}))).unwrap();
    let event = received(&seen, |e| {
        e["type"] == "auth-changed" && e["auth"]["state"] == "signed-out"
    })
    .await;
    assert_eq!(
        event,
        json!({"type": "auth-changed", "auth": {"state": "signed-out", "notice": null}})
    );
    received(&seen, |e| {
        e["type"] == "sessions-changed" && e["sessions"]["sessions"] == json!([])
    })
    .await;
}

/// A refused link reaches the window as `deep-link-error` with its code;
/// a second connection (a test driver reading the state) takes nothing
/// from the first.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_link_reaches_the_window_on_the_channel() {
    let server = Latchd::start(&[]);
    let app = app(&json!({"server_url": server.base}).to_string());
    let desktop = app.app.state::<Desktop<MockRuntime>>();
    let (events, seen) = channel();
    desktop.connect(events).await;
    let (second, seen_second) = channel();
    desktop.connect(second).await;
    assert!(desktop
        .client
        .offer_link("app.latch:/auth/callback?flow=flw_x&code=ABCD-EFGH"));
    for seen in [&seen, &seen_second] {
        let event = received(seen, |e| e["type"] == "deep-link-error").await;
        assert_eq!(event["error"]["code"], "not_pending");
    }
}

/// Today's two files, one of them damaged: settings.json (the window's
/// theme, and once the server and name) is set aside with a warning; the
/// server and the sign-out notice in client-state.json are kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_settings_file_keeps_what_client_state_holds() {
    let server = Latchd::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("settings.json"), "{ this is not json").unwrap();
    let old_state = json!({
        "server": format!("{}/", server.base),
        "lifetimes": {"idle_timeout_s": 1209600, "absolute_lifetime_s": 2592000},
        "pending": null,
        "signed_in": null,
        "notice": {"reason": "terminated", "by_device": "Pixel 8", "at": "2026-11-27T08:13:00Z",
                   "message": "This device was terminated from Pixel 8 at 09:13"},
    });
    std::fs::write(dir.path().join("client-state.json"), old_state.to_string()).unwrap();
    let app = app_in(dir, |_| {});
    let info = tokio::task::block_in_place(|| invoke(&app, "get_app_info", json!({}))).unwrap();
    assert!(
        info["settings_warning"]
            .as_str()
            .unwrap()
            .contains("default settings"),
        "{info}"
    );
    let settings = tokio::task::block_in_place(|| invoke(&app, "get_settings", json!({}))).unwrap();
    assert_eq!(settings["server_url"].as_str(), Some(server.base.as_str()));
    assert_eq!(settings["theme"], "system");
    let ui =
        tokio::task::block_in_place(|| invoke(&app, "connect", json!({"events": "__CHANNEL__:1"})))
            .unwrap();
    assert_eq!(ui["auth"]["notice"]["by_device"], "Pixel 8", "{ui}");
}

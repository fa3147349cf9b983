//! The product as a user meets it: the real app window, a real emailed link
//! through a real SMTP server, the OS's ways of opening a link, several
//! devices at once. Every journey ends by checking that no code, token or
//! verifier it saw reached any log (the apps and latchd run at
//! `RUST_LOG=trace`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use latch_e2e::{
    assert_no_secret_in, deep_link_from_page, enabled, files_under, Delivery, Desktop, HttpFlow,
    Window,
};
use latch_testkit::{Latchd, Mail, SmtpServer};
use reqwest::Method;
use serde_json::{json, Value};

const START: Duration = Duration::from_secs(30);
const SOON: Duration = Duration::from_secs(5);

/// One test's world: a real SMTP server, a latchd sending to it, and a
/// desktop (X display + D-Bus session) for the windows. Records every secret
/// the test sees so `finish` can look for them in every log.
struct World {
    smtp: SmtpServer,
    server: Latchd,
    desktop: Desktop,
    secrets: Vec<String>,
}

impl World {
    /// None (once `enabled` has said so) when the end-to-end tests are
    /// skipped.
    fn start() -> Option<World> {
        if !enabled() {
            return None;
        }
        let smtp = SmtpServer::start();
        let server = Latchd::start_with_env(&["--smtp-url", &smtp.url()], &[("RUST_LOG", "trace")]);
        Some(World {
            smtp,
            server,
            desktop: Desktop::start(),
            secrets: Vec::new(),
        })
    }

    async fn window(&self, name: &str) -> Window {
        self.desktop.open_window(name, &self.server.base).await
    }

    /// The sign-in mail of `window`'s pending flow, once it has arrived.
    async fn mail_for(&mut self, window: &Window) -> Mail {
        let flow = window.pending_flow().await;
        let mail = self.mail_of_flow(&flow).await;
        self.secrets.push(mail.code.clone());
        self.secrets.extend(window.stored_secrets());
        mail
    }

    /// The mail of flow `flow` as the SMTP server received it.
    async fn mail_of_flow(&self, flow: &str) -> Mail {
        for count in 1.. {
            for raw in self.smtp.wait_for(count).await {
                let parsed = mailparse::parse_mail(&raw).unwrap();
                let text = parsed
                    .subparts
                    .iter()
                    .find(|p| p.ctype.mimetype == "text/plain")
                    .map(|p| p.get_body().unwrap())
                    .unwrap();
                let mail = Mail::parse(&text);
                if mail.flow_id == flow {
                    return mail;
                }
            }
        }
        unreachable!()
    }

    /// Asks for a link in `window` as `email`: it then waits on the mail.
    async fn request_link(&self, window: &Window, email: &str) {
        window.wait_state("signed-out", START).await;
        window.type_into("input[type=email]", email).await;
        window.click("Send link").await;
        window.wait_state("awaiting-link", SOON).await;
    }

    /// Signs `window` in as `email` by the typed code.
    async fn sign_in_by_code(&mut self, window: &Window, email: &str) {
        self.request_link(window, email).await;
        window.click("Enter code instead").await;
        let code = self
            .mail_for(window)
            .await
            .code
            .replace('-', "")
            .to_lowercase();
        window
            .type_into("input[autocomplete=one-time-code]", &code)
            .await;
        window.click("Sign in").await;
        window.wait_state("signed-in", SOON).await;
        self.secrets.extend(window.stored_secrets());
    }

    /// A window signed in as `email`, showing Active sessions.
    async fn signed_in_window(&mut self, name: &str, email: &str) -> Window {
        let window = self.window(name).await;
        self.sign_in_by_code(&window, email).await;
        show_sessions(&window).await;
        window
    }

    /// The laptop and the phone, both signed in as ada@example.com and
    /// showing Active sessions, each listing the other.
    async fn laptop_and_phone(&mut self) -> (Window, Window) {
        let laptop = self.signed_in_window("Laptop", "ada@example.com").await;
        let phone = self.signed_in_window("Phone", "ada@example.com").await;
        laptop.wait_text("Phone", SOON).await;
        phone.wait_text("Laptop", SOON).await;
        (laptop, phone)
    }

    /// Signs a device in over HTTP, as another client of the account would
    /// (a phone, a browser): answers its session token.
    async fn device_over_http(&mut self, email: &str, name: &str, platform: &str) -> String {
        let (mail, flow) = self.flow_over_http(email, name, platform).await;
        let token = flow.finish(&self.server, &mail.code).await.token;
        self.secrets.push(token.clone());
        token
    }

    /// Starts a sign-in over HTTP for another device: answers its mail.
    async fn flow_over_http(
        &mut self,
        email: &str,
        name: &str,
        platform: &str,
    ) -> (Mail, HttpFlow) {
        let flow = HttpFlow::start(&self.server, email, name, platform).await;
        let mail = self.mail_of_flow(&flow.flow_id).await;
        self.secrets
            .extend([mail.code.clone(), flow.verifier.clone()]);
        (mail, flow)
    }

    /// What latchd answers `method path` (with `body`, if any) from the
    /// device holding `token`: the status and the body.
    async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, self.server.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Closes the windows, then fails if any secret seen reached any log of
    /// the apps, their drivers, WebKit or latchd.
    async fn finish(self, windows: Vec<Window>) {
        for window in windows {
            window.close().await;
        }
        let logs: Vec<PathBuf> = self
            .desktop
            .files()
            .into_iter()
            .chain(files_under(self.server.dir.path()))
            .filter(|f| {
                let name = f.to_string_lossy();
                name.ends_with(".log") || name.ends_with(".err")
            })
            .collect();
        assert!(
            logs.iter()
                .any(|f| f.to_string_lossy().ends_with("latchd.log")),
            "no latchd log to scan"
        );
        assert!(!self.secrets.is_empty(), "the journey saw no secret");
        assert_no_secret_in(&logs, &self.secrets);
    }
}

/// Opens Active sessions, which lists this device as Current.
async fn show_sessions(window: &Window) {
    window.click("Active sessions").await;
    window.wait_text("Current", SOON).await;
}

/// Picks `item` from the ⋮ menu of `device`'s row.
async fn from_menu(window: &Window, device: &str, item: &str) {
    window.open_actions_for(device).await;
    window.click_in("[role=menu]", item).await;
}

/// Checks the open confirmation's title (and, when given, the devices it
/// lists), then presses `button`: answers when it was pressed.
async fn confirm(window: &Window, title: &str, listing: Option<&[&str]>, button: &str) -> Instant {
    let text = window.dialog_text().await;
    assert!(text.contains(title), "{text}");
    if let Some(devices) = listing {
        let mut listed = window.dialog_devices().await;
        listed.sort();
        assert_eq!(listed, devices, "{text}");
    }
    let pressed = Instant::now();
    window.click_in("dialog[open]", button).await;
    pressed
}

/// Waits until `window` is signed out and says `why`.
async fn signed_out_saying(window: &Window, why: &str, within: Duration) {
    window.wait_state("signed-out", within).await;
    window.wait_text(why, within).await;
}

/// Journey 1: type the address → the mail → its https page → the deep link
/// it offers → delivered as the OS does (a second launch, with and without
/// a display; then `gio open` and `xdg-open` once the scheme is registered) → signed in, and Active
/// sessions lists this device as Current.
#[tokio::test(flavor = "multi_thread")]
async fn signs_in_by_the_emailed_link_opened_the_way_the_os_does() {
    let Some(mut world) = World::start() else {
        return;
    };
    let window = world.window("Laptop").await;
    for how in [
        Delivery::SecondLaunch,
        Delivery::SecondLaunchWithoutDisplay,
        Delivery::GioOpen,
        Delivery::XdgOpen,
    ] {
        world.request_link(&window, "ada@example.com").await;
        window.wait_text("Check your email", SOON).await;
        let mail = world.mail_for(&window).await;
        let link = deep_link_from_page(&mail.link).await;
        assert!(link.starts_with("app.latch:/auth/callback?flow="), "{link}");
        if matches!(how, Delivery::GioOpen | Delivery::XdgOpen) {
            window.wait_scheme_registered(SOON).await;
        }
        window.deliver_link_by(how, &link);
        window.wait_state("signed-in", SOON).await;
        show_sessions(&window).await;
        window.wait_text("Laptop", SOON).await;
        window.invoke("log_out").await;
        window.wait_state("signed-out", SOON).await;
    }
    world.finish(vec![window]).await;
}

/// Journey 2: the typed code instead of the link.
#[tokio::test(flavor = "multi_thread")]
async fn signs_in_with_the_typed_code() {
    let Some(mut world) = World::start() else {
        return;
    };
    let window = world.window("Desktop").await;
    world.sign_in_by_code(&window, "grace@example.com").await;
    window.wait_text("grace@example.com", SOON).await;
    world.finish(vec![window]).await;
}

/// Journey 3: the app isn't running when the link is opened: the OS starts
/// it with the URL, and it signs in.
#[tokio::test(flavor = "multi_thread")]
async fn a_link_opened_while_the_app_is_closed_starts_it_signed_in() {
    let Some(mut world) = World::start() else {
        return;
    };
    let window = world.window("Laptop").await;
    world.request_link(&window, "ada@example.com").await;
    let mail = world.mail_for(&window).await;
    window.quit().await;

    let link = deep_link_from_page(&mail.link).await;
    let window = world
        .desktop
        .launch("Laptop", &world.server.base, &[&link])
        .await;
    window.wait_state("signed-in", START).await;
    show_sessions(&window).await;
    world.finish(vec![window]).await;
}

/// Journeys 4 and 5: a second device appears in the first window without a
/// reload; the first terminates it through ⋮ → Terminate → confirm, and the
/// second window says so, naming the first, within a second.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_device_appears_live_and_its_termination_is_explained_within_a_second() {
    let Some(mut world) = World::start() else {
        return;
    };
    let (laptop, phone) = world.laptop_and_phone().await;

    from_menu(&laptop, "Phone", "Terminate").await;
    let confirmed = confirm(&laptop, "Terminate Phone?", None, "Terminate").await;
    let explained = "This device was terminated from Laptop";
    signed_out_saying(&phone, explained, Duration::from_secs(1)).await;
    eprintln!(
        "terminate → the other window's notice: {:?}",
        confirmed.elapsed()
    );
    laptop.wait_text("Phone signed out", SOON).await;
    laptop
        .wait_gone_css("[aria-label='Actions for Phone']")
        .await;
    world.finish(vec![laptop, phone]).await;
}

/// Journey 6: "Log out of other devices", then "Log out of all devices":
/// each confirmation lists exactly the devices it will sign out, and each
/// window (and an HTTP-only device) ends in the right state with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn log_out_of_other_devices_and_of_all_devices_sign_out_whom_they_list() {
    let Some(mut world) = World::start() else {
        return;
    };
    let (laptop, phone) = world.laptop_and_phone().await;
    let tablet = world
        .device_over_http("ada@example.com", "Tablet", "android")
        .await;
    laptop.wait_text("Tablet", SOON).await;

    laptop.click("Log out of other devices").await;
    let (title, listed) = ("Log out of other devices?", ["Phone", "Tablet"]);
    confirm(&laptop, title, Some(&listed), "Log out 2 devices").await;
    let why = "You logged out of all other devices from Laptop";
    signed_out_saying(&phone, why, SOON).await;
    let (status, body) = world
        .call_as(&tablet, Method::GET, "/v1/sessions", None)
        .await;
    assert_eq!(
        (status, &body["reason"]),
        (401, &json!("logged_out_others")),
        "{body}"
    );
    laptop.wait_text("2 devices signed out", SOON).await;
    laptop.wait_state("signed-in", SOON).await;

    world.sign_in_by_code(&phone, "ada@example.com").await;
    laptop.wait_text("Phone", SOON).await;
    laptop.click("Account").await;
    laptop.click("Log out of all devices").await;
    let (title, listed) = ("Log out of all devices?", ["Laptop", "Phone"]);
    confirm(&laptop, title, Some(&listed), "Log out everywhere").await;
    for window in [&laptop, &phone] {
        let why = "You logged out of all devices from Laptop";
        signed_out_saying(window, why, SOON).await;
    }
    world.finish(vec![laptop, phone]).await;
}

/// Journey 7: ⋮ → Log out on the Current row signs out this device only.
#[tokio::test(flavor = "multi_thread")]
async fn log_out_on_the_current_row_signs_out_this_device_only() {
    let Some(mut world) = World::start() else {
        return;
    };
    let (laptop, phone) = world.laptop_and_phone().await;

    from_menu(&laptop, "Laptop", "Log out").await;
    confirm(&laptop, "Log out of this device?", None, "Log out").await;
    signed_out_saying(&laptop, "Sign in to Latch", SOON).await;
    // The phone stays signed in and sees the laptop go.
    phone
        .wait_gone_css("[aria-label='Actions for Laptop']")
        .await;
    phone.wait_state("signed-in", SOON).await;
    world.finish(vec![laptop, phone]).await;
}

/// Journey 8: hostile links — garbage after the scheme, a link for a flow
/// this window didn't start, an expired one, one already used — each gets a
/// clear message and changes nothing; the app keeps running.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_links_are_refused_with_a_clear_message_and_change_nothing() {
    let Some(mut world) = World::start() else {
        return;
    };
    let window = world.window("Laptop").await;
    window.wait_state("signed-out", START).await;
    for garbage in [
        "app.latch:/auth/callback?flow=<script>alert(1)</script>&code=%00%FF",
        "app.latch://evil.example/steal?code=AAAA-BBBB",
        "app.latch:",
    ] {
        // The window says what the parser says (its words are unit-tested).
        let said = latch_client::DeepLink::parse(garbage)
            .unwrap_err()
            .to_string();
        window.deliver_link(garbage);
        window.wait_text(&said, SOON).await;
        window.wait_state("signed-out", SOON).await;
    }

    // Another device's flow: a real link, but not for this window.
    world.request_link(&window, "ada@example.com").await;
    let mine = world.mail_for(&window).await;
    let (other_flow, _) = world
        .flow_over_http("ada@example.com", "Phone", "android")
        .await;
    window.deliver_link(&other_flow.deep_link());
    let refused = "from an older or different sign-in request";
    window.wait_text(refused, SOON).await;
    window.wait_state("awaiting-link", SOON).await;

    // Expired: the server's clock moves past the ten minutes.
    world.server.advance_clock("11m").await;
    window.deliver_link(&mine.deep_link());
    let refused = "This sign-in link has expired";
    window.wait_text(refused, SOON).await;
    window.wait_state("awaiting-link", SOON).await;

    // Used: signed in by its link, the same link opened again.
    window.click("Use a different email").await;
    world.request_link(&window, "ada@example.com").await;
    let fresh = world.mail_for(&window).await;
    window.deliver_link(&fresh.deep_link());
    window.wait_state("signed-in", SOON).await;
    // A person clicks it again later; a repeat within a second is taken
    // for the same click delivered twice and dropped (src-tauri deep_link).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    window.deliver_link(&fresh.deep_link());
    window
        .wait_text("That sign-in link wasn't used", SOON)
        .await;
    window.wait_text("You're already signed in", SOON).await;
    window.wait_state("signed-in", SOON).await;
    world.finish(vec![window]).await;
}

/// Journey 9: the server goes away and comes back: the window says so,
/// keeps the last list, and recovers by itself.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_outage_is_shown_the_last_list_kept_and_recovery_is_automatic() {
    let Some(mut world) = World::start() else {
        return;
    };
    let laptop = world.signed_in_window("Laptop", "ada@example.com").await;
    world
        .device_over_http("ada@example.com", "Phone", "android")
        .await;
    laptop.wait_text("Phone", SOON).await;

    world.server.kill();
    laptop.wait_text("Couldn't update the list", SOON).await;
    laptop.wait_text("can't reach the server", SOON).await;
    laptop.wait_text("Last known", SOON).await;
    let shown = laptop.text().await;
    assert!(
        shown.contains("Phone") && shown.contains("Laptop"),
        "{shown}"
    );
    laptop.wait_state("signed-in", SOON).await;

    world.server.restart();
    // Reconnects within the client's backoff cap (30 s) and resyncs.
    let deadline = Instant::now() + Duration::from_secs(40);
    while laptop.text().await.contains("Couldn't update the list") {
        assert!(Instant::now() < deadline, "{}", laptop.text().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown = laptop.text().await;
    assert!(
        shown.contains("Phone") && !shown.contains("Last known"),
        "{shown}"
    );
    world.finish(vec![laptop]).await;
}

/// Every view of the real window passes axe-core in light and in dark, and
/// each is photographed for the README set (artifacts; see
/// docs/screenshots/README.md for which are committed).
#[tokio::test(flavor = "multi_thread")]
async fn every_view_passes_axe_in_light_and_dark() {
    let Some(mut world) = World::start() else {
        return;
    };
    let window = world.window("Ada's ThinkPad").await;
    window.wait_state("signed-out", START).await;
    check_view(&window, "sign-in").await;

    // Two more devices and the account's name, first: a newer sign-in for
    // the same email would supersede this window's.
    world
        .device_over_http("ada@example.com", "Pixel 8", "android")
        .await;
    let macbook = world
        .device_over_http("ada@example.com", "Ada's MacBook Pro", "macos")
        .await;
    let renamed = json!({ "display_name": "Ada Lovelace" });
    let (status, _) = world
        .call_as(&macbook, Method::PATCH, "/v1/me", Some(renamed))
        .await;
    assert_eq!(status, 200);

    world.request_link(&window, "ada@example.com").await;
    window.wait_text("Check your email", SOON).await;
    check_view(&window, "check-email").await;
    window.click("Enter code instead").await;
    window
        .wait_for_css("input[autocomplete=one-time-code]")
        .await;
    check_view(&window, "enter-code").await;
    let mail = world.mail_for(&window).await;
    window.deliver_link(&mail.deep_link());
    window.wait_state("signed-in", SOON).await;
    window.wait_text("Welcome back, Ada", SOON).await;
    check_view(&window, "overview").await;

    let profile_button = "document.querySelector('[aria-label=\"Profile menu\"]').click()";
    window.client.execute(profile_button, vec![]).await.unwrap();
    window.wait_for_css("[role=menu]").await;
    check_view(&window, "profile-menu").await;
    window.client.execute(profile_button, vec![]).await.unwrap();
    window.wait_gone_css("[role=menu]").await;

    for page in ["General", "Account"] {
        window.click(page).await;
        window.wait_text(page, SOON).await;
        check_view(&window, &page.to_lowercase()).await;
    }
    window.click("Active sessions").await;
    window.wait_text("Pixel 8", SOON).await;
    window.wait_text("Ada's MacBook Pro", SOON).await;
    check_view(&window, "sessions").await;
    window.open_actions_for("Pixel 8").await;
    check_view(&window, "sessions-menu").await;
    window.click_in("[role=menu]", "Terminate").await;
    window.wait_for_css("dialog[open]").await;
    check_view(&window, "confirm-terminate").await;
    window.click_in("dialog[open]", "Cancel").await;
    window.wait_gone_css("dialog[open]").await;

    // Signed out by another device, with the reason.
    let own = format!("/v1/sessions/{}", window.own_session_id().await);
    let (status, _) = world.call_as(&macbook, Method::DELETE, &own, None).await;
    assert_eq!(status, 204);
    let why = "This device was terminated from Ada's MacBook Pro";
    signed_out_saying(&window, why, SOON).await;
    check_view(&window, "signed-out").await;
    world.finish(vec![window]).await;
}

/// axe in light and in dark, with a screenshot of each.
async fn check_view(window: &Window, view: &str) {
    for theme in ["light", "dark"] {
        window.set_theme(theme).await;
        window.assert_accessible(&format!("{view} ({theme})")).await;
        window.screenshot(&format!("{view}-{theme}")).await;
    }
}

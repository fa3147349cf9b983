//! The product as a user meets it: the real app window, a real emailed link
//! through a real SMTP server, the OS's way of opening a link.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use latch_e2e::{deep_link_from_page, enabled, Desktop, Window};
use latch_testkit::{Latchd, Mail, SmtpServer};

const START: Duration = Duration::from_secs(30);
const SOON: Duration = Duration::from_secs(5);

/// The sign-in mail of `window`'s pending flow, once it has arrived.
async fn mail_for(smtp: &SmtpServer, window: &Window) -> Mail {
    let flow = window.pending_flow().await;
    for count in 1.. {
        for raw in smtp.wait_for(count).await {
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

/// Signs `window` in as `email` by the typed code.
async fn sign_in_by_code(window: &Window, smtp: &SmtpServer, email: &str) {
    window.wait_state("signed-out", START).await;
    window.type_into("input[type=email]", email).await;
    window.click("Send link").await;
    window.wait_state("awaiting-link", SOON).await;
    window.click("Enter code instead").await;
    let code = mail_for(smtp, window)
        .await
        .code
        .replace('-', "")
        .to_lowercase();
    window
        .type_into("input[autocomplete=one-time-code]", &code)
        .await;
    window.click("Sign in").await;
    window.wait_state("signed-in", SOON).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn signs_in_by_the_emailed_link_opened_the_way_the_os_does() {
    if !enabled() {
        return;
    }
    let smtp = SmtpServer::start();
    let server = Latchd::start(&["--smtp-url", &smtp.url()]);
    let desktop = Desktop::start();
    let window = desktop.open_window("laptop", &server.base).await;
    window.wait_state("signed-out", START).await;
    window
        .type_into("input[type=email]", "ada@example.com")
        .await;
    window.click("Send link").await;
    window.wait_state("awaiting-link", SOON).await;
    window.wait_text("Check your email", SOON).await;

    let mail = mail_for(&smtp, &window).await;
    // The https link opens a page that offers the deep link; the OS then
    // starts Latch with it, and single-instance hands it to the window.
    let link = deep_link_from_page(&mail.link).await;
    assert!(link.starts_with("app.latch:/auth/callback?flow="), "{link}");
    window.deliver_link(&link);
    window.wait_state("signed-in", SOON).await;

    window.click("Active sessions").await;
    window.wait_text("Current", SOON).await;
    let log = std::fs::read_to_string(window.log.with_extension("err")).unwrap_or_default();
    assert!(!log.contains(&mail.code), "the code reached a log");
    window.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn signs_in_with_the_typed_code() {
    if !enabled() {
        return;
    }
    let smtp = SmtpServer::start();
    let server = Latchd::start(&["--smtp-url", &smtp.url()]);
    let desktop = Desktop::start();
    let window = desktop.open_window("Desktop", &server.base).await;
    sign_in_by_code(&window, &smtp, "grace@example.com").await;
    window.wait_text("grace@example.com", SOON).await;
    window.close().await;
}

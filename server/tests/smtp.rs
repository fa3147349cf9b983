//! Mail through a real SMTP server: Python's aiosmtpd (installed by
//! scripts/setup), writing what it receives to a Maildir the test reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use latch_testkit::{free_port, SmtpServer};
use reqwest::{Method, StatusCode};

/// (text, html) parts of a MIME message, decoded.
fn parts(raw: &[u8]) -> (mailparse::ParsedMail<'_>, String, String) {
    let parsed = mailparse::parse_mail(raw).unwrap();
    let mut text = String::new();
    let mut html = String::new();
    for part in parsed.subparts.iter().chain(std::iter::once(&parsed)) {
        match part.ctype.mimetype.as_str() {
            "text/plain" => text = part.get_body().unwrap(),
            "text/html" => html = part.get_body().unwrap(),
            _ => {}
        }
    }
    (parsed, text, html)
}

#[tokio::test]
async fn the_sign_in_mail_goes_out_over_smtp_with_a_working_link_and_code() {
    let smtp = SmtpServer::start();
    let server = Server::start_with(
        false,
        &[
            "--smtp-url",
            &smtp.url(),
            "--mail-from",
            "Latch <login@latch.test>",
        ],
        &[],
    );
    let pending = server.request_link("Ada@Example.com", "Work laptop").await;
    let raw = smtp.wait_for(1).await.remove(0);
    let (parsed, text, html) = parts(&raw);
    use mailparse::MailHeaderMap;
    assert_eq!(
        parsed.headers.get_first_value("To").as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(
        parsed.headers.get_first_value("From").as_deref(),
        Some("Latch <login@latch.test>")
    );
    assert_eq!(
        parsed.headers.get_first_value("Subject").as_deref(),
        Some("Your Latch sign-in link")
    );
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    let mail = Mail::parse(&text);
    assert_eq!(mail.flow_id, pending.flow_id);
    assert!(
        text.contains("Work laptop") && text.contains("Didn't ask for this? Ignore this email.")
    );
    assert!(html.contains(&mail.code) && html.contains("Work laptop"));
    assert!(
        html.contains(&mail.link.replace('&', "&amp;")),
        "the HTML carries the same absolute link"
    );

    // The link opens the page with the deep link, and the code signs in.
    let page = server.text(&mail.link).await;
    assert!(page.contains("app.latch:/auth/callback?flow="));
    let (status, body) = server
        .exchange(&mail.flow_id, &mail.code, &pending.verifier)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Without --dev there is no mailbox and no clock.
    let (status, _) = server
        .call(Method::GET, "/dev/mailbox.json", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_dev_and_smtp_the_mail_lands_in_both() {
    let smtp = SmtpServer::start();
    let server = Server::start_with(true, &["--smtp-url", &smtp.url()], &[]);
    server.request_link("ada@example.com", "Laptop").await;
    let in_mailbox = server.mail_for("ada@example.com").await;
    let (_, text, _) = parts(&smtp.wait_for(1).await[0]);
    assert_eq!(Mail::parse(&text).code, in_mailbox.code);
}

#[tokio::test]
async fn an_unreachable_smtp_server_still_answers_202_and_retries() {
    let port = free_port();
    let server = Server::start_with(
        false,
        &["--smtp-url", &format!("smtp://127.0.0.1:{port}")],
        &[],
    );
    let started = Instant::now();
    server.request_link("ada@example.com", "Laptop").await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the answer doesn't wait on delivery"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains("retrying") {
        assert!(
            Instant::now() < deadline,
            "no retry logged:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.log_text().contains("sign-in email failed"));
}

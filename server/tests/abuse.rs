//! What an attacker who knows only an address can do to its owner, against
//! a real latchd on loopback (issue 15, findings 1, 2 and 6): put their own
//! text into a genuine sign-in mail, keep her from signing in, flood her
//! inbox. Requesters are told apart by their source address: every address
//! in 127.0.0.0/8 reaches the server over loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::IpAddr;

use common::*;
use latch_testkit::call_at;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The owner's usual address; the tests' default client uses it too.
const HER_IP: &str = "127.0.0.1";
const VICTIM: &str = "victim@example.com";

/// A client whose requests come from `ip` (in 127.0.0.0/8).
fn requester(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// `POST /v1/auth/email-link` from `ip` for `email` with `device`: the
/// answer, and the pending flow when it was accepted.
async fn link_from(
    server: &Server,
    ip: &str,
    email: &str,
    device: Value,
) -> (StatusCode, HeaderMap, Value, Option<Pending>) {
    let verifier = new_verifier();
    let request = json!({"email": email, "code_challenge": challenge(&verifier),
                         "code_challenge_method": "S256", "device": device});
    let (status, headers, body) = call_at(
        &requester(ip),
        &server.base,
        Method::POST,
        "/v1/auth/email-link",
        None,
        Some(request),
    )
    .await;
    let pending = (status == StatusCode::ACCEPTED).then(|| Pending {
        flow_id: body["flow_id"].as_str().unwrap().to_owned(),
        verifier,
    });
    (status, headers, body, pending)
}

/// A link `ip` asked for and got.
async fn accepted_from(server: &Server, ip: &str, email: &str) -> Pending {
    let (status, _, body, pending) = link_from(server, ip, email, device("Laptop")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ip} for {email}: {body}");
    pending.unwrap()
}

/// The code the mail of `flow_id` carries.
async fn code_of(server: &Server, flow_id: &str) -> String {
    let mails = server.mailbox().await;
    mails
        .as_array()
        .unwrap()
        .iter()
        .map(|m| Mail::parse(m["text"].as_str().unwrap()))
        .find(|m| m.flow_id == flow_id)
        .unwrap_or_else(|| panic!("no mail for {flow_id}: {mails}"))
        .code
}

/// Exchanges `pending` with its own mailed code: the status and error code.
async fn exchange(server: &Server, pending: &Pending) -> (StatusCode, Value) {
    let code = code_of(server, &pending.flow_id).await;
    let (status, body) = server
        .exchange(&pending.flow_id, &code, &pending.verifier)
        .await;
    (status, body["error"].clone())
}

fn retry_after(headers: &HeaderMap) -> u64 {
    headers["retry-after"].to_str().unwrap().parse().unwrap()
}

// Finding 1: attacker text inside a genuine sign-in mail.

#[tokio::test]
async fn a_device_name_that_would_put_text_into_the_mail_is_refused() {
    let server = Server::start(&[]);
    let injected = [
        // Under 64 characters: v1 took it as it was.
        (
            "name",
            "Laptop\".\n\nLocked! Enter the code at https://evil.example",
        ),
        ("name", "Laptop\u{202E}moc.elpmaxe"),
        ("name", "Lap\u{200B}top"),
        ("name", "Laptop\tTab"),
        ("name", "Laptop\u{2028}Line"),
        ("os_version", "Debian\n12"),
        ("os_version", "\u{2066}Debian 12"),
        ("app_version", "0.1.0\r\nBcc: x@evil.example"),
        ("app_version", "\u{FEFF}0.1.0"),
    ];
    for (field, value) in injected {
        let mut body = device("Laptop");
        body[field] = json!(value);
        let (status, _, error, _) = link_from(&server, HER_IP, VICTIM, body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{field} {value:?}: {error}"
        );
        assert_eq!(error["error"], "invalid_request");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("device.{field} must")) && message.contains("U+"),
            "a message a person can act on: {message}"
        );
    }
    assert_eq!(server.mailbox().await, json!([]), "no mail went out");

    // Emoji sequences keep their joiners; runs of spaces collapse.
    let (status, _, body, _) =
        link_from(&server, HER_IP, VICTIM, device("👩\u{200D}💻   Laptop")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mails = server.mailbox().await;
    assert!(
        mails[0]["text"]
            .as_str()
            .unwrap()
            .contains("\"👩\u{200D}💻 Laptop\""),
        "{mails}"
    );
}

#[tokio::test]
async fn renames_follow_the_same_rule() {
    let server = Server::start(&[]);
    let ada = server.sign_in(ADA, "Work laptop").await;
    for name in [
        "Unknown device\n– terminate me",
        "\u{202E}potpal",
        "a\u{2060}b",
    ] {
        let (status, body) = server.rename_current(&ada.token, name).await;
        assert_refused(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("device_name must"));
        let (status, body) = server
            .patch("/v1/me", &ada.token, json!({"display_name": name}))
            .await;
        assert_refused(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("display_name must"));
    }
    let (status, body) = server.rename_current(&ada.token, "  Home   PC ").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["device"]["name"], "Home PC");
    let (_, me) = server.get("/v1/me", &ada.token).await;
    assert_eq!(
        me["display_name"], "ada",
        "the refused renames changed nothing"
    );
}

#[tokio::test]
async fn the_mail_calls_the_name_a_claim_and_shows_what_the_server_saw() {
    let server = Server::start(&[]);
    server.request_link(VICTIM, "Ada's laptop").await;
    let mails = server.mailbox().await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for part in ["text", "html"] {
        let text = mails[0][part].as_str().unwrap();
        assert!(text.contains("a device that calls itself"), "{text}");
        assert!(text.contains("from 127.0.0.1 at "), "{text}");
        assert!(text.contains(&today) && text.contains(" UTC"), "{text}");
        assert!(
            text.contains("Only enter this code in the Latch window where you asked for it \u{2014} never on a web page, and never give it to anyone."),
            "{text}"
        );
        assert!(!text.contains("Nobody can sign in with it without that device"));
    }
}

#[tokio::test]
async fn names_stored_before_the_rule_stay() {
    let mut server = Server::start(&[]);
    let ada = server.sign_in(ADA, "Work laptop").await;
    server.kill();
    let old = "Old\u{202E}name\nsecond line";
    {
        let db = rusqlite::Connection::open(server.database()).unwrap();
        db.execute(
            "UPDATE sessions SET device_name = ?1 WHERE id = ?2",
            [old, ada.session_id.as_str()],
        )
        .unwrap();
    }
    server.restart();
    // The old process's pooled connections died with it.
    server.http = reqwest::Client::new();
    let (status, list) = server.get("/v1/sessions", &ada.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["sessions"][0]["device"]["name"], old);
    let (status, _) = server.heartbeat(&ada.token, "active").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

// Finding 2: anyone can keep a chosen person from signing in.

#[tokio::test]
async fn a_strangers_requests_neither_end_her_flow_nor_spend_her_budget() {
    // The default limits: 60 s apart, 5 an hour per requester and address.
    let server = Server::start(&["--email-link-interval", "60s", "--email-link-per-hour", "5"]);
    let hers = accepted_from(&server, HER_IP, VICTIM).await;
    for i in 0..5 {
        if i > 0 {
            server.advance_clock("61s").await;
        }
        accepted_from(&server, "127.0.0.66", VICTIM).await;
    }
    server.advance_clock("61s").await;
    let (status, _, _, _) = link_from(&server, "127.0.0.66", VICTIM, device("x")).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the stranger spent their own budget"
    );
    // Her own link still works, five minutes and six strangers' requests later.
    assert_eq!(
        exchange(&server, &hers).await,
        (StatusCode::OK, Value::Null)
    );
    // And she may ask again: her budget is her own.
    let again = accepted_from(&server, HER_IP, VICTIM).await;
    assert_eq!(exchange(&server, &again).await.0, StatusCode::OK);
}

#[tokio::test]
async fn three_flows_stay_valid_and_the_oldest_goes_first() {
    let server = Server::start(&[]);
    let first = accepted_from(&server, "127.0.0.11", VICTIM).await;
    let second = accepted_from(&server, "127.0.0.12", VICTIM).await;
    let third = accepted_from(&server, "127.0.0.13", VICTIM).await;
    let again = accepted_from(&server, "127.0.0.13", VICTIM).await;
    // The same requester's newer flow superseded its own older one only.
    assert_eq!(
        exchange(&server, &third).await,
        (StatusCode::BAD_REQUEST, json!("flow_expired"))
    );
    let fourth = accepted_from(&server, "127.0.0.14", VICTIM).await;
    // Four open at once is one too many: the oldest went.
    assert_eq!(
        exchange(&server, &first).await,
        (StatusCode::BAD_REQUEST, json!("flow_expired"))
    );
    for pending in [&second, &again, &fourth] {
        assert_eq!(exchange(&server, pending).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_total_cap_spans_requesters_but_her_own_addresses_keep_a_budget() {
    let server = Server::start(&["--email-link-per-hour-total", "3"]);
    // She signed in from her usual address a while ago.
    let hers = server.sign_in(VICTIM, "Ada's laptop").await;
    server.advance_clock("2h").await;
    for ip in ["127.0.0.21", "127.0.0.22", "127.0.0.23"] {
        accepted_from(&server, ip, VICTIM).await;
    }
    let waiting = accepted_from(&server, "127.0.0.24", "someone@example.com").await;
    let (status, headers, body, _) = link_from(&server, "127.0.0.24", VICTIM, device("x")).await;
    assert_refused(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!((3500..=3600).contains(&retry_after(&headers)));
    // The refusal ended nobody's flow.
    assert_eq!(exchange(&server, &waiting).await.0, StatusCode::OK);
    // Her address held one of the account's sessions: it has its own budget.
    let mine = accepted_from(&server, HER_IP, VICTIM).await;
    let code = code_of(&server, &mine.flow_id).await;
    let mine = mine.finish(&server, &code).await;
    // A session logged out still vouches for its address for 30 days.
    for token in [&hers.token, &mine.token] {
        let (status, _) = server.delete("/v1/sessions/current", token).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    server.advance_clock("10m").await;
    accepted_from(&server, HER_IP, VICTIM).await;
    let (status, _, _, _) = link_from(&server, "127.0.0.25", VICTIM, device("x")).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "strangers are still capped"
    );
}

#[tokio::test]
async fn a_refused_request_ends_no_open_flow() {
    let server = Server::start(&["--email-link-interval", "60s"]);
    let first = accepted_from(&server, "127.0.0.31", VICTIM).await;
    let (status, _, _, _) = link_from(&server, "127.0.0.31", VICTIM, device("x")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(exchange(&server, &first).await.0, StatusCode::OK);
}

// Finding 6: inbox flooding.

#[tokio::test]
async fn plus_addressed_variants_share_one_inbox_budget() {
    let server = Server::start(&["--email-link-interval", "60s", "--email-link-per-hour", "5"]);
    accepted_from(&server, "127.0.0.41", "victim+1@example.com").await;
    let (status, headers, body, _) =
        link_from(&server, "127.0.0.41", "victim+2@example.com", device("x")).await;
    assert_refused(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!((1..=60).contains(&retry_after(&headers)));
    let (status, _, _, _) =
        link_from(&server, "127.0.0.41", "VICTIM@example.com", device("x")).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the bare address too"
    );
    // Identity is unchanged: the mail went to the address as typed, and
    // signs in to that account.
    server.advance_clock("61s").await;
    let pending = accepted_from(&server, "127.0.0.41", "victim+2@example.com").await;
    let mails = server.mailbox().await;
    assert_eq!(mails[0]["to"], "victim+2@example.com");
    let code = code_of(&server, &pending.flow_id).await;
    let signed = pending.finish(&server, &code).await;
    let (_, me) = server.get("/v1/me", &signed.token).await;
    assert_eq!(me["email"], "victim+2@example.com");
}

#[tokio::test]
async fn one_requester_sends_a_domain_at_most_so_many_mails_an_hour() {
    let server = Server::start(&["--mail-per-domain-per-hour", "3"]);
    for i in 0..3 {
        accepted_from(&server, "127.0.0.51", &format!("user{i}@mail.example")).await;
    }
    let (status, headers, body, _) =
        link_from(&server, "127.0.0.51", "user9@mail.example", device("x")).await;
    assert_refused(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!((3500..=3600).contains(&retry_after(&headers)));
    // Per requester and domain: another domain, or another requester, is not held up.
    accepted_from(&server, "127.0.0.51", "user9@other.example").await;
    accepted_from(&server, "127.0.0.52", "user9@mail.example").await;
    server.advance_clock("61m").await;
    accepted_from(&server, "127.0.0.51", "user9@mail.example").await;
}

#[tokio::test]
async fn the_mail_per_hour_guard_caps_every_mail_and_says_so_in_the_log() {
    let server = Server::start(&["--mail-per-hour", "2"]);
    accepted_from(&server, "127.0.0.61", "a@one.example").await;
    accepted_from(&server, "127.0.0.62", "b@two.example").await;
    let (status, _, body, _) =
        link_from(&server, "127.0.0.63", "c@three.example", device("x")).await;
    assert_refused(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let log = server.log_text();
    assert!(log.contains("--mail-per-hour reached"), "{log}");
    server.advance_clock("61m").await;
    accepted_from(&server, "127.0.0.63", "c@three.example").await;
}

#[tokio::test]
async fn zero_turns_each_new_limit_off() {
    let server = Server::start(&[
        "--email-link-per-hour-total",
        "0",
        "--mail-per-domain-per-hour",
        "0",
        "--mail-per-hour",
        "0",
    ]);
    for i in 0..30 {
        accepted_from(&server, HER_IP, &format!("victim+{i}@example.com")).await;
    }
}

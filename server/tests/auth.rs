//! Signing in against a real latchd: `/v1/server`, `/v1/auth/email-link`,
//! `/auth/open`, `/v1/auth/token` — each happy path, each error row, the
//! races and the limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn server_info_answers_version_and_lifetimes() {
    let server = Server::start(&["--idle-timeout", "2h", "--absolute-lifetime", "3d"]);
    let (status, body) = server.call(Method::GET, "/v1/server", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"version": env!("CARGO_PKG_VERSION"), "idle_timeout_s": 7200, "absolute_lifetime_s": 259_200})
    );
}

#[tokio::test]
async fn email_link_starts_a_flow_and_sends_the_mail() {
    let server = Server::start(&["--email-link-interval", "60s"]);
    let before = Utc::now();
    let (status, body) = server.email_link(" Ada@Example.COM ", "Work laptop").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let keys = keys_of(&body);
    assert_eq!(
        keys,
        BTreeSet::from(["flow_id", "expires_at", "resend_after"])
    );
    let expires = time(&body["expires_at"]) - before;
    assert!((599..=601).contains(&expires.num_seconds()), "{expires}");
    let resend = time(&body["resend_after"]) - before;
    assert!((59..=61).contains(&resend.num_seconds()), "{resend}");

    let mails = server.mailbox().await;
    let mail = &mails[0];
    assert_eq!(mail["to"], "ada@example.com", "the address is normalised");
    let text = mail["text"].as_str().unwrap();
    let parsed = Mail::parse(text);
    assert_eq!(parsed.flow_id, body["flow_id"]);
    assert!(parsed
        .link
        .starts_with(&format!("{}/auth/open?flow=", server.base)));
    assert!(regex_like_code(&parsed.code), "{}", parsed.code);
    assert!(text.contains("Work laptop") && text.contains("(Linux)"));
    assert!(text.contains("Didn't ask for this? Ignore this email."));
    let html = mail["html"].as_str().unwrap();
    assert!(
        html.contains(&parsed.code)
            && html.contains("Work laptop")
            && html.contains("/auth/open?flow=")
    );
    let page: String = server.text(server.url("/dev/mailbox")).await;
    assert!(page.contains("Dev mailbox") && page.contains(&parsed.code));
}

fn regex_like_code(code: &str) -> bool {
    let (a, b) = code.split_once('-').unwrap_or(("", ""));
    a.len() == 4
        && b.len() == 4
        && code
            .chars()
            .all(|c| c == '-' || latch_protocol::CODE_ALPHABET.contains(c))
}

#[tokio::test]
async fn email_link_refuses_malformed_requests_and_changes_nothing() {
    let server = Server::start(&[]);
    let good = link_request("ada@example.com", "Laptop", &challenge(&new_verifier()));
    let with = |pointer: &str, value: Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let cases: Vec<(&str, Value)> = vec![
        ("not an email", with("/email", json!("ada"))),
        (
            "email over 254",
            with(
                "/email",
                json!(format!("{}@{}.com", "a".repeat(64), "b".repeat(190))),
            ),
        ),
        (
            "plain method",
            with("/code_challenge_method", json!("plain")),
        ),
        ("short challenge", with("/code_challenge", json!("abc"))),
        (
            "challenge not base64url",
            with("/code_challenge", json!("!".repeat(43))),
        ),
        ("unknown platform", with("/device/platform", json!("beos"))),
        ("unknown app", with("/device/app", json!("cli"))),
        ("empty name", with("/device/name", json!("   "))),
        (
            "65-character name",
            with("/device/name", json!("x".repeat(65))),
        ),
        ("empty os_version", with("/device/os_version", json!(""))),
        (
            "65-character app_version",
            with("/device/app_version", json!("1".repeat(65))),
        ),
        ("no device", without("device")),
        ("no email", without("email")),
        ("email not a string", with("/email", json!(42))),
        ("not an object", json!([1, 2])),
    ];
    for (what, body) in cases {
        let (status, answer) = server
            .call(Method::POST, "/v1/auth/email-link", None, Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{what}");
        assert!(!answer["message"].as_str().unwrap().is_empty(), "{what}");
    }
    let raw = |content_type: Option<&str>, body: String| {
        let mut request = server
            .http
            .post(server.url("/v1/auth/email-link"))
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send()
    };
    for (what, ct, body) in [
        (
            "not JSON",
            Some("application/json"),
            "{\"email\":".to_owned(),
        ),
        ("text/plain", Some("text/plain"), good.to_string()),
        ("no content type", None, good.to_string()),
    ] {
        let response = raw(ct, body).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_request",
            "{what}"
        );
    }
    let big = with("/device/os_version", json!("x".repeat(17 * 1024)));
    let response = raw(Some("application/json"), big.to_string())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let mails = server.mailbox().await;
    assert_eq!(mails, json!([]), "no refused request sent mail");
}

#[tokio::test]
async fn emails_differing_in_case_are_one_account() {
    let server = Server::start(&[]);
    let a = server.sign_in("Alice@X.com", "One").await;
    let b = server.sign_in("alice@x.com", "Two").await;
    assert_eq!(a.account_id, b.account_id);
    let (_, me) = server.get("/v1/me", &a.token).await;
    assert_eq!(me["email"], "alice@x.com");
    let (_, list) = server.get("/v1/sessions", &a.token).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn asvs_6_3_1_per_email_interval_answers_429_with_retry_after() {
    let server = Server::start(&["--email-link-interval", "60s", "--email-link-per-hour", "0"]);
    server.request_link("ada@example.com", "Laptop").await;
    let (status, headers, body) = server.email_link_full("ADA@example.com", "Laptop").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "rate_limited");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another address is not limited by this one.
    server.request_link("bob@example.com", "Laptop").await;
    server.advance_clock("61s").await;
    server.request_link("ada@example.com", "Laptop").await;
}

#[tokio::test]
async fn asvs_6_3_1_per_email_hourly_cap_counts_only_sent_links() {
    let server = Server::start(&["--email-link-interval", "0", "--email-link-per-hour", "2"]);
    server.request_link("ada@example.com", "Laptop").await;
    server.advance_clock("10m").await;
    server.request_link("ada@example.com", "Laptop").await;
    for _ in 0..3 {
        let (status, headers, _) = server.email_link_full("ada@example.com", "L").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(
            (2990..=3000).contains(&retry),
            "the first link leaves the hour in ~50 min: {retry}"
        );
    }
    // The refusals didn't count: once the first link is an hour old, one more goes.
    server.advance_clock("51m").await;
    server.request_link("ada@example.com", "Laptop").await;
}

#[tokio::test]
async fn asvs_6_3_1_per_ip_limit_covers_the_auth_calls() {
    let server = Server::start(&["--auth-requests-per-minute", "3"]);
    server.request_link("a@example.com", "L").await;
    server.request_link("b@example.com", "L").await;
    let (status, _) = server
        .exchange("flw_nope", "ABCD-EFGH", &new_verifier())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, headers, body) = server
        .call_full(Method::POST, "/v1/auth/token", None, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "rate_limited");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Other routes are not limited.
    let (status, _) = server.call(Method::GET, "/v1/server", None, None).await;
    assert_eq!(status, StatusCode::OK);
    server.advance_clock("60s").await;
    server.request_link("c@example.com", "L").await;
}

#[tokio::test]
async fn the_code_works_in_any_case_with_or_without_the_hyphen() {
    let server = Server::start(&[]);
    for (i, form) in ["as-is", "lower", "compact", "compact-lower"]
        .into_iter()
        .enumerate()
    {
        let email = format!("user{i}@example.com");
        let pending = server.request_link(&email, "Laptop").await;
        let code = server.mail_for(&email).await.code;
        let typed = match form {
            "as-is" => code,
            "lower" => code.to_lowercase(),
            "compact" => code.replace('-', ""),
            _ => code.replace('-', "").to_lowercase(),
        };
        let (status, body) = server
            .exchange(&pending.flow_id, &typed, &pending.verifier)
            .await;
        assert_eq!(status, StatusCode::OK, "{form}: {body}");
        assert_eq!(body["session"]["current"], true);
        assert_eq!(body["session"]["device"]["name"], "Laptop");
        assert_eq!(body["account"]["email"], email);
        assert_eq!(body["account"]["display_name"], format!("user{i}"));
        assert_eq!(body["account"]["initials"], "U");
        assert!(
            body["session_token"].as_str().unwrap().len() >= 22,
            "≥ 128 bits"
        );
    }
}

/// One fresh flow: (pending, its code).
async fn flow(server: &Server, email: &str) -> (Pending, String) {
    let pending = server.request_link(email, "Laptop").await;
    let code = server.mail_for(email).await.code;
    (pending, code)
}

async fn expect(server: &Server, flow_id: &str, code: &str, verifier: &str, error: &str) {
    let (status, body) = server.exchange(flow_id, code, verifier).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap_or("")),
        (StatusCode::BAD_REQUEST, error),
        "{body}"
    );
}

/// Exchanges the right code with a fresh wrong verifier: `verifier_mismatch`.
async fn mismatch(server: &Server, flow_id: &str, code: &str) {
    expect(server, flow_id, code, &new_verifier(), "verifier_mismatch").await;
}

#[tokio::test]
async fn exchange_errors_follow_the_contract_and_its_order() {
    let server = Server::start(&[]);
    let wrong = |code: &str| {
        if code.starts_with('A') {
            "BBBB-BBBB".to_owned()
        } else {
            "AAAA-AAAA".to_owned()
        }
    };

    // Unknown flow, wrong code, a character outside the alphabet.
    let (p, code) = flow(&server, "a@example.com").await;
    let bad = wrong(&code);
    expect(&server, "flw_unknown", &code, &p.verifier, "invalid_code").await;
    expect(&server, &p.flow_id, &bad, &p.verifier, "invalid_code").await;
    expect(
        &server,
        &p.flow_id,
        "ABCD-EFG0",
        &p.verifier,
        "invalid_code",
    )
    .await;
    // Code is checked before the verifier.
    expect(&server, &p.flow_id, &bad, &new_verifier(), "invalid_code").await;
    mismatch(&server, &p.flow_id, &code).await;
    // Four failures so far: the right pair still works.
    let (status, _) = server.exchange(&p.flow_id, &code, &p.verifier).await;
    assert_eq!(status, StatusCode::OK);
    // Used: a second exchange, even with a wrong code, says used.
    expect(&server, &p.flow_id, &code, &p.verifier, "flow_used").await;
    expect(&server, &p.flow_id, &bad, &p.verifier, "flow_used").await;

    // Locked after five failed tries, even with the right pair.
    let (p, code) = flow(&server, "b@example.com").await;
    let bad = wrong(&code);
    for _ in 0..3 {
        expect(&server, &p.flow_id, &bad, &p.verifier, "invalid_code").await;
    }
    for _ in 0..2 {
        mismatch(&server, &p.flow_id, &code).await;
    }
    expect(&server, &p.flow_id, &code, &p.verifier, "flow_locked").await;

    // Superseded by a newer flow for the same email.
    let (old, old_code) = flow(&server, "c@example.com").await;
    let (new, new_code) = flow(&server, "c@example.com").await;
    expect(
        &server,
        &old.flow_id,
        &old_code,
        &old.verifier,
        "flow_expired",
    )
    .await;
    let (status, _) = server
        .exchange(&new.flow_id, &new_code, &new.verifier)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Malformed exchange bodies.
    for body in [
        json!({}),
        json!({"flow_id": "x", "code": 5, "code_verifier": "v"}),
    ] {
        let (status, answer) = server
            .call(Method::POST, "/v1/auth/token", None, Some(body))
            .await;
        assert_refused(status, &answer, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn asvs_6_5_5_flows_expire_after_ten_minutes_and_the_order_holds_past_expiry() {
    let server = Server::start(&[]);
    let (fresh, fresh_code) = flow(&server, "fresh@example.com").await;
    let (expiring, expiring_code) = flow(&server, "expiring@example.com").await;
    let (used, used_code) = flow(&server, "used@example.com").await;
    let (locked, locked_code) = flow(&server, "locked@example.com").await;
    let (status, _) = server
        .exchange(&used.flow_id, &used_code, &used.verifier)
        .await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..5 {
        expect(
            &server,
            &locked.flow_id,
            "2222-2222",
            &locked.verifier,
            "invalid_code",
        )
        .await;
    }
    let _ = locked_code;

    server.advance_clock("9m").await;
    let (status, _) = server
        .exchange(&fresh.flow_id, &fresh_code, &fresh.verifier)
        .await;
    assert_eq!(status, StatusCode::OK, "still valid at 9 minutes");

    server.advance_clock("1m").await;
    // expired beats a wrong code; used and locked beat expired.
    expect(
        &server,
        &expiring.flow_id,
        "2222-2222",
        &expiring.verifier,
        "flow_expired",
    )
    .await;
    expect(
        &server,
        &expiring.flow_id,
        &expiring_code,
        &expiring.verifier,
        "flow_expired",
    )
    .await;
    expect(
        &server,
        &used.flow_id,
        &used_code,
        &used.verifier,
        "flow_used",
    )
    .await;
    expect(
        &server,
        &locked.flow_id,
        "2222-2222",
        &locked.verifier,
        "flow_locked",
    )
    .await;
}

#[tokio::test]
async fn asvs_6_5_1_twenty_racing_exchanges_make_exactly_one_session() {
    let server = Server::start(&[]);
    let (p, code) = flow(&server, "race@example.com").await;
    let tries = (0..20).map(|_| server.exchange(&p.flow_id, &code, &p.verifier));
    let answers = futures::future::join_all(tries).await;
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(ok.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(
            (*status, body["error"].as_str().unwrap()),
            (StatusCode::BAD_REQUEST, "flow_used")
        );
    }
    let (_, list) = server
        .get("/v1/sessions", ok[0]["session_token"].as_str().unwrap())
        .await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn asvs_6_6_3_fifty_racing_wrong_codes_lock_the_flow_after_five() {
    let server = Server::start(&[]);
    let (p, code) = flow(&server, "lock@example.com").await;
    let wrong = if code.starts_with('2') {
        "3333-3333"
    } else {
        "2222-2222"
    };
    let tries = (0..50).map(|_| server.exchange(&p.flow_id, wrong, &p.verifier));
    let answers = futures::future::join_all(tries).await;
    let count = |error: &str| answers.iter().filter(|(_, b)| b["error"] == error).count();
    assert_eq!(
        (count("invalid_code"), count("flow_locked")),
        (5, 45),
        "{answers:?}"
    );
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::BAD_REQUEST));
    expect(&server, &p.flow_id, &code, &p.verifier, "flow_locked").await;
}

#[tokio::test]
async fn the_open_page_offers_the_deep_link_and_burns_nothing() {
    let server = Server::start(&[]);
    let (p, _) = flow(&server, "open@example.com").await;
    let mail = server.mail_for("open@example.com").await;
    for _ in 0..3 {
        let response = server.http.get(&mail.link).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(headers["referrer-policy"], "no-referrer");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let page = response.text().await.unwrap();
        let deep_link = format!(
            "app.latch:/auth/callback?flow={}&amp;code={}",
            mail.flow_id, mail.code
        );
        assert!(page.contains(&deep_link), "{page}");
        assert!(
            page.contains("Open Latch")
                && page.contains(&mail.code)
                && page.contains("Nothing happens?")
        );
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no external assets"
        );
    }
    let head = server.http.head(&mail.link).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());
    // Scanners and reloads burnt nothing: the code still signs in.
    let (status, _) = server.exchange(&p.flow_id, &mail.code, &p.verifier).await;
    assert_eq!(status, StatusCode::OK);

    for query in [
        "",
        "?flow=flw_x",
        "?code=ABCD-EFGH",
        "?flow=flw_x&code=nope",
        "?flow=a%20b&code=ABCD-EFGH",
    ] {
        let (status, body) = server
            .call(Method::GET, &format!("/auth/open{query}"), None, None)
            .await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_request")),
            "{query}"
        );
    }
}

//! latchd as a program: flags and env vars, refusing to start with a reason,
//! `latchd seed`, the OpenAPI description, and a graceful stop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn latchd(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchd"));
    command
        .args(args)
        .env("LATCHD_DATABASE", dir.path().join("db.sqlite3"));
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

#[test]
fn refuses_to_start_without_a_way_to_send_mail_and_says_why() {
    let out = latchd(&["--listen", "127.0.0.1:0"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--smtp-url") && stderr.contains("--dev"),
        "{stderr}"
    );
}

#[test]
fn dev_refuses_a_listen_address_that_is_not_loopback() {
    let out = latchd(&["--dev", "--listen", "0.0.0.0:0"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    let out = latchd(&["--listen", "0.0.0.0:0"], &[("LATCHD_DEV", "1")]);
    assert!(!out.status.success(), "LATCHD_DEV=1 is --dev");
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn bad_durations_are_refused_with_the_expected_form() {
    for (flag, value) in [
        ("--idle-timeout", "0s"),
        ("--absolute-lifetime", "0"),
        ("--email-link-interval", "60"),
        ("--idle-timeout", "2w"),
    ] {
        let out = latchd(&["--dev", flag, value], &[]);
        assert!(!out.status.success(), "{flag} {value}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{flag} {value}"
        );
    }
}

#[tokio::test]
async fn every_flag_is_also_an_env_var() {
    let server = Server::start_with(
        false,
        &[],
        &[
            ("LATCHD_DEV", "true"),
            ("LATCHD_IDLE_TIMEOUT", "2h"),
            ("LATCHD_ABSOLUTE_LIFETIME", "1d"),
            // --dev takes only a loopback public URL.
            ("LATCHD_PUBLIC_URL", "http://127.0.0.2:9/"),
            ("LATCHD_EMAIL_LINK_INTERVAL", "30s"),
        ],
    );
    let (_, info) = server.call(Method::GET, "/v1/server", None, None).await;
    assert_eq!(
        (
            info["idle_timeout_s"].as_u64(),
            info["absolute_lifetime_s"].as_u64()
        ),
        (Some(7200), Some(86_400))
    );
    server.request_link("ada@example.com", "L").await;
    let mail = server.mail_for("ada@example.com").await;
    assert!(
        mail.link.starts_with("http://127.0.0.2:9/auth/open?flow="),
        "{}",
        mail.link
    );
    let (status, _) = server.email_link("ada@example.com", "L").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "LATCHD_EMAIL_LINK_INTERVAL took effect"
    );
}

#[tokio::test]
async fn seed_prints_one_line_per_device_and_the_tokens_work() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("seed.sqlite3");
    let out = seed(&database, "Demo@Example.com", "8");
    let lines = seeded_lines(out);
    assert_eq!(lines.len(), 8);
    for line in &lines {
        let keys: Vec<&str> = keys_of(line).into_iter().collect();
        assert_eq!(keys, ["device_name", "session_id", "session_token"]);
    }
    let server = Server::start(&["--database", database.to_str().unwrap()]);
    let (status, list) = server
        .get("/v1/sessions", lines[3]["session_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 8);
    assert_eq!(sessions[0]["id"], lines[3]["session_id"]);
    assert_eq!(sessions[0]["device"]["name"], lines[3]["device_name"]);
    let (_, me) = server
        .get("/v1/me", lines[0]["session_token"].as_str().unwrap())
        .await;
    assert_eq!(me["email"], "demo@example.com");

    let out = seed(&database, "not-an-email", "1");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"));
}

#[tokio::test]
async fn the_openapi_description_covers_every_call_with_its_errors() {
    let server = Server::start(&[]);
    let (status, doc) = server
        .call(Method::GET, "/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let expected = [
        ("/v1/server", "get"),
        ("/v1/auth/email-link", "post"),
        ("/auth/open", "get"),
        ("/v1/auth/token", "post"),
        ("/v1/me", "get"),
        ("/v1/me", "patch"),
        ("/v1/sessions", "get"),
        ("/v1/sessions/current/heartbeat", "post"),
        ("/v1/sessions/{id}", "patch"),
        ("/v1/sessions/{id}", "delete"),
        ("/v1/sessions/revoke-others", "post"),
        ("/v1/sessions/revoke-all", "post"),
        ("/v1/events", "get"),
        ("/v1/openapi.json", "get"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 12, "{:?}", paths.keys().collect::<Vec<_>>());
    assert!(paths.keys().all(|p| !p.starts_with("/dev")));
    for (path, method) in expected {
        let op = &doc["paths"][path][method];
        let statuses: Vec<&String> = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"))
            .keys()
            .collect();
        assert!(
            statuses.iter().any(|s| s.starts_with('2')),
            "{method} {path}: {statuses:?}"
        );
        if path != "/v1/server" && path != "/v1/openapi.json" {
            assert!(
                statuses.iter().any(|s| s.starts_with('4')),
                "{method} {path} documents its errors: {statuses:?}"
            );
        }
    }
    for schema in [
        "Session",
        "Account",
        "ErrorBody",
        "ErrorCode",
        "RevocationReason",
        "Device",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // Found by scripts/contract: the generated ErrorBody was
    // `allOf: [oneOf: [null, Revocation], …]`, which no plain error body
    // matched. A flat object: error and message always, the revocation's
    // members optional beside them.
    let error_body = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error_body["type"], "object", "{error_body}");
    assert_eq!(error_body["required"], json!(["error", "message"]));
    for member in ["error", "message", "reason", "by_device", "at"] {
        assert!(error_body["properties"][member].is_object(), "{member}");
    }
    assert!(error_body.get("allOf").is_none() && error_body.get("oneOf").is_none());
    // And /auth/open says what a flow and a code look like, so a generator
    // doesn't take an empty code for a valid one.
    let params = doc["paths"]["/auth/open"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(
        params.iter().all(|p| p["schema"]["pattern"].is_string()),
        "{params:?}"
    );
}

#[tokio::test]
async fn sigterm_closes_streams_and_stops_cleanly() {
    let mut server = Server::start(&[]);
    let a = server.sign_in("ada@example.com", "A").await;
    let mut stream = EventStream::open(&server, &a.token, None).await.unwrap();
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.log_text());
    assert!(stream.closes_within(Duration::from_secs(2)).await);
    assert!(server.log_text().contains("shutting down"));
}

/// A supervisor may signal as soon as it reads the "listening" line: the
/// handlers are in place by then (before, they were installed only when
/// serving began, a moment later, and SIGTERM in between killed latchd
/// without its goodbye). Each start is signalled at once, so the window is
/// hit when it exists.
#[tokio::test]
async fn sigterm_right_after_the_listening_line_still_stops_cleanly() {
    for _ in 0..10 {
        let mut server = Server::start(&[]);
        let status = server.terminate();
        assert!(status.success(), "{status:?}\n{}", server.log_text());
        assert!(server.log_text().contains("shutting down"));
    }
}

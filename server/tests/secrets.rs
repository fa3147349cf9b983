//! SECURITY.md: no token, code or verifier reaches latchd's log (at trace
//! level, hyper and tower_http included) or its database files, in any form.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn no_secret_reaches_the_log_or_the_database() {
    let server = Server::start_with(
        true,
        &[],
        &[("RUST_LOG", "trace,hyper=trace,tower_http=trace,h2=trace")],
    );
    let mut secrets: Vec<(String, &str)> = Vec::new();

    // Sign in twice by link page + code, once more by a lower-case code.
    let mut tokens = Vec::new();
    for (i, device) in ["Laptop", "Phone", "Tablet"].into_iter().enumerate() {
        let pending = server.request_link("ada@example.com", device).await;
        let mail = server.mail_for("ada@example.com").await;
        let page = server.http.get(&mail.link).send().await.unwrap();
        assert!(page.status().is_success());
        // A wrong try and a wrong verifier first, so refusals are logged too.
        server
            .exchange(&pending.flow_id, "2222-2222", &pending.verifier)
            .await;
        server
            .exchange(&pending.flow_id, &mail.code, &new_verifier())
            .await;
        let typed = if i == 2 {
            mail.code.to_lowercase().replace('-', "")
        } else {
            mail.code.clone()
        };
        let (status, body) = server
            .exchange(&pending.flow_id, &typed, &pending.verifier)
            .await;
        assert!(status.is_success(), "{body}");
        let token = body["session_token"].as_str().unwrap().to_owned();
        secrets.push((mail.code.clone(), "code"));
        secrets.push((pending.verifier.clone(), "verifier"));
        secrets.push((token.clone(), "session token"));
        tokens.push(token);
    }
    let mut stream = EventStream::open(&server, &tokens[1], None).await.unwrap();
    server.get("/v1/sessions", &tokens[0]).await;
    server
        .patch("/v1/me", &tokens[0], json!({"display_name": "Ada"}))
        .await;
    server.heartbeat(&tokens[0], "idle").await;
    server.post("/v1/sessions/revoke-others", &tokens[0]).await;
    assert_eq!(
        stream
            .next_named("session.revoked", std::time::Duration::from_secs(1))
            .await
            .unwrap()
            .event,
        "session.revoked"
    );
    server.get("/v1/me", &tokens[1]).await; // a revoked token, refused
    server.delete("/v1/sessions/current", &tokens[0]).await;
    server.get("/v1/me", "lt1_an-unknown-token").await;
    // A request with the code in a query string the server can't use.
    server
        .call(
            Method::GET,
            &format!("/nope?code={}", secrets[0].0),
            None,
            None,
        )
        .await;

    let log = std::fs::read(&server.log).unwrap();
    assert!(
        log.len() > 10_000 && String::from_utf8_lossy(&log).contains("TRACE"),
        "trace logging was on"
    );
    assert!(
        String::from_utf8_lossy(&log).contains("signed in"),
        "sign-ins are logged"
    );
    assert_absent(&log, "the trace log", &secrets);
    let mut db_files = 0;
    for entry in std::fs::read_dir(server.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("latchd.sqlite3")
            // Files only: the admin socket is named after the database too.
            && path.is_file()
        {
            db_files += 1;
            assert_absent(
                &std::fs::read(&path).unwrap(),
                &path.display().to_string(),
                &secrets,
            );
        }
    }
    assert!(db_files >= 2, "the database and its WAL were scanned");
}

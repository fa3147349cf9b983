//! The account and its sessions against a real latchd: `/v1/me`, the list,
//! heartbeat, rename, the four ways out, the cap, and expiry by clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use chrono::{DateTime, Duration as Span, Utc};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

/// The ids of `sessions`, in that order.
fn session_ids(sessions: &[&Signed]) -> Vec<String> {
    sessions.iter().map(|s| s.session_id.clone()).collect()
}

fn ids(list: &Value) -> Vec<String> {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn find(server: &Server, token: &str, id: &str) -> Value {
    let (status, list) = server.get("/v1/sessions", token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn me_answers_and_renames_the_account() {
    let server = Server::start(&[]);
    let a = server.sign_in("ada.lovelace@example.com", "Laptop").await;
    let (status, me) = server.get("/v1/me", &a.token).await;
    assert_eq!(status, StatusCode::OK);
    let keys = keys_of(&me);
    assert_eq!(
        keys,
        BTreeSet::from(["id", "email", "display_name", "initials", "created_at"])
    );
    assert_eq!(
        (me["display_name"].as_str(), me["initials"].as_str()),
        (Some("ada.lovelace"), Some("AL"))
    );

    let rename = |name: Value| server.patch("/v1/me", &a.token, json!({"display_name": name}));
    let (status, renamed) = rename(json!("  Grace Hopper ")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            renamed["display_name"].as_str(),
            renamed["initials"].as_str()
        ),
        (Some("Grace Hopper"), Some("GH"))
    );
    assert_eq!(server.get("/v1/me", &a.token).await.1, renamed);
    for bad in [json!(""), json!("   "), json!("x".repeat(65)), json!(7)] {
        let (status, body) = rename(bad.clone()).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_request")),
            "{bad}"
        );
    }
    let (status, _) = rename(json!("é".repeat(64))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "64 characters is the limit, not 64 bytes"
    );

    for token in [None, Some("lt1_not-a-token")] {
        let (status, body) = server.call(Method::GET, "/v1/me", token, None).await;
        assert_refused(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let response = server
        .http
        .get(server.url("/v1/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_list_puts_current_first_then_most_recently_active() {
    let server = Server::start(&["--idle-timeout", "14d", "--absolute-lifetime", "30d"]);
    let [a, b, c] = server.sign_in_each(ADA, ["A", "B", "C"]).await;
    server.advance_clock("1m").await;
    let (status, _) = server.heartbeat(&b.token, "active").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = server.get("/v1/sessions", &a.token).await;
    assert_eq!(ids(&list), session_ids(&[&a, &b, &c]));
    let (_, list) = server.get("/v1/sessions", &c.token).await;
    assert_eq!(ids(&list), session_ids(&[&c, &b, &a]));
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(
        sessions
            .iter()
            .map(|s| s["current"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, false, false]
    );
    let first = &sessions[0];
    let keys = keys_of(first);
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "device",
            "ip",
            "created_at",
            "last_active_at",
            "expires_at",
            "state",
            "current",
            "renamed_by_device"
        ])
    );
    assert_eq!(first["renamed_by_device"], Value::Null);
    assert_eq!(first["ip"], "127.0.0.1");
    assert_eq!(first["device"], device("C"));
    assert_eq!(
        time(&first["expires_at"]),
        time(&first["last_active_at"]) + Span::days(14)
    );
}

#[tokio::test]
async fn expires_at_is_the_sooner_of_idle_and_absolute() {
    let server = Server::start(&["--idle-timeout", "2h", "--absolute-lifetime", "3h"]);
    let a = server.sign_in("ada@example.com", "A").await;
    let s = find(&server, &a.token, &a.session_id).await;
    assert_eq!(
        time(&s["expires_at"]),
        time(&s["created_at"]) + Span::hours(2)
    );
    server.advance_clock("90m").await;
    server.heartbeat(&a.token, "active").await;
    let s = find(&server, &a.token, &a.session_id).await;
    assert_eq!(
        time(&s["expires_at"]),
        time(&s["created_at"]) + Span::hours(3),
        "absolute is sooner now"
    );
}

#[tokio::test]
async fn last_active_moves_on_active_heartbeats_and_non_get_calls_only() {
    let server = Server::start(&[]);
    let [a, b] = server.sign_in_each(ADA, ["A", "B"]).await;
    let last_active =
        || async { time(&find(&server, &b.token, &a.session_id).await["last_active_at"]) };
    let start = last_active().await;

    server.advance_clock("5m").await;
    server.get("/v1/sessions", &a.token).await;
    server.get("/v1/me", &a.token).await;
    let _stream = EventStream::open(&server, &a.token, None).await.unwrap();
    assert_eq!(
        last_active().await,
        start,
        "GETs and the stream don't move it"
    );

    let heartbeat = |state: &str| {
        server.post_json(
            "/v1/sessions/current/heartbeat",
            &a.token,
            json!({"state": state}),
        )
    };
    assert_eq!(heartbeat("idle").await.0, StatusCode::NO_CONTENT);
    assert_eq!(last_active().await, start, "an idle heartbeat doesn't");
    assert_eq!(
        find(&server, &b.token, &a.session_id).await["state"],
        "idle"
    );

    assert_eq!(heartbeat("active").await.0, StatusCode::NO_CONTENT);
    let after_active = last_active().await;
    assert!(
        about(after_active - start, Span::minutes(5)),
        "an active heartbeat does"
    );
    assert_eq!(
        find(&server, &b.token, &a.session_id).await["state"],
        "active"
    );

    server.advance_clock("1m").await;
    server.rename_current(&a.token, "A2").await;
    assert!(
        about(last_active().await - after_active, Span::minutes(1)),
        "a non-GET call does"
    );

    for bad in [json!({"state": "asleep"}), json!({}), json!("active")] {
        let (status, body) = server
            .post_json("/v1/sessions/current/heartbeat", &a.token, bad)
            .await;
        assert_refused(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn a_session_turns_idle_after_two_missed_heartbeats() {
    let server = Server::start(&[]);
    let [a, b] = server.sign_in_each(ADA, ["A", "B"]).await;
    assert_eq!(
        find(&server, &a.token, &b.session_id).await["state"],
        "active"
    );
    server.advance_clock("119s").await;
    assert_eq!(
        find(&server, &a.token, &b.session_id).await["state"],
        "active"
    );
    server.advance_clock("1s").await;
    assert_eq!(
        find(&server, &a.token, &b.session_id).await["state"],
        "idle"
    );
}

#[tokio::test]
async fn devices_are_renamed_by_id_or_current_and_only_within_the_account() {
    let server = Server::start(&[]);
    let [a, b, gone] = server.sign_in_each(ADA, ["A", "B", "Gone"]).await;
    let other = server.sign_in("bob@example.com", "Bob's").await;
    server.delete("/v1/sessions/current", &gone.token).await;

    let rename = |id: &str, name: Value| {
        let path = format!("/v1/sessions/{id}");
        let server = &server;
        let token = a.token.clone();
        async move {
            server
                .patch(&path, &token, json!({"device_name": name}))
                .await
        }
    };
    let (status, s) = rename("current", json!(" Work laptop ")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            s["id"].as_str(),
            s["device"]["name"].as_str(),
            s["current"].as_bool()
        ),
        (Some(a.session_id.as_str()), Some("Work laptop"), Some(true))
    );
    let (status, s) = rename(&b.session_id, json!("Pixel 8")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (s["device"]["name"].as_str(), s["current"].as_bool()),
        (Some("Pixel 8"), Some(false))
    );
    assert_eq!(
        find(&server, &b.token, &b.session_id).await["device"]["name"],
        "Pixel 8"
    );

    for id in [
        other.session_id.as_str(),
        gone.session_id.as_str(),
        "ses_nope",
    ] {
        let (status, body) = rename(id, json!("X")).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::NOT_FOUND, json!("not_found")),
            "{id}"
        );
    }
    for bad in [json!(""), json!("x".repeat(65))] {
        let (status, body) = rename("current", bad).await;
        assert_refused(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_eq!(
        find(&server, &other.token, &other.session_id).await["device"]["name"],
        "Bob's"
    );
}

/// The four ways out, over {this token, another of the account's tokens,
/// another account's token}: who is signed out, and what each one's next
/// request reads.
#[tokio::test]
async fn asvs_7_5_2_the_four_sign_outs_sign_out_exactly_whom_they_say() {
    struct Case {
        op: &'static str,
        /// Expected reason for (actor A, A's other device B, account Y's device D); None = still signed in.
        expect: [Option<&'static str>; 3],
        revoked: Option<u64>,
    }
    let cases = [
        Case {
            op: "log out this device",
            expect: [Some("logged_out"), None, None],
            revoked: None,
        },
        Case {
            op: "terminate B",
            expect: [None, Some("terminated"), None],
            revoked: None,
        },
        Case {
            op: "terminate D (another account)",
            expect: [None, None, None],
            revoked: None,
        },
        Case {
            op: "terminate itself by id",
            expect: [None, None, None],
            revoked: None,
        },
        Case {
            op: "log out other devices",
            expect: [None, Some("logged_out_others"), None],
            revoked: Some(2),
        },
        Case {
            op: "log out everywhere",
            expect: [
                Some("logged_out_everywhere"),
                Some("logged_out_everywhere"),
                None,
            ],
            revoked: Some(3),
        },
    ];
    for case in cases {
        let server = Server::start(&[]);
        let a = server.sign_in("x@example.com", "Actor").await;
        let b = server.sign_in("x@example.com", "Other").await;
        let c = server.sign_in("x@example.com", "Third").await;
        let d = server.sign_in("y@example.com", "Elsewhere").await;
        let (status, body) = match case.op {
            "log out this device" => server.delete("/v1/sessions/current", &a.token).await,
            "terminate B" => {
                server
                    .delete(&format!("/v1/sessions/{}", b.session_id), &a.token)
                    .await
            }
            "terminate D (another account)" => {
                server
                    .delete(&format!("/v1/sessions/{}", d.session_id), &a.token)
                    .await
            }
            "terminate itself by id" => {
                server
                    .delete(&format!("/v1/sessions/{}", a.session_id), &a.token)
                    .await
            }
            "log out other devices" => server.post("/v1/sessions/revoke-others", &a.token).await,
            _ => server.post("/v1/sessions/revoke-all", &a.token).await,
        };
        match (case.op, case.revoked) {
            ("terminate D (another account)", _) => assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::NOT_FOUND, Some("not_found")),
                "{}",
                case.op
            ),
            ("terminate itself by id", _) => assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::CONFLICT, Some("cannot_terminate_current")),
                "{}",
                case.op
            ),
            (_, Some(n)) => assert_eq!(
                (status, body),
                (StatusCode::OK, json!({"revoked": n})),
                "{}",
                case.op
            ),
            (_, None) => assert_eq!(status, StatusCode::NO_CONTENT, "{}", case.op),
        }
        // C shares B's fate in the bulk operations and stays otherwise.
        let c_expect = if case.revoked.is_some() {
            case.expect[1]
        } else {
            None
        };
        for (who, signed, expected) in [
            ("A", &a, case.expect[0]),
            ("B", &b, case.expect[1]),
            ("C", &c, c_expect),
            ("D", &d, case.expect[2]),
        ] {
            let (status, body) = server.get("/v1/me", &signed.token).await;
            match expected {
                None => assert_eq!(
                    status,
                    StatusCode::OK,
                    "{}: {who} should be signed in: {body}",
                    case.op
                ),
                Some(reason) => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {who}", case.op);
                    assert_eq!(body["error"], "session_revoked", "{}: {who}", case.op);
                    assert_eq!(body["reason"], reason, "{}: {who}", case.op);
                    assert_eq!(body["by_device"], "Actor", "{}: {who}", case.op);
                    assert!(
                        (Utc::now() - time(&body["at"])).num_seconds().abs() < 60,
                        "{}: {who}",
                        case.op
                    );
                    assert!(!body["message"].as_str().unwrap().is_empty());
                    let (status, _) = server.get("/v1/sessions", &signed.token).await;
                    assert_eq!(
                        status,
                        StatusCode::UNAUTHORIZED,
                        "every call is refused, not just one"
                    );
                }
            }
        }
        // What the survivors list: exactly the live ones.
        let survivor = [&a, &b, &c]
            .into_iter()
            .zip([case.expect[0], case.expect[1], c_expect])
            .find(|(_, e)| e.is_none())
            .map(|(s, _)| s.token.clone());
        if let Some(token) = survivor {
            let (_, list) = server.get("/v1/sessions", &token).await;
            let live: BTreeSet<String> = ids(&list).into_iter().collect();
            let expected: BTreeSet<String> =
                [(&a, case.expect[0]), (&b, case.expect[1]), (&c, c_expect)]
                    .into_iter()
                    .filter(|(_, e)| e.is_none())
                    .map(|(s, _)| s.session_id.clone())
                    .collect();
            assert_eq!(live, expected, "{}", case.op);
        }
    }
}

#[tokio::test]
async fn the_cap_of_100_live_sessions_evicts_the_least_recently_active() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("seeded.sqlite3");
    let seeded = seeded_lines(seed(&database, "many@example.com", "100"));
    assert_eq!(seeded.len(), 100);
    assert_eq!(seeded[0]["device_name"], "Work laptop");
    // The seed spreads activity: the last device is the least recently active.
    let oldest = seeded.last().unwrap();

    let server = Server::start(&["--database", database.to_str().unwrap()]);
    let (status, list) = server
        .get("/v1/sessions", seeded[0]["session_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (status, list["sessions"].as_array().unwrap().len()),
        (StatusCode::OK, 100)
    );
    let newcomer = server.sign_in("many@example.com", "Newcomer").await;
    let (_, list) = server.get("/v1/sessions", &newcomer.token).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 100);
    assert!(!ids(&list).contains(&oldest["session_id"].as_str().unwrap().to_owned()));
    let (status, body) = server
        .get("/v1/me", oldest["session_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (body["reason"].as_str(), body["by_device"].clone()),
        (Some("evicted"), Value::Null)
    );
}

#[tokio::test]
async fn asvs_7_3_2_sessions_expire_when_idle_or_too_old() {
    let server = Server::start(&["--idle-timeout", "1h", "--absolute-lifetime", "3h"]);
    let [a, b] = server.sign_in_each(ADA, ["Busy", "Forgotten"]).await;
    let b_last_active = time(&find(&server, &b.token, &b.session_id).await["last_active_at"]);
    let active = |token: String| {
        let server = &server;
        async move {
            let (status, _) = server.heartbeat(&token, "active").await;
            assert_eq!(status, StatusCode::NO_CONTENT);
        }
    };
    server.advance_clock("59m").await;
    active(a.token.clone()).await;
    assert_eq!(
        server.get("/v1/me", &b.token).await.0,
        StatusCode::OK,
        "a GET doesn't keep B alive, but 59 min is not an hour"
    );
    server.advance_clock("1m").await;
    let (status, body) = server.get("/v1/me", &b.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (body["reason"].as_str(), body["by_device"].clone()),
        (Some("expired_idle"), Value::Null)
    );
    assert_eq!(
        time(&body["at"]),
        b_last_active + Span::hours(1),
        "at is when it expired"
    );

    for _ in 0..3 {
        server.advance_clock("50m").await;
        if server.get("/v1/me", &a.token).await.0 != StatusCode::OK {
            break;
        }
        active(a.token.clone()).await;
    }
    let (status, body) = server.get("/v1/me", &a.token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "3 h after sign-in, however busy"
    );
    assert_eq!(body["reason"], "expired_absolute");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_not_found() {
    let server = Server::start(&[]);
    let a = server.sign_in("ada@example.com", "A").await;
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::GET, "/v1/sessions/revoke-all"),
        (Method::PUT, "/v1/me"),
        (Method::DELETE, "/v1/sessions"),
    ] {
        let (status, body) = server
            .call(method.clone(), path, Some(&a.token), None)
            .await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::NOT_FOUND, json!("not_found")),
            "{method} {path}"
        );
    }
    let (status, body) = server.delete("/v1/sessions/ses_unknown", &a.token).await;
    assert_refused(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn bodies_sent_to_bodiless_calls_are_ignored() {
    let server = Server::start(&[]);
    let [a, b] = server.sign_in_each(ADA, ["A", "B"]).await;
    let response = server
        .http
        .post(server.url("/v1/sessions/revoke-others"))
        .bearer_auth(&a.token)
        .header("content-type", "text/plain")
        .body("whatever")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        server.get("/v1/me", &b.token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn revoked_sessions_are_kept_30_days_as_history_then_forgotten() {
    let server = Server::start(&["--idle-timeout", "90d", "--absolute-lifetime", "90d"]);
    let [a, b] = server.sign_in_each(ADA, ["A", "B"]).await;
    server
        .delete(&format!("/v1/sessions/{}", b.session_id), &a.token)
        .await;
    server.advance_clock("29d").await;
    server.heartbeat(&a.token, "active").await;
    assert_eq!(
        server.get("/v1/me", &b.token).await.1["error"],
        "session_revoked",
        "still history at 29 days"
    );
    server.advance_clock("2d").await;
    assert_eq!(
        server.get("/v1/me", &b.token).await.1["error"],
        "unauthenticated",
        "forgotten after 30 days"
    );
    assert_eq!(server.get("/v1/me", &a.token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_locked_database_answers_503_and_recovers() {
    let server = Server::start(&[]);
    let a = server.sign_in("ada@example.com", "A").await;
    // Another process holds an exclusive lock on the database file.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); \
             c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()",
            server.database().to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let (status, body) = server
        .patch("/v1/me", &a.token, json!({"display_name": "Locked out"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
        "{body}"
    );
    drop(holder.stdin.take());
    holder.wait().unwrap();
    let (status, me) = server.get("/v1/me", &a.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["display_name"], "ada", "nothing half-written");
}

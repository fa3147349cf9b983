//! `GET /v1/events` against a real latchd: who hears what, how fast, resume
//! and resync, expiry announced, and streams that end when their session does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SOON: Duration = Duration::from_secs(1);

/// Signs ada in on `device` and opens that session's event stream.
async fn watching(server: &Server, device: &str) -> (Signed, EventStream) {
    let signed = server.sign_in(ADA, device).await;
    let stream = EventStream::open(server, &signed.token, None)
        .await
        .unwrap();
    (signed, stream)
}

#[tokio::test]
async fn a_terminated_device_hears_why_within_a_second_then_its_stream_ends() {
    let server = Server::start(&[]);
    let (a, mut a_stream) = watching(&server, "Work laptop").await;
    let mut delays = Vec::new();
    for round in 0..20 {
        let b = server
            .sign_in("ada@example.com", &format!("Pixel {round}"))
            .await;
        let created = a_stream
            .next_named("session.created", SOON)
            .await
            .expect("A hears B sign in");
        assert_eq!(
            (
                created.data["id"].as_str(),
                created.data["current"].as_bool()
            ),
            (Some(b.session_id.as_str()), Some(false))
        );
        let mut b_stream = EventStream::open(&server, &b.token, None).await.unwrap();

        let started = Instant::now();
        let (status, _) = server
            .delete(&format!("/v1/sessions/{}", b.session_id), &a.token)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let frame = b_stream.next(SOON).await.expect("B hears it within 1 s");
        delays.push(started.elapsed());
        assert_eq!(frame.event, "session.revoked");
        assert_eq!(frame.data["session_id"], b.session_id.as_str());
        assert_eq!(frame.data["reason"], "terminated");
        assert_eq!(frame.data["by_device"], "Work laptop");
        assert!(frame.data["at"].as_str().is_some());
        assert!(
            frame.id.unwrap().parse::<u64>().is_ok(),
            "ids are decimal numbers"
        );
        assert!(
            b_stream.closes_within(SOON).await,
            "B's stream ends after telling it why"
        );

        let heard = a_stream
            .next_named("session.revoked", SOON)
            .await
            .expect("A hears it too");
        assert_eq!(heard.data["session_id"], b.session_id.as_str());
        let (status, body) = EventStream::open(&server, &b.token, None)
            .await
            .err()
            .expect("B can't reconnect");
        assert_eq!(
            (status, body["error"].as_str(), body["reason"].as_str()),
            (
                StatusCode::UNAUTHORIZED,
                Some("session_revoked"),
                Some("terminated")
            )
        );
    }
    assert!(!a_stream.ended, "A's stream stays open");
    let median = median(delays.clone());
    println!(
        "revoke → other device's SSE event: median {median:?} of {} (min {:?}, max {:?})",
        delays.len(),
        delays.iter().min().unwrap(),
        delays.iter().max().unwrap()
    );
}

#[tokio::test]
async fn created_and_updated_events_mark_current_only_on_the_sessions_own_stream() {
    let server = Server::start(&[]);
    let (_, mut a_stream) = watching(&server, "A").await;
    let (b, mut b_stream) = watching(&server, "B").await;
    let created = a_stream.next(SOON).await.unwrap();
    assert_eq!(created.event, "session.created");
    assert_eq!(created.data["device"], device("B"));

    server.rename_current(&b.token, "B renamed").await;
    for (stream, current) in [(&mut a_stream, false), (&mut b_stream, true)] {
        let updated = stream.next(SOON).await.unwrap();
        assert_eq!(updated.event, "session.updated");
        assert_eq!(
            (
                updated.data["device"]["name"].as_str(),
                updated.data["current"].as_bool()
            ),
            (Some("B renamed"), Some(current))
        );
    }
    // A state change is an update; a heartbeat that changes nothing is not.
    let heartbeat = |state: &'static str| {
        server.post_json(
            "/v1/sessions/current/heartbeat",
            &b.token,
            json!({"state": state}),
        )
    };
    heartbeat("active").await;
    heartbeat("idle").await;
    let updated = a_stream.next(SOON).await.unwrap();
    assert_eq!(
        (updated.event.as_str(), updated.data["state"].as_str()),
        ("session.updated", Some("idle"))
    );
    heartbeat("idle").await;
    assert!(
        a_stream.next(Duration::from_millis(300)).await.is_none(),
        "no event for a heartbeat that changed nothing"
    );

    // Another account hears none of it.
    let other = server.sign_in("bob@example.com", "Bob").await;
    let mut other_stream = EventStream::open(&server, &other.token, None)
        .await
        .unwrap();
    heartbeat("active").await;
    assert!(a_stream.next(SOON).await.is_some());
    assert!(other_stream
        .next(Duration::from_millis(300))
        .await
        .is_none());
}

#[tokio::test]
async fn last_event_id_replays_what_was_missed_and_a_stale_one_gets_resync() {
    let server = Server::start(&[]);
    let (a, mut stream) = watching(&server, "A").await;
    let b = server.sign_in("ada@example.com", "B").await;
    let first = stream.next(SOON).await.unwrap();
    drop(stream);
    let c = server.sign_in("ada@example.com", "C").await;
    server
        .delete(&format!("/v1/sessions/{}", b.session_id), &a.token)
        .await;

    let mut resumed = EventStream::open(&server, &a.token, first.id.as_deref())
        .await
        .unwrap();
    let replay_1 = resumed.next(SOON).await.unwrap();
    let replay_2 = resumed.next(SOON).await.unwrap();
    assert_eq!(
        (replay_1.event.as_str(), replay_1.data["id"].as_str()),
        ("session.created", Some(c.session_id.as_str()))
    );
    assert_eq!(
        (
            replay_2.event.as_str(),
            replay_2.data["session_id"].as_str()
        ),
        ("session.revoked", Some(b.session_id.as_str()))
    );
    let (id_0, id_1, id_2): (u64, u64, u64) = (
        first.id.unwrap().parse().unwrap(),
        replay_1.id.clone().unwrap().parse().unwrap(),
        replay_2.id.clone().unwrap().parse().unwrap(),
    );
    assert!(id_0 < id_1 && id_1 < id_2, "increasing ids");
    assert!(
        resumed.next(Duration::from_millis(200)).await.is_none(),
        "nothing replayed twice"
    );

    // No Last-Event-ID: no replay.
    let mut fresh = EventStream::open(&server, &a.token, None).await.unwrap();
    assert!(fresh.next(Duration::from_millis(200)).await.is_none());

    for stale in ["999999", "not-a-number", "-1"] {
        let mut stream = EventStream::open(&server, &a.token, Some(stale))
            .await
            .unwrap();
        let frame = stream.next(SOON).await.unwrap();
        assert_eq!(
            (frame.event.as_str(), &frame.data),
            ("resync", &json!({})),
            "{stale}"
        );
        server.rename_current(&a.token, &format!("A {stale}")).await;
        let live = stream
            .next(SOON)
            .await
            .expect("the stream stays open after resync");
        assert_eq!(live.event, "session.updated");
    }

    // Events past their retention are gone: resuming from them means resync.
    server.advance_clock("2d").await;
    let mut stream = EventStream::open(&server, &a.token, replay_1.id.as_deref())
        .await
        .unwrap();
    assert_eq!(stream.next(SOON).await.unwrap().event, "resync");
}

#[tokio::test]
async fn expiry_is_swept_and_announced_to_the_account() {
    let server = Server::start(&["--idle-timeout", "1h"]);
    let [a, b] = server.sign_in_each(ADA, ["Busy", "Forgotten"]).await;
    let mut a_stream = EventStream::open(&server, &a.token, None).await.unwrap();
    let mut b_stream = EventStream::open(&server, &b.token, None).await.unwrap();
    server.advance_clock("59m").await;
    server.heartbeat(&a.token, "active").await;
    // Nobody asks about B: the sweep that /dev/clock runs finds it.
    server.advance_clock("2m").await;
    for stream in [&mut a_stream, &mut b_stream] {
        let frame = stream
            .next_named("session.revoked", SOON)
            .await
            .expect("expiry is announced");
        assert_eq!(frame.data["session_id"], b.session_id.as_str());
        assert_eq!(
            (frame.data["reason"].as_str(), &frame.data["by_device"]),
            (Some("expired_idle"), &Value::Null)
        );
    }
    assert!(b_stream.closes_within(SOON).await);
    assert!(!a_stream.ended);
}

#[tokio::test]
async fn log_out_everywhere_ends_every_stream_with_its_reason() {
    let server = Server::start(&[]);
    let [a, b, c] = server.sign_in_each(ADA, ["A", "B", "C"]).await;
    let mut streams = Vec::new();
    for s in [&a, &b, &c] {
        streams.push((
            s.session_id.clone(),
            EventStream::open(&server, &s.token, None).await.unwrap(),
        ));
    }
    let (status, body) = server.post("/v1/sessions/revoke-all", &a.token).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"revoked": 3})));
    for (own, stream) in &mut streams {
        let mut heard = Vec::new();
        while let Some(frame) = stream.next(SOON).await {
            assert_eq!(
                (
                    frame.data["reason"].as_str(),
                    frame.data["by_device"].as_str()
                ),
                (Some("logged_out_everywhere"), Some("A"))
            );
            heard.push(frame.data["session_id"].as_str().unwrap().to_owned());
            if heard.last() == Some(&*own) {
                break;
            }
        }
        assert_eq!(
            heard.last(),
            Some(&*own),
            "each stream is told of its own end"
        );
        assert!(stream.closes_within(SOON).await);
    }
}

#[tokio::test]
async fn a_quiet_stream_sends_a_keep_alive_comment_every_15_seconds() {
    let server = Server::start(&[]);
    let a = server.sign_in("ada@example.com", "A").await;
    let response = server
        .http
        .get(server.url("/v1/events"))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    let mut bytes = response.bytes_stream();
    let started = Instant::now();
    let mut seen = String::new();
    while !seen.lines().any(|l| l.starts_with(':')) {
        let chunk = tokio::time::timeout(Duration::from_secs(20), bytes.next())
            .await
            .expect("a comment within 20 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(14) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
}

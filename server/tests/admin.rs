//! The operator's side (issue 15, items 7 and 9) against a real latchd:
//! `latchd admin revoke` over the admin socket, announced on the streams;
//! who renamed a device; and the database files kept private.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

const SOON: Duration = Duration::from_secs(1);

fn admin(database: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_latchd"))
        .args(["admin", "--database", database.to_str().unwrap()])
        .args(args)
        .env_remove("LATCHD_DATABASE")
        .output()
        .unwrap()
}

#[track_caller]
fn succeeded(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// ASVS 5.0 7.4.5: the operator ends one account's sessions; each of its
/// streams hears `admin` within a second, another account keeps its own.
#[tokio::test]
async fn asvs_7_4_5_admin_revoke_email_ends_that_accounts_sessions_and_tells_their_streams() {
    let server = Server::start(&[]);
    let a = server.sign_in(ADA, "Work laptop").await;
    let b = server.sign_in(ADA, "Pixel 8").await;
    let grace = server.sign_in("grace@example.com", "Grace's laptop").await;
    let mut a_stream = EventStream::open(&server, &a.token, None).await.unwrap();
    let mut grace_stream = EventStream::open(&server, &grace.token, None)
        .await
        .unwrap();

    let out = admin(
        &server.database(),
        &["revoke", "--email", " Ada@Example.com "],
    );
    assert_eq!(succeeded(&out).trim(), "Signed out 2 sessions.");

    let mut heard = Vec::new();
    while let Some(frame) = a_stream.next_named("session.revoked", SOON).await {
        assert_eq!(frame.data["reason"], "admin", "{}", frame.data);
        assert_eq!(frame.data["by_device"], json!(null));
        heard.push(frame.data["session_id"].as_str().unwrap().to_owned());
        if heard.len() == 2 {
            break;
        }
    }
    heard.sort();
    let mut expected = vec![a.session_id.clone(), b.session_id.clone()];
    expected.sort();
    assert_eq!(
        heard, expected,
        "A's stream hears both, within a second each"
    );
    for token in [&a.token, &b.token] {
        let (status, body) = server.get("/v1/me", token).await;
        assert_eq!(
            (status, body["error"].as_str(), body["reason"].as_str()),
            (
                StatusCode::UNAUTHORIZED,
                Some("session_revoked"),
                Some("admin")
            )
        );
    }
    assert_eq!(server.get("/v1/me", &grace.token).await.0, StatusCode::OK);
    assert!(
        grace_stream
            .next(Duration::from_millis(300))
            .await
            .is_none(),
        "another account hears nothing"
    );

    // An address without an account: nothing to end, and no error.
    let out = admin(
        &server.database(),
        &["revoke", "--email", "nobody@example.com"],
    );
    assert_eq!(succeeded(&out).trim(), "Signed out 0 sessions.");
}

#[tokio::test]
async fn asvs_7_4_5_admin_revoke_all_ends_every_accounts_sessions() {
    let server = Server::start(&[]);
    let a = server.sign_in(ADA, "Work laptop").await;
    let grace = server.sign_in("grace@example.com", "Grace's laptop").await;
    let mut grace_stream = EventStream::open(&server, &grace.token, None)
        .await
        .unwrap();
    let out = admin(&server.database(), &["revoke", "--all"]);
    assert_eq!(succeeded(&out).trim(), "Signed out 2 sessions.");
    let frame = grace_stream
        .next_named("session.revoked", SOON)
        .await
        .expect("grace hears it");
    assert_eq!(
        (
            frame.data["session_id"].as_str(),
            frame.data["reason"].as_str()
        ),
        (Some(grace.session_id.as_str()), Some("admin"))
    );
    assert!(grace_stream.closes_within(SOON).await);
    for token in [&a.token, &grace.token] {
        assert_eq!(
            server.get("/v1/me", token).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Signing in again works at once.
    let again = server.sign_in(ADA, "Work laptop").await;
    assert_eq!(server.get("/v1/me", &again.token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn admin_without_a_running_server_says_so() {
    let mut server = Server::start(&[]);
    server.sign_in(ADA, "Work laptop").await;
    let database = server.database();
    // Killed: its socket file is left behind, and nobody answers on it.
    server.kill();
    let out = admin(&database, &["revoke", "--all"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("latchd is not running for this database")
            && err.contains(&database.display().to_string()),
        "{err}"
    );
    // And never for a database nobody serves.
    let dir = tempfile::tempdir().unwrap();
    let out = admin(
        &dir.path().join("none.sqlite3"),
        &["revoke", "--email", ADA],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("latchd is not running"));
    // A restart takes the stale socket over.
    server.restart();
    let out = admin(&database, &["revoke", "--all"]);
    assert_eq!(succeeded(&out).trim(), "Signed out 1 session.");
}

#[tokio::test]
async fn the_admin_socket_is_0600_and_gone_after_a_clean_stop() {
    let mut server = Server::start(&[]);
    let socket = latchd::admin::socket_path(&server.database());
    assert_eq!(mode(&socket), 0o600);
    assert!(std::fs::metadata(&socket).unwrap().file_type().is_socket());
    // No staging directory left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(server.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".latchd-admin"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A request first: latchd installs its SIGTERM handler only once it
    // serves, a moment after the "listening" line.
    server.sign_in(ADA, "Work laptop").await;
    let status = server.terminate();
    assert!(status.success(), "{status:?}: {}", server.log_text());
    assert!(!socket.exists());
}

/// A second server on the same file would tell only its own streams.
#[tokio::test]
async fn a_second_server_on_the_same_database_refuses_to_start() {
    let server = Server::start(&[]);
    let database = server.database();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchd"))
        .args(["--dev", "--listen", "127.0.0.1:0", "--database"])
        .arg(&database)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another latchd is already serving"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first one still answers its admin socket.
    succeeded(&admin(&database, &["revoke", "--all"]));
}

/// Finding 7: another device's rename is recorded with the renamer's name;
/// a self-rename clears it.
#[tokio::test]
async fn renaming_another_device_records_who_did_it() {
    let server = Server::start(&[]);
    let a = server.sign_in(ADA, "Work laptop").await;
    let b = server.sign_in(ADA, "Pixel 8").await;
    let mut a_stream = EventStream::open(&server, &a.token, None).await.unwrap();

    let (status, body) = server
        .patch(
            &format!("/v1/sessions/{}", a.session_id),
            &b.token,
            json!({"device_name": "Unknown device – terminate me"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["renamed_by_device"], "Pixel 8");
    assert_eq!(body["current"], false);
    let updated = a_stream
        .next_named("session.updated", SOON)
        .await
        .expect("A hears its rename");
    assert_eq!(updated.data["renamed_by_device"], "Pixel 8");
    assert_eq!(updated.data["current"], true);

    let (_, list) = server.get("/v1/sessions", &a.token).await;
    let rows = list["sessions"].as_array().unwrap();
    let mine = rows
        .iter()
        .find(|s| s["id"] == a.session_id.as_str())
        .unwrap();
    assert_eq!(mine["device"]["name"], "Unknown device – terminate me");
    assert_eq!(mine["renamed_by_device"], "Pixel 8");
    let theirs = rows
        .iter()
        .find(|s| s["id"] == b.session_id.as_str())
        .unwrap();
    assert_eq!(theirs["renamed_by_device"], json!(null), "never renamed");

    // B renames itself: its own choice, no mark.
    let (_, body) = server.rename_current(&b.token, "Work laptop").await;
    assert_eq!(body["renamed_by_device"], json!(null));
    // A takes its name back: the mark goes too.
    let (_, body) = server.rename_current(&a.token, "Work laptop").await;
    assert_eq!(body["renamed_by_device"], json!(null));
    // The renamer's name as it was then: B now calls itself "Work laptop".
    let (_, body) = server
        .patch(
            &format!("/v1/sessions/{}", a.session_id),
            &b.token,
            json!({"device_name": "Old laptop"}),
        )
        .await;
    assert_eq!(body["renamed_by_device"], "Work laptop");
    let (_, list) = server.get("/v1/sessions", &b.token).await;
    assert_eq!(list["sessions"][1]["renamed_by_device"], "Work laptop");
}

/// Item 9: the database, its WAL and SHM are 0600 whatever the umask, and
/// an older install's wider files are narrowed on start.
#[tokio::test]
async fn the_database_and_its_wal_and_shm_are_0600() {
    let mut server = Server::start(&[]);
    server.sign_in(ADA, "Work laptop").await;
    let database = server.database();
    let files = |db: &Path| {
        ["", "-wal", "-shm"]
            .map(|suffix| std::path::PathBuf::from(format!("{}{suffix}", db.display())))
    };
    for file in files(&database) {
        assert!(file.exists(), "{} exists while serving", file.display());
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    // Killed, so the WAL and SHM stay behind as an older latchd left them.
    server.kill();
    for file in files(&database) {
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    server.restart();
    // A write through the restarted server (its HTTP pool still holds the
    // killed one's connection).
    succeeded(&admin(&database, &["revoke", "--all"]));
    for file in files(&database) {
        assert_eq!(mode(&file), 0o600, "{} narrowed", file.display());
    }
    // A data directory latchd creates is the user's alone.
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("new").join("data");
    let db = nested.join("latchd.sqlite3");
    let fresh = Server::start(&["--database", db.to_str().unwrap()]);
    fresh.sign_in(ADA, "Work laptop").await;
    assert_eq!(mode(&nested), 0o700);
    for file in files(&db) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

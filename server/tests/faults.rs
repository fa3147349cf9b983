//! Database faults: the file locked by another process while latchd runs,
//! and the file read-only when latchd starts. Each checks the database's
//! contents before and after, so "nothing half-written" is seen, not hoped.
//!
//! Covered elsewhere: a locked database answering `PATCH /v1/me` with 503
//! and recovering (`sessions::a_locked_database_answers_503_and_recovers`);
//! SMTP unreachable answering 202 and logging its retries
//! (`smtp::an_unreachable_smtp_server_still_answers_202_and_retries`); expiry
//! swept and announced when the clock moves (`events::expiry_is_swept_and_announced_to_the_account`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::*;
use latch_testkit::call_at;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Another process holding an exclusive lock on the database, which can
/// dump the whole database (`iterdump`) while it holds it.
struct Holder {
    child: std::process::Child,
    stdout: BufReader<std::process::ChildStdout>,
}

const HOLDER: &str = r#"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute('BEGIN EXCLUSIVE')
def dump():
    rows = '\n'.join(c.iterdump())
    print(len(rows.splitlines()), flush=True)
    print(rows, flush=True)
dump()
for line in sys.stdin:
    dump()
"#;

impl Holder {
    /// Locks the database and answers its contents at that moment.
    fn lock(database: &std::path::Path) -> (Holder, String) {
        let mut child = Command::new("python3")
            .args(["-c", HOLDER])
            .arg(database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is needed for the database fault tests");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut holder = Holder { child, stdout };
        let dump = holder.read_dump();
        (holder, dump)
    }

    fn read_dump(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let lines: usize = line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"));
        let mut dump = String::new();
        for _ in 0..lines {
            self.stdout.read_line(&mut dump).unwrap();
        }
        dump
    }

    /// The contents now, still under the lock.
    fn dump(&mut self) -> String {
        writeln!(self.child.stdin.as_mut().unwrap()).unwrap();
        self.read_dump()
    }

    fn release(mut self) {
        drop(self.child.stdin.take());
        self.child.wait().unwrap();
    }
}

#[tokio::test]
async fn a_locked_database_answers_503_to_every_write_and_writes_nothing() {
    let server = Server::start(&[]);
    let [a, b] = server.sign_in_each(ADA, ["A", "B"]).await;
    let pending = server.request_link("ada@example.com", "C").await;
    let mail = server.mail_for("ada@example.com").await;
    let (holder, before) = Holder::lock(&server.database());
    let mut holder = holder;
    assert!(before.contains("CREATE TABLE"), "{before}");

    // Each waits out the 5 s busy timeout, then answers 503 unavailable.
    let started = Instant::now();
    let calls = sign_in_writes(&pending, &mail).into_iter().chain([(
        Method::DELETE,
        format!("/v1/sessions/{}", b.session_id),
        Some(a.token.as_str()),
        None,
    )]);
    for (method, path, token, body) in calls {
        let (status, answer) = server.call(method.clone(), &path, token, body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
            "{method} {path}: {answer}"
        );
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    println!("3 writes refused in {:?}", started.elapsed());
    assert_eq!(holder.dump(), before, "nothing half-written");
    holder.release();

    // Nothing was counted or burned: the same code still signs in once, and
    // the sessions the refused calls aimed at are live.
    let (status, body) = server
        .exchange(&pending.flow_id, &mail.code, &pending.verifier)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for s in [&a, &b] {
        assert_eq!(server.get("/v1/me", &s.token).await.0, StatusCode::OK);
    }
    let (_, list) = server.get("/v1/sessions", &a.token).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 3);
    assert!(server.log_text().contains("database unavailable"));
}

/// True when this process can write files whatever their mode (root).
fn ignores_file_modes() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

#[tokio::test]
async fn a_read_only_database_answers_503_to_writes_and_is_left_as_it_was() {
    let mut server = Server::start(&[]);
    let a = server.sign_in("ada@example.com", "A").await;
    let pending = server.request_link("ada@example.com", "B").await;
    let mail = server.mail_for("ada@example.com").await;
    assert!(server.terminate().success());
    let database = server.database();
    let files: Vec<std::path::PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| std::path::PathBuf::from(format!("{}{suffix}", database.display())))
        .collect();
    let before: Vec<Option<Vec<u8>>> = files.iter().map(|f| std::fs::read(f).ok()).collect();
    for file in &files {
        set_mode(file, 0o444);
    }

    // As root, file modes bind only without CAP_DAC_OVERRIDE: drop it.
    let latchd = env!("CARGO_BIN_EXE_latchd");
    let (binary, mut args): (&str, Vec<String>) = if ignores_file_modes() {
        (
            "setpriv",
            vec![
                "--bounding-set".into(),
                "-dac_override,-dac_read_search".into(),
                latchd.into(),
            ],
        )
    } else {
        (latchd, Vec::new())
    };
    args.extend(
        [
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--email-link-interval",
            "0",
            "--database",
        ]
        .map(String::from),
    );
    args.push(database.display().to_string());
    let log = server.dir.path().join("read-only.log");
    let (mut child, base) = latch_testkit::spawn(std::path::Path::new(binary), &args, &[], &log);
    let http = reqwest::Client::new();
    let (status, _, _) = call_at(&http, &base, Method::GET, "/v1/server", None, None).await;
    assert_eq!(status, StatusCode::OK, "it starts and says what it can");
    let writes = sign_in_writes(&pending, &mail).into_iter().chain([
        (
            Method::PATCH,
            "/v1/me".to_owned(),
            Some(a.token.as_str()),
            Some(json!({"display_name": "Written?"})),
        ),
        (
            Method::DELETE,
            "/v1/sessions/current".to_owned(),
            Some(a.token.as_str()),
            None,
        ),
    ]);
    for (method, path, token, body) in writes {
        let (status, _, answer) = call_at(&http, &base, method.clone(), &path, token, body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
            "{method} {path}: {answer}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let after: Vec<Option<Vec<u8>>> = files.iter().map(|f| std::fs::read(f).ok()).collect();
    let sizes = |v: &[Option<Vec<u8>>]| {
        v.iter()
            .map(|f| f.as_ref().map(Vec::len))
            .collect::<Vec<_>>()
    };
    // An absent write-ahead log and an empty one say the same: nothing logged.
    let log_of = |v: &[Option<Vec<u8>>]| v[1].clone().unwrap_or_default();
    assert!(
        before[0] == after[0] && log_of(&before) == log_of(&after),
        "nothing written to the database or its log: {:?} → {:?}",
        sizes(&before),
        sizes(&after)
    );

    // Writable again: nothing was lost, burned or half-done.
    for file in &files {
        set_mode(file, 0o644);
    }
    let again = Server::start(&["--database", database.to_str().unwrap()]);
    let (status, me) = again.get("/v1/me", &a.token).await;
    assert_eq!(
        (status, me["display_name"].as_str()),
        (StatusCode::OK, Some("ada"))
    );
    let (status, body) = again
        .exchange(&pending.flow_id, &mail.code, &pending.verifier)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The two writes of a sign-in: asking for a link, and exchanging the
/// pending flow's code. Then a test's own, as (method, path, token, body).
fn sign_in_writes<'a>(
    pending: &Pending,
    mail: &Mail,
) -> [(Method, String, Option<&'a str>, Option<serde_json::Value>); 2] {
    [
        (
            Method::POST,
            "/v1/auth/email-link".to_owned(),
            None,
            Some(link_request(
                "bob@example.com",
                "D",
                &challenge(&new_verifier()),
            )),
        ),
        (
            Method::POST,
            "/v1/auth/token".to_owned(),
            None,
            Some(
                json!({"flow_id": pending.flow_id, "code": mail.code, "code_verifier": pending.verifier}),
            ),
        ),
    ]
}

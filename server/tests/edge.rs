//! latchd at its edge, against the real binary on loopback (issue 15, part
//! B): who the client is behind a trusted proxy, timeouts and connection
//! caps, event streams that can't outlive their session, and `--dev`
//! answering loopback only. Each test fails on the server before these
//! fixes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SOON: Duration = Duration::from_secs(1);

/// An HTTP client whose every request says it was forwarded for `ip`.
fn forwarded_for(ip: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// `server` as seen from a client at `ip` behind the proxy on 127.0.0.1.
fn via_proxy(server: &mut Server, ip: &str) {
    server.http = forwarded_for(ip);
}

/// The `ip` of the sessions row of `session_id`, as `token` lists it.
async fn session_ip(server: &Server, token: &str, session_id: &str) -> String {
    let (status, list) = server.get("/v1/sessions", token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let row = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == session_id)
        .unwrap_or_else(|| panic!("no row for {session_id}: {list}"))
        .clone();
    row["ip"].as_str().unwrap().to_owned()
}

/// Spends `server`'s per-IP auth budget as the current client: `n` calls
/// answered, then one refused.
async fn spend_auth_budget(server: &Server, n: usize) {
    for i in 0..n {
        let (status, body) = server.email_link(&format!("x{i}@example.com"), "L").await;
        assert_eq!(status, StatusCode::ACCEPTED, "call {i}: {body}");
    }
    let (status, body) = server.email_link("over@example.com", "L").await;
    assert_refused(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

async fn auth_call_status(server: &Server) -> StatusCode {
    server.email_link("ada@example.com", "L").await.0
}

// ------------------------------------------------------- 3. trusted proxy

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit_and_row() {
    // Probe on the old server: every client behind the proxy was 127.0.0.1,
    // so 3 calls from one refused everybody, and rows said 127.0.0.1.
    let mut server = Server::start(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--auth-requests-per-minute",
        "3",
    ]);
    via_proxy(&mut server, "198.51.100.1");
    spend_auth_budget(&server, 3).await;
    via_proxy(&mut server, "198.51.100.2");
    assert_eq!(auth_call_status(&server).await, StatusCode::ACCEPTED);
    // A client that claims an address itself is not believed: the proxy
    // appended what it saw, and that right-most hop is the client.
    via_proxy(&mut server, "198.51.100.2, 198.51.100.1");
    assert_eq!(
        auth_call_status(&server).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    via_proxy(&mut server, "203.0.113.7");
    let ada = server.sign_in(ADA, "Laptop").await;
    assert_eq!(
        session_ip(&server, &ada.token, &ada.session_id).await,
        "203.0.113.7"
    );
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64() {
    let mut server = Server::start(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--auth-requests-per-minute",
        "2",
    ]);
    via_proxy(&mut server, "2001:db8:1:2::1");
    spend_auth_budget(&server, 2).await;
    via_proxy(&mut server, "2001:db8:1:2:ffff:ffff:ffff:fffe");
    assert_eq!(
        auth_call_status(&server).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the same /64 is one client"
    );
    via_proxy(&mut server, "2001:db8:1:3::1");
    assert_eq!(auth_call_status(&server).await, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_or_malformed_is_not_believed() {
    // No --trusted-proxy: the header is anyone's to write.
    let mut server = Server::start(&["--auth-requests-per-minute", "2"]);
    via_proxy(&mut server, "198.51.100.1");
    spend_auth_budget(&server, 2).await;
    via_proxy(&mut server, "198.51.100.2");
    assert_eq!(
        auth_call_status(&server).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    server.http = reqwest::Client::new();
    server.advance_clock("2m").await;
    via_proxy(&mut server, "198.51.100.3");
    let ada = server.sign_in(ADA, "Laptop").await;
    assert_eq!(
        session_ip(&server, &ada.token, &ada.session_id).await,
        "127.0.0.1"
    );

    // A trusted proxy's header that doesn't parse: the proxy's address, logged.
    let mut server = Server::start(&["--trusted-proxy", "127.0.0.0/8"]);
    via_proxy(&mut server, "198.51.100.4, not-an-address");
    let bob = server.sign_in("bob@example.com", "Phone").await;
    assert_eq!(
        session_ip(&server, &bob.token, &bob.session_id).await,
        "127.0.0.1"
    );
    assert!(
        server.log_text().contains("ignored X-Forwarded-For"),
        "{}",
        server.log_text()
    );
}

// --------------------------------------------- 4. streams and their session

/// A raw `GET /v1/events` whose reader takes (almost) nothing: a receive
/// buffer of a few KiB, never read, so latchd's writes stall.
async fn stalled_stream(server: &Server, token: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server_addr(server)).await.unwrap();
    let request = format!(
        "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

fn server_addr(server: &Server) -> std::net::SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

/// Bytes latchd has queued to send on its end of `client` (Linux:
/// `/proc/net/tcp`'s `tx_queue` of the socket whose remote end it is).
#[cfg(target_os = "linux")]
fn queued_to(server: &Server, client: &TcpStream) -> u64 {
    let (server_port, client_port) = (
        server_addr(server).port(),
        client.local_addr().unwrap().port(),
    );
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port_of = |field: &str| u16::from_str_radix(field.rsplit(':').next().unwrap(), 16).unwrap();
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|f| port_of(f[1]) == server_port && port_of(f[2]) == client_port)
        .map(|f| u64::from_str_radix(f[4].split(':').next().unwrap(), 16).unwrap())
        .unwrap_or(0)
}

/// Renames `who` until latchd's writes to `client` stall: its send buffer
/// (autotuned, megabytes on loopback) stops growing. After that the stream
/// isn't polled, so its place in the account's events stays where it was.
#[cfg(target_os = "linux")]
async fn stall(server: &Server, who: &Signed, client: &TcpStream) {
    let mut queued = 0;
    for batch in 0..60 {
        renames(server, who, 500, &format!("fill {batch}")).await;
        let now = queued_to(server, client);
        if now > 0 && now == queued {
            return;
        }
        queued = now;
    }
    panic!("latchd's writes never stalled ({queued} bytes queued)");
}

/// `n` renames of `who`'s device (a `session.updated` each, ~400 bytes on
/// the wire), eight at a time.
async fn renames(server: &Server, who: &Signed, n: usize, tag: &str) {
    let padding = "x".repeat(40);
    futures::stream::iter(0..n)
        .map(|i| {
            let name = format!("{tag} {i} {padding}");
            async move {
                let (status, body) = server.rename_current(&who.token, &name).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// Everything `stream` carries until it ends or `within` passes: the text,
/// and whether it ended — the connection closed, or the chunked response
/// finished (its last chunk, `0`, with the connection kept for another).
async fn drain(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let deadline = tokio::time::Instant::now() + within;
    let mut text = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&text).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&text).into_owned(), true),
            Ok(Ok(n)) => {
                text.extend_from_slice(&buf[..n]);
                if text.ends_with(b"\r\n0\r\n\r\n") {
                    return (String::from_utf8_lossy(&text).into_owned(), true);
                }
            }
        }
    }
}

/// The TCP state of latchd's end of `client` (`/proc/net/tcp`: `01` is
/// established, anything else means latchd closed it).
#[cfg(target_os = "linux")]
fn server_side_state(server: &Server, client: &TcpStream) -> Option<String> {
    server_side(server, client).map(|f| f[3].clone())
}

/// The `/proc/net/tcp` row of latchd's end of `client`.
#[cfg(target_os = "linux")]
fn server_side(server: &Server, client: &TcpStream) -> Option<Vec<String>> {
    let (server_port, client_port) = (
        server_addr(server).port(),
        client.local_addr().unwrap().port(),
    );
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port_of = |field: &str| u16::from_str_radix(field.rsplit(':').next().unwrap(), 16).unwrap();
    table
        .lines()
        .skip(1)
        .map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find(|f| port_of(&f[1]) == server_port && port_of(&f[2]) == client_port)
}

/// The event names in a stream's text, in order.
fn event_names(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("event:"))
        .map(str::trim)
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_stream_that_falls_behind_gets_resync_and_ends_even_past_its_own_revocation() {
    // The probe: a stream stalled, then revoked, then 600 more events. Its
    // revocation fell out of the buffer it lagged behind; the old server
    // sent `resync` and carried on with the account's later events.
    let server = Server::start(&["--send-timeout", "0"]);
    let [victim, other] = server.sign_in_each(ADA, ["Stalled", "Busy"]).await;
    let mut stalled = stalled_stream(&server, &victim.token).await;
    stall(&server, &other, &stalled).await;
    let (status, _) = server
        .delete(&format!("/v1/sessions/{}", victim.session_id), &other.token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    renames(&server, &other, 600, "after").await;

    let read = tokio::spawn(async move { drain(&mut stalled, Duration::from_secs(20)).await });
    // Something after the reader catches up, for an old server to send on.
    tokio::time::sleep(Duration::from_millis(500)).await;
    renames(&server, &other, 1, "later").await;
    let (text, ended) = read.await.unwrap();
    let names = event_names(&text);
    assert!(
        !text.contains(&format!("\"session_id\":\"{}\"", victim.session_id)),
        "the test meant its revocation to be lost in the lag ({} events read)",
        names.len()
    );
    assert_eq!(
        names.last().copied(),
        Some("resync"),
        "resync is the last frame ({} read)",
        names.len()
    );
    assert!(ended, "the stream ended after resync");
    // Reconnecting checks the session.
    let (status, body) = EventStream::open(&server, &victim.token, None)
        .await
        .err()
        .expect("the revoked session can't reconnect");
    assert_refused(status, &body, StatusCode::UNAUTHORIZED, "session_revoked");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_stalled_reader_is_dropped_after_the_send_timeout() {
    // The probe: a stream nobody reads was held, with its buffers, for as
    // long as the socket stayed open.
    let server = Server::start(&["--send-timeout", "2s"]);
    let [reader, other] = server.sign_in_each(ADA, ["Stalled", "Busy"]).await;
    let stalled = stalled_stream(&server, &reader.token).await;
    stall(&server, &other, &stalled).await;
    let stalled_at = Instant::now();
    // Watched without reading: latchd closes its end (it leaves
    // ESTABLISHED, `01`) once the reader has taken nothing for 2 s.
    let deadline = stalled_at + Duration::from_secs(10);
    while server_side_state(&server, &stalled).as_deref() == Some("01") {
        assert!(
            Instant::now() < deadline,
            "latchd still holds the stalled stream 10 s on"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The reader is still signed in: it was dropped for not reading, and
    // may come back.
    let (status, _) = server.get("/v1/me", &reader.token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_session_ended_where_its_stream_cant_hear_ends_the_stream_at_the_next_keep_alive() {
    // The session ends where this server's hub never hears it: written into
    // the database by another process (one latchd serves a database, so
    // not by a second server). The old server's stream went on.
    let first = Server::start(&[]);
    let [a, b] = first.sign_in_each(ADA, ["A", "B"]).await;
    let mut stream = EventStream::open(&first, &a.token, None).await.unwrap();
    first.revoke_in_database(&a.session_id, "B");
    let started = Instant::now();
    assert!(
        stream.closes_within(Duration::from_secs(20)).await,
        "the stream ended at its keep-alive"
    );
    assert!(started.elapsed() < Duration::from_secs(17));
    // A live session's stream is kept past its keep-alives.
    let mut b_stream = EventStream::open(&first, &b.token, None).await.unwrap();
    assert!(!b_stream.closes_within(Duration::from_secs(16)).await);
}

// -------------------------------------------------- 5. timeouts and caps

/// A raw connection to `server`.
async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server_addr(server)).await.unwrap()
}

/// How long until the server closes `stream` (reading and dropping what it
/// sends), or `None` within `within`.
async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let (_, ended) = drain(stream, within).await;
    ended.then(|| started.elapsed())
}

#[tokio::test]
async fn half_a_request_line_is_dropped_after_the_header_read_timeout() {
    // The probe: the old server held this socket forever.
    let server = Server::start(&["--header-read-timeout", "1s"]);
    let mut slow = connect(&server).await;
    slow.write_all(b"GET /v1/server HT").await.unwrap();
    let closed = closed_after(&mut slow, Duration::from_secs(6))
        .await
        .expect("closed within 6 s");
    assert!(closed >= Duration::from_millis(800), "{closed:?}");
    // A connection that sends nothing at all is held no longer.
    let mut silent = connect(&server).await;
    assert!(closed_after(&mut silent, Duration::from_secs(6))
        .await
        .is_some());
    // And the server still answers.
    let (status, _) = server.call(Method::GET, "/v1/server", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

/// One `GET /v1/server` on `stream`, read to the end of its body.
async fn one_request(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /v1/server HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("}") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed mid-answer");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(seen.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_closes_but_an_open_stream_does_not() {
    let server = Server::start(&[
        "--idle-connection-timeout",
        "1s",
        "--header-read-timeout",
        "30s",
    ]);
    let mut idle = connect(&server).await;
    one_request(&mut idle).await;
    let closed = closed_after(&mut idle, Duration::from_secs(6))
        .await
        .expect("the idle connection closed");
    assert!(closed >= Duration::from_millis(800), "{closed:?}");

    let [a, b] = server.sign_in_each(ADA, ["A", "B"]).await;
    let mut stream = EventStream::open(&server, &a.token, None).await.unwrap();
    // The timeout is the subject: wait past it, then see the stream work.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.rename_current(&b.token, "B renamed").await;
    let frame = stream.next(SOON).await.expect("the stream is still open");
    assert_eq!(frame.event, "session.updated");
}

#[tokio::test]
async fn connections_past_the_per_ip_cap_are_refused_and_logged() {
    let server = Server::start(&["--max-connections-per-ip", "3"]);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = connect(&server).await;
        one_request(&mut c).await;
        held.push(c);
    }
    let mut over = connect(&server).await;
    assert!(
        closed_after(&mut over, Duration::from_secs(2))
            .await
            .is_some(),
        "the fourth connection is closed at once"
    );
    assert!(
        server
            .log_text()
            .contains("--max-connections-per-ip reached"),
        "{}",
        server.log_text()
    );
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = connect(&server).await;
        c.write_all(b"GET /v1/server HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 12];
        if matches!(c.read(&mut buf).await, Ok(12)) && buf.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "a freed place is taken again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_per_ip_cap_counts_forwarded_clients_not_the_proxy() {
    let mut server = Server::start(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--max-connections-per-ip",
        "2",
    ]);
    let ada = server.sign_in(ADA, "A").await;
    via_proxy(&mut server, "198.51.100.1");
    // Each stream is a connection of its own from the proxy (127.0.0.1):
    // four of them, over the cap of 2, because the proxy isn't counted.
    let _one = EventStream::open(&server, &ada.token, None).await.unwrap();
    let _two = EventStream::open(&server, &ada.token, None).await.unwrap();
    let (status, body) = EventStream::open(&server, &ada.token, None)
        .await
        .err()
        .expect("a third stream for 198.51.100.1 is refused");
    assert_refused(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    via_proxy(&mut server, "198.51.100.2");
    let _three = EventStream::open(&server, &ada.token, None).await.unwrap();
    let _four = EventStream::open(&server, &ada.token, None).await.unwrap();
    assert!(server
        .log_text()
        .contains("--max-connections-per-ip reached"));
}

#[tokio::test]
async fn connections_past_the_total_cap_are_refused_and_logged() {
    let server = Server::start(&["--max-connections", "3", "--max-connections-per-ip", "0"]);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = connect(&server).await;
        one_request(&mut c).await;
        held.push(c);
    }
    let mut over = connect(&server).await;
    assert!(closed_after(&mut over, Duration::from_secs(2))
        .await
        .is_some());
    assert!(
        server.log_text().contains("--max-connections reached"),
        "{}",
        server.log_text()
    );
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_file_limit_below_max_connections_lowers_the_cap_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("latchd.log");
    let database = dir.path().join("latchd.sqlite3");
    let args: Vec<String> = [
        "--nofile=128:128",
        latch_testkit::latchd_binary().to_str().unwrap(),
        "--dev",
        "--listen",
        "127.0.0.1:0",
        "--database",
        database.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (mut child, base) = latch_testkit::spawn(std::path::Path::new("prlimit"), &args, &[], &log);
    let text = std::fs::read_to_string(&log).unwrap();
    let answered = reqwest::get(format!("{base}/v1/server"))
        .await
        .unwrap()
        .status();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answered, StatusCode::OK);
    assert!(text.contains("lowered --max-connections to 64"), "{text}");
}

// ------------------------------------------------ 8. dev mode, loopback only

/// `GET path` on `server` with `Host: host`.
async fn with_host(server: &Server, path: &str, host: &str) -> (StatusCode, Value) {
    let response = server
        .http
        .get(server.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn dev_answers_only_loopback_host_names() {
    // The probe: a page on rebind.example (resolving to 127.0.0.1) read the
    // old server's mailbox.
    let server = Server::start(&[]);
    server.request_link(ADA, "Laptop").await;
    let port = server_addr(&server).port();
    for host in [
        "rebind.example",
        &format!("rebind.example:{port}"),
        "10.0.0.1",
    ] {
        for path in ["/dev/mailbox.json", "/v1/server", "/nowhere"] {
            let (status, body) = with_host(&server, path, host).await;
            assert_refused(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
        }
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_owned(),
    ] {
        let (status, mails) = with_host(&server, "/dev/mailbox.json", &host).await;
        assert_eq!(status, StatusCode::OK, "{host}");
        assert_eq!(mails.as_array().map(Vec::len), Some(1), "{host}");
    }
    // Without --dev a server behind a proxy answers its own names.
    let server = Server::start_with(false, &["--smtp-url", "smtp://127.0.0.1:9"], &[]);
    let (status, _) = with_host(&server, "/v1/server", "accounts.example.com").await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn dev_refuses_a_public_url_that_is_not_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchd"))
        .args(["--dev", "--listen", "127.0.0.1:0"])
        .args(["--public-url", "https://accounts.example.com/"])
        .env("LATCHD_DATABASE", dir.path().join("db.sqlite3"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--public-url") && stderr.contains("loopback"),
        "{stderr}"
    );
}

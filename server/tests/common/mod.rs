//! The harness every server test uses: a real `latchd` process on an
//! ephemeral loopback port with its own SQLite file, and small helpers that
//! speak the wire contract with reqwest.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::StreamExt;
use rand::RngCore;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub struct Server {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    child: Child,
    pub http: reqwest::Client,
}

impl Server {
    /// `latchd --dev` with the limits off unless `extra` sets them.
    pub fn start(extra: &[&str]) -> Server {
        Server::start_with(true, extra, &[])
    }

    /// `dev` adds `--dev`; `env` is added to the process environment.
    pub fn start_with(dev: bool, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("latchd.log");
        let database = dir.path().join("latchd.sqlite3");
        let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
        if !extra.contains(&"--database") {
            args.extend(["--database".to_owned(), database.display().to_string()]);
        }
        if dev {
            args.push("--dev".into());
        }
        for (flag, off) in [
            ("--email-link-interval", "0"),
            ("--email-link-per-hour", "0"),
            ("--auth-requests-per-minute", "0"),
        ] {
            let env_name = format!(
                "LATCHD_{}",
                flag.trim_start_matches('-')
                    .replace('-', "_")
                    .to_uppercase()
            );
            if !extra.contains(&flag) && !env.iter().any(|(k, _)| *k == env_name) {
                args.extend([flag.to_owned(), off.to_owned()]);
            }
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_latchd"));
        let (child, base) = latch_testkit::spawn(binary, &args, env, &log);
        Server {
            base,
            dir,
            log,
            child,
            http: reqwest::Client::new(),
        }
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("latchd.sqlite3")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; answers (status, JSON body or Null).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, body) = self.call_full(method, path, token, body).await;
        (status, body)
    }

    pub async fn call_full(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, headers, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// Starts a flow for `email` from a device called `device`.
    pub async fn request_link(&self, email: &str, device: &str) -> Pending {
        let verifier = new_verifier();
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/auth/email-link",
                None,
                Some(link_request(email, device, &challenge(&verifier))),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        Pending {
            flow_id: body["flow_id"].as_str().unwrap().to_owned(),
            verifier,
        }
    }

    /// The newest mail to `email` in the dev mailbox: (flow, code as ABCD-EFGH).
    /// `GET /dev/mailbox.json`: every mail sent so far, newest first.
    pub async fn mailbox(&self) -> Value {
        let response = self
            .http
            .get(self.url("/dev/mailbox.json"))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    pub async fn mail_for(&self, email: &str) -> Mail {
        let email = email.trim().to_lowercase();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mails = self.mailbox().await;
            if let Some(mail) = mails.as_array().unwrap().iter().find(|m| m["to"] == email) {
                return Mail::parse(mail["text"].as_str().unwrap());
            }
            assert!(Instant::now() < deadline, "no mail to {email}: {mails}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn exchange(&self, flow_id: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"flow_id": flow_id, "code": code, "code_verifier": verifier})),
        )
        .await
    }

    /// A full sign-in by emailed code: the new session.
    pub async fn sign_in(&self, email: &str, device: &str) -> Signed {
        let pending = self.request_link(email, device).await;
        let mail = self.mail_for(email).await;
        assert_eq!(mail.flow_id, pending.flow_id);
        let (status, body) = self
            .exchange(&pending.flow_id, &mail.code, &pending.verifier)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Signed {
            token: body["session_token"].as_str().unwrap().to_owned(),
            session_id: body["session"]["id"].as_str().unwrap().to_owned(),
            account_id: body["account"]["id"].as_str().unwrap().to_owned(),
            device: device.to_owned(),
        }
    }

    pub async fn advance_clock(&self, by: &str) {
        let (status, body) = self
            .call(
                Method::POST,
                "/dev/clock",
                None,
                Some(json!({"advance": by})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "latchd did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Pending {
    pub flow_id: String,
    pub verifier: String,
}

pub use latch_testkit::Mail;

#[derive(Debug, Clone)]
pub struct Signed {
    pub token: String,
    pub session_id: String,
    pub account_id: String,
    pub device: String,
}

pub fn new_verifier() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn device(name: &str) -> Value {
    json!({"name": name, "platform": "linux", "os_version": "Debian 12", "app": "desktop", "app_version": "0.1.0"})
}

pub fn link_request(email: &str, device_name: &str, challenge: &str) -> Value {
    json!({"email": email, "code_challenge": challenge, "code_challenge_method": "S256", "device": device(device_name)})
}

/// One frame of an SSE stream.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// A reader of `GET /v1/events` that parses frames as they arrive.
pub struct EventStream {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
    pub ended: bool,
}

impl EventStream {
    pub async fn open(
        server: &Server,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Result<EventStream, (StatusCode, Value)> {
        let mut request = server.http.get(server.url("/v1/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        if response.status() != StatusCode::OK {
            let status = response.status();
            return Err((status, response.json().await.unwrap_or(Value::Null)));
        }
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Ok(EventStream {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            ended: false,
        })
    }

    /// The next event within `within`, or None if the stream ended or nothing came.
    pub async fn next(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame {
                    id: None,
                    event: "message".into(),
                    data: Value::Null,
                };
                let mut data = String::new();
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        frame.id = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        frame.event = v.trim().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    frame.data = serde_json::from_str(&data).unwrap_or(Value::Null);
                    return Some(frame);
                }
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => self.ended = true,
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
    }

    /// The next event that isn't of the given names (e.g. skip session.updated).
    pub async fn next_named(&mut self, name: &str, within: Duration) -> Option<Frame> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self.next(left).await?;
            if frame.event == name {
                return Some(frame);
            }
        }
    }

    /// True when the server closes the stream within `within`.
    pub async fn closes_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if self.next(left).await.is_none() && !self.ended {
                return false;
            }
        }
        true
    }
}

pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// `span` is `expected` plus the real time a test takes (under 5 s).
pub fn about(span: chrono::Duration, expected: chrono::Duration) -> bool {
    span >= expected && span < expected + chrono::Duration::seconds(5)
}

/// Every way a secret could be written down: raw, without the hyphen,
/// lower-case, percent-encoded.
pub fn forms(secret: &str) -> Vec<String> {
    let compact = secret.replace('-', "");
    let mut forms = vec![
        secret.to_owned(),
        compact.clone(),
        secret.to_lowercase(),
        compact.to_lowercase(),
    ];
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    forms.push(encoded);
    // `-` needs no escaping, but a link may carry it escaped anyway.
    forms.push(secret.replace('-', "%2D"));
    forms.push(secret.replace('-', "%2d"));
    forms.sort();
    forms.dedup();
    forms
}

pub fn assert_absent(haystack: &[u8], what: &str, secrets: &[(String, &str)]) {
    // One pass over the bytes for every form of every secret: a debug
    // build's naive search would take minutes over a database and its WAL.
    let mut patterns = Vec::new();
    let mut names = Vec::new();
    for (secret, kind) in secrets {
        for form in forms(secret) {
            names.push(format!("a {kind} ({form})"));
            patterns.push(form);
        }
    }
    let matcher = aho_corasick::AhoCorasick::new(&patterns).unwrap();
    if let Some(found) = matcher.find(haystack) {
        panic!("{what} contains {}", names[found.pattern().as_usize()]);
    }
}

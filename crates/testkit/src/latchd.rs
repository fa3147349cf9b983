//! A dev-mode `latchd` on loopback, and the wire calls tests make to it.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::mail::Mail;
use crate::pkce::{challenge, new_verifier};
use crate::process::{latchd_binary, spawn};

/// A latchd process with its own database, `--dev` unless started without,
/// and the limits (and the per-IP connection cap) off unless `extra` (or
/// the environment) sets them.
pub struct Latchd {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    pub http: reqwest::Client,
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    child: Option<Child>,
}

impl Latchd {
    pub fn start(extra: &[&str]) -> Latchd {
        Self::start_with(true, extra, &[])
    }

    /// `start` with extra environment (e.g. `RUST_LOG=trace`), kept for
    /// restarts.
    pub fn start_with_env(extra: &[&str], env: &[(&'static str, &'static str)]) -> Latchd {
        Self::start_with(true, extra, env)
    }

    /// `dev` adds `--dev`; `env` is added to the process environment. A
    /// limit set by `extra` or by its `LATCHD_*` variable stays as set.
    pub fn start_with(dev: bool, extra: &[&str], env: &[(&'static str, &'static str)]) -> Latchd {
        let dir = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec!["--listen".into(), "127.0.0.1:0".into()];
        if !extra.contains(&"--database") {
            let database = dir.path().join("latchd.sqlite3");
            args.extend(["--database".to_owned(), database.display().to_string()]);
        }
        if dev {
            args.push("--dev".into());
        }
        for (flag, off) in [
            ("--email-link-interval", "0"),
            ("--email-link-per-hour", "0"),
            ("--email-link-per-hour-total", "0"),
            ("--mail-per-domain-per-hour", "0"),
            ("--mail-per-hour", "0"),
            ("--auth-requests-per-minute", "0"),
            // Every test client is 127.0.0.1: the per-IP connection cap
            // is tested where it is the subject (server/tests/edge.rs).
            ("--max-connections-per-ip", "0"),
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
        let log = dir.path().join("latchd.log");
        let (child, base) = spawn(&latchd_binary(), &args, env, &log);
        // Restarts reuse the port the first start was given.
        let port = base.rsplit(':').next().unwrap().to_owned();
        if let Some(i) = args.iter().position(|a| a == "127.0.0.1:0") {
            args[i] = format!("127.0.0.1:{port}");
        }
        Latchd {
            base,
            dir,
            log,
            http: reqwest::Client::new(),
            args,
            env: env.to_vec(),
            child: Some(child),
        }
    }

    /// Kills the server (SIGKILL: no goodbye to anyone).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("latchd is running");
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "latchd did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts it again on the same port with the same database.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.dir.path().join("latchd.restart.log");
            let attempt =
                std::panic::catch_unwind(|| spawn(&latchd_binary(), &self.args, &self.env, &log));
            match attempt {
                Ok((child, base)) => {
                    assert_eq!(base, self.base);
                    self.child = Some(child);
                    return;
                }
                // The port may take a moment to be free again.
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    }

    /// The database file (unless `--database` was passed).
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("latchd.sqlite3")
    }

    /// Ends a session in the database file itself, where this server's
    /// event hub doesn't hear it (as another process writing the file
    /// would): what a stream's own checks must catch.
    pub fn revoke_in_database(&self, session_id: &str, by_device: &str) {
        let db = rusqlite::Connection::open(self.database()).unwrap();
        let revoked = db
            .execute(
                "UPDATE sessions SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000,
                 revoked_reason = 'terminated', revoked_by_device = ?2
                 WHERE id = ?1 AND revoked_at IS NULL",
                [session_id, by_device],
            )
            .unwrap();
        assert_eq!(revoked, 1, "no live session {session_id}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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

    /// `call`, with the response's headers.
    pub async fn call_full(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        call_at(&self.http, &self.base, method, path, token, body).await
    }

    /// The text of an unauthenticated GET of `url` (a page), whatever its status.
    pub async fn text(&self, url: impl reqwest::IntoUrl) -> String {
        let response = self.http.get(url).send().await.unwrap();
        response.text().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// A `POST` without a body.
    pub async fn post(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), None).await
    }

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// `POST /v1/sessions/current/heartbeat` with `state` (`active`, `idle`).
    pub async fn heartbeat(&self, token: &str, state: &str) -> (StatusCode, Value) {
        let body = json!({ "state": state });
        self.post_json("/v1/sessions/current/heartbeat", token, body)
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Starts a flow for `email` from a Linux desktop called `device`.
    pub async fn request_link(&self, email: &str, device: &str) -> Pending {
        self.request_link_from(email, self::device(device)).await
    }

    /// Starts a flow for `email` from `device` (its JSON).
    pub async fn request_link_from(&self, email: &str, device: Value) -> Pending {
        let verifier = new_verifier();
        let request = json!({"email": email, "code_challenge": challenge(&verifier),
                             "code_challenge_method": "S256", "device": device});
        let (status, body) = self
            .call(Method::POST, "/v1/auth/email-link", None, Some(request))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        Pending {
            flow_id: body["flow_id"].as_str().unwrap().to_owned(),
            verifier,
        }
    }

    /// `POST /v1/auth/email-link` for `email` from a Linux desktop called
    /// `device`, with a fresh challenge, whatever the answer.
    pub async fn email_link(&self, email: &str, device: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.email_link_full(email, device).await;
        (status, body)
    }

    /// `email_link`, with the response's headers.
    pub async fn email_link_full(
        &self,
        email: &str,
        device: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let request = link_request(email, device, &challenge(&new_verifier()));
        self.call_full(Method::POST, "/v1/auth/email-link", None, Some(request))
            .await
    }

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

    /// The newest mail to `email` in the dev mailbox.
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

    /// `POST /v1/auth/token`.
    pub async fn exchange(&self, flow_id: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"flow_id": flow_id, "code": code, "code_verifier": verifier})),
        )
        .await
    }

    /// A full sign-in by emailed code from a Linux desktop: the new session.
    pub async fn sign_in(&self, email: &str, device: &str) -> Signed {
        let pending = self.request_link(email, device).await;
        let mail = self.mail_for(email).await;
        assert_eq!(mail.flow_id, pending.flow_id);
        pending.finish(self, &mail.code).await
    }

    /// Renames the device of the session `token` is (`PATCH /v1/sessions/current`).
    pub async fn rename_current(&self, token: &str, name: &str) -> (StatusCode, Value) {
        let body = json!({ "device_name": name });
        self.patch("/v1/sessions/current", token, body).await
    }

    /// Signs `email` in on each device in turn: the sessions, in that order.
    pub async fn sign_in_each<const N: usize>(
        &self,
        email: &str,
        devices: [&str; N],
    ) -> [Signed; N] {
        let mut signed = Vec::with_capacity(N);
        for device in devices {
            signed.push(self.sign_in(email, device).await);
        }
        match signed.try_into() {
            Ok(all) => all,
            Err(_) => unreachable!("one session a device"),
        }
    }

    /// Moves the dev clock (`90s`, `10m`, `15d`).
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
}

/// Sends a request to the server at `base` (any latchd, also one started
/// by hand); answers (status, headers, JSON body or Null).
pub async fn call_at(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = http.request(method, format!("{base}{path}"));
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

impl Drop for Latchd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A sign-in started over HTTP: its flow and the PKCE verifier that finishes it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub flow_id: String,
    pub verifier: String,
}

impl Pending {
    /// Asks `server` to mail `email` a link for device `name`, a mobile app
    /// on `platform` (another client of the account: a phone, a browser).
    pub async fn start(server: &Latchd, email: &str, name: &str, platform: &str) -> Pending {
        server
            .request_link_from(email, mobile_device(name, platform))
            .await
    }

    /// Exchanges the mailed `code` for a session.
    pub async fn finish(&self, server: &Latchd, code: &str) -> Signed {
        let (status, body) = server.exchange(&self.flow_id, code, &self.verifier).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Signed {
            token: body["session_token"].as_str().unwrap().to_owned(),
            session_id: body["session"]["id"].as_str().unwrap().to_owned(),
            account_id: body["account"]["id"].as_str().unwrap().to_owned(),
            device: body["session"]["device"]["name"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }
}

/// A device signed in over HTTP.
#[derive(Debug, Clone)]
pub struct Signed {
    pub token: String,
    pub session_id: String,
    pub account_id: String,
    /// Its device name, as the server keeps it.
    pub device: String,
}

/// A Linux desktop app called `name`, as a request's `device`.
pub fn device(name: &str) -> Value {
    json!({"name": name, "platform": "linux", "os_version": "Debian 12", "app": "desktop", "app_version": "0.1.0"})
}

/// A mobile app called `name` on `platform`, as a request's `device`.
pub fn mobile_device(name: &str, platform: &str) -> Value {
    json!({"name": name, "platform": platform, "os_version": "14", "app": "mobile", "app_version": "1.0.0"})
}

/// A `POST /v1/auth/email-link` body.
pub fn link_request(email: &str, device_name: &str, challenge: &str) -> Value {
    json!({"email": email, "code_challenge": challenge, "code_challenge_method": "S256", "device": device(device_name)})
}

//! `latch-soak`: many simulated clients signing in, listing, renaming and
//! signing out concurrently against one `latchd` over loopback, twice, and
//! the figures that say whether it held up:
//!
//! * no 5xx answer and no unexpected answer at all;
//! * at least `--min-ops` operations per run (default 10,000);
//! * no revoked session accepted (each one is tried right after its sign-out
//!   and again, all of them, at the end of the run);
//! * latchd's memory (RSS and USS — the pages only latchd holds — from
//!   /proc) after the second run within 10% of after the first. Not PSS:
//!   it splits shared pages among the processes mapping them, so another
//!   process starting or ending the same binary (a test, a benchmark) moved
//!   it by 40% between two identical runs. Both follow a short warm-up of the same load
//!   (not counted), which fills what is bounded but starts empty — SQLite's
//!   page cache (2 MiB), the event hub's ring, the allocator's arenas — so
//!   the comparison sees growth, not filling: without it the first run ends
//!   ~5–10% lower and every later run level with the second.
//!
//! latchd runs as in production — no `--dev` — with the three limits off and
//! its mail going to an SMTP sink in this process, which hands each sign-in
//! code to the simulated client it was sent to. (The dev mailbox would keep
//! every mail in memory and grow by design.)
//!
//! `cargo run --release -p latch-soak [-- --clients 200 --seconds 60]`;
//! exits non-zero when any check fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::StreamExt;
use rand::RngCore;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

struct Args {
    clients: usize,
    seconds: u64,
    runs: usize,
    warmup: u64,
    min_ops: u64,
    latchd: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        clients: 200,
        seconds: 60,
        runs: 2,
        warmup: 10,
        min_ops: 10_000,
        latchd: std::env::var_os("LATCHD_BIN").map(PathBuf::from),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--clients" => args.clients = number(value()?)? as usize,
            "--seconds" => args.seconds = number(value()?)?,
            "--runs" => args.runs = (number(value()?)? as usize).max(1),
            "--min-ops" => args.min_ops = number(value()?)?,
            "--warmup" => args.warmup = number(value()?)?,
            "--latchd" => args.latchd = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!(
                    "latch-soak [--clients 200] [--seconds 60] [--runs 2] [--warmup 10] [--min-ops 10000] [--latchd PATH]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

// ------------------------------------------------------------------ latchd

/// `latchd` beside this executable (same profile), built first if missing.
fn latchd_binary(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = flag {
        return Ok(path);
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no directory for this executable")?;
    let binary = dir.join(format!("latchd{}", std::env::consts::EXE_SUFFIX));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "latchd"]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    // Always asked, so a stale latchd is rebuilt; a no-op when it is fresh.
    match build.status() {
        Ok(status) if status.success() => {}
        _ if binary.exists() => eprintln!("soak: couldn't rebuild latchd; using the one there"),
        _ => return Err("building latchd failed".into()),
    }
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!("no latchd at {}", binary.display()))
    }
}

struct Latchd {
    child: std::process::Child,
    base: String,
}

impl Latchd {
    fn start(binary: &Path, dir: &Path, smtp_port: u16) -> Result<Latchd, String> {
        let log = std::fs::File::create(dir.join("latchd.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(dir.join("latchd.sqlite3"))
            .args(["--smtp-url", &format!("smtp://127.0.0.1:{smtp_port}")])
            .args(["--email-link-interval", "0"])
            .args(["--email-link-per-hour", "0"])
            .args(["--auth-requests-per-minute", "0"])
            // Every soak account is @example.com and asked for from one IP:
            // the per-domain, per-inbox total and cost caps would measure
            // themselves, not the server.
            .args(["--email-link-per-hour-total", "0"])
            .args(["--mail-per-domain-per-hour", "0"])
            .args(["--mail-per-hour", "0"])
            // 200 clients from one address, each with its stream and its
            // calls' connections: the per-IP cap would measure itself.
            .args(["--max-connections-per-ip", "0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("can't start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .map_err(|e| e.to_string())?;
        let base = line
            .trim()
            .strip_prefix("latchd listening on ")
            .map(str::to_owned)
            .ok_or_else(|| format!("latchd did not start: {line:?}"))?;
        Ok(Latchd { child, base })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Latchd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (RSS, USS) in KiB: USS is what only this process holds (its private
/// pages), which no other process can move.
fn memory_kib(pid: u32) -> Result<(u64, u64), String> {
    let field = |path: String, name: &str| -> Result<u64, String> {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("no {name} in {path}"))
    };
    let rollup = format!("/proc/{pid}/smaps_rollup");
    Ok((
        field(format!("/proc/{pid}/status"), "VmRSS:")?,
        field(rollup.clone(), "Private_Clean:")? + field(rollup, "Private_Dirty:")?,
    ))
}

/// Where the RSS is, from /proc/PID/smaps: "heap 12 MiB, anon 20 MiB, …".
fn rss_by_mapping(pid: u32) -> String {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) else {
        return String::new();
    };
    let mut kinds: Vec<(String, u64)> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            let path = line.split_whitespace().nth(5).unwrap_or("anon");
            current = match path {
                "[heap]" | "[stack]" | "anon" => path.to_owned(),
                p if p.ends_with("-shm") => "sqlite-shm".to_owned(),
                p if p.contains("latchd") => "binary".to_owned(),
                _ => "other".to_owned(),
            };
        } else if first == "Rss:" {
            let kib: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            match kinds.iter_mut().find(|(k, _)| *k == current) {
                Some((_, sum)) => *sum += kib,
                None => kinds.push((current.clone(), kib)),
            }
        }
    }
    kinds
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

// -------------------------------------------------------------- SMTP sink

/// Each simulated client's inbox, by address.
type Inboxes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<String>>>>;

async fn smtp_sink(listener: TcpListener, inboxes: Inboxes, mails: Arc<AtomicU64>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let inboxes = inboxes.clone();
        let mails = mails.clone();
        tokio::spawn(async move {
            if let Err(e) = smtp_session(socket, inboxes, mails).await {
                eprintln!("soak: SMTP sink: {e}");
            }
        });
    }
}

/// Just enough SMTP for lettre: greet, EHLO, MAIL, RCPT, DATA, QUIT.
async fn smtp_session(
    socket: TcpStream,
    inboxes: Inboxes,
    mails: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 soak-sink ESMTP\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.to_ascii_uppercase();
        if command.starts_with("EHLO") {
            write
                .write_all(b"250-soak-sink\r\n250 8BITMIME\r\n")
                .await?;
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if command.starts_with("RCPT TO") {
            let to = line
                .split_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(address, _)| address.to_lowercase())
                .unwrap_or_default();
            recipients.push(to);
            write.write_all(b"250 OK\r\n").await?;
        } else if command.starts_with("DATA") {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut body = String::new();
            loop {
                line.clear();
                if read.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                body.push_str(&line);
            }
            mails.fetch_add(1, Ordering::Relaxed);
            if let Some(code) = code_in(&body) {
                if let Ok(inboxes) = inboxes.lock() {
                    for to in &recipients {
                        if let Some(inbox) = inboxes.get(to) {
                            let _ = inbox.send(code.clone());
                        }
                    }
                }
            }
            write.write_all(b"250 OK queued\r\n").await?;
        } else if command.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

/// The `ABCD-EFGH` after "Or type this code in Latch: ".
fn code_in(body: &str) -> Option<String> {
    let marker = "Or type this code in Latch: ";
    let start = body.find(marker)? + marker.len();
    body.get(start..start + 9).map(str::to_owned)
}

// ---------------------------------------------------------------- clients

#[derive(Default)]
struct Stats {
    ops: AtomicU64,
    cycles: AtomicU64,
    server_errors: AtomicU64,
    unexpected: AtomicU64,
    revoked_accepted: AtomicU64,
    /// The first few things that went wrong, for the report.
    problems: Mutex<Vec<String>>,
}

impl Stats {
    fn problem(&self, what: String) {
        if let Ok(mut problems) = self.problems.lock() {
            if problems.len() < 10 {
                problems.push(what);
            }
        }
    }
}

struct Shared {
    http: reqwest::Client,
    base: String,
    stats: Stats,
    /// Every token signed out in this run, tried again at the end.
    revoked: Mutex<Vec<String>>,
}

impl Shared {
    /// A bodiless call as the holder of `token`.
    async fn authed(&self, method: Method, path: &str, token: &str, expect: u16) -> Option<Value> {
        self.call(method, path, Some(token), None, expect).await
    }

    /// One call; answers its JSON (or Null) when the status is `expect`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expect: u16,
    ) -> Option<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                self.stats.unexpected.fetch_add(1, Ordering::Relaxed);
                self.stats.problem(format!("{method} {path}: {e}"));
                return None;
            }
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap_or_default();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status >= 500 {
            self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        if status != expect {
            if status < 500 {
                self.stats.unexpected.fetch_add(1, Ordering::Relaxed);
            }
            self.stats.problem(format!(
                "{method} {path}: {status} (expected {expect}) {value}"
            ));
            return None;
        }
        self.stats.ops.fetch_add(1, Ordering::Relaxed);
        Some(value)
    }

    /// A signed-out token must get `401 session_revoked`; anything else
    /// that isn't a 5xx means the session was still accepted.
    async fn check_revoked(&self, token: &str) {
        let answer = self
            .http
            .get(format!("{}/v1/sessions", self.base))
            .bearer_auth(token)
            .send()
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(e) => {
                self.stats.unexpected.fetch_add(1, Ordering::Relaxed);
                self.stats.problem(format!("revocation check: {e}"));
                return;
            }
        };
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status == 401 && body["error"] == "session_revoked" {
            self.stats.ops.fetch_add(1, Ordering::Relaxed);
        } else if status >= 500 {
            self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
            self.stats
                .problem(format!("revocation check: {status} {body}"));
        } else {
            self.stats.revoked_accepted.fetch_add(1, Ordering::Relaxed);
            self.stats
                .problem(format!("a signed-out token was answered {status} {body}"));
        }
    }
}

struct Signed {
    token: String,
    id: String,
}

async fn sign_in(
    shared: &Shared,
    email: &str,
    device: &str,
    inbox: &mut mpsc::UnboundedReceiver<String>,
) -> Option<Signed> {
    // A code left over from a cycle that failed half-way belongs to an older flow.
    while inbox.try_recv().is_ok() {}
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let started = shared
        .call(
            Method::POST,
            "/v1/auth/email-link",
            None,
            Some(json!({
                "email": email, "code_challenge": challenge, "code_challenge_method": "S256",
                "device": {"name": device, "platform": "linux", "os_version": "Soak 1",
                           "app": "desktop", "app_version": "0.1.0"}
            })),
            202,
        )
        .await?;
    let flow_id = started["flow_id"].as_str()?.to_owned();
    let Ok(Some(code)) = tokio::time::timeout(Duration::from_secs(30), inbox.recv()).await else {
        shared.stats.unexpected.fetch_add(1, Ordering::Relaxed);
        shared.stats.problem(format!("no mail to {email} in 30 s"));
        return None;
    };
    let signed = shared
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"flow_id": flow_id, "code": code, "code_verifier": verifier})),
            200,
        )
        .await?;
    Some(Signed {
        token: signed["session_token"].as_str()?.to_owned(),
        id: signed["session"]["id"].as_str()?.to_owned(),
    })
}

/// One account, two devices: sign both in, list, rename, sign out by one of
/// the four ways (in turn), and check both tokens are refused after.
async fn cycle(
    shared: &Shared,
    email: &str,
    n: u64,
    inbox: &mut mpsc::UnboundedReceiver<String>,
) -> Option<()> {
    let a = sign_in(shared, email, "Soak laptop", inbox).await?;
    let b = sign_in(shared, email, "Soak phone", inbox).await?;
    let mut signed_out = Vec::new();
    let result = async {
        let list = shared
            .authed(Method::GET, "/v1/sessions", &a.token, 200)
            .await?;
        let ids: Vec<&str> = list["sessions"]
            .as_array()?
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        if ids.first() != Some(&a.id.as_str()) || !ids.contains(&b.id.as_str()) {
            shared.stats.unexpected.fetch_add(1, Ordering::Relaxed);
            shared
                .stats
                .problem(format!("list without both devices, current first: {list}"));
        }
        shared
            .call(
                Method::PATCH,
                &format!("/v1/sessions/{}", b.id),
                Some(&a.token),
                Some(json!({"device_name": format!("Phone {n}")})),
                200,
            )
            .await?;
        shared
            .call(
                Method::PATCH,
                "/v1/sessions/current",
                Some(&a.token),
                Some(json!({"device_name": format!("Laptop {n}")})),
                200,
            )
            .await?;
        shared
            .authed(Method::GET, "/v1/sessions", &b.token, 200)
            .await?;
        match n % 4 {
            0 => {
                for s in [&a, &b] {
                    shared
                        .authed(Method::DELETE, "/v1/sessions/current", &s.token, 204)
                        .await?;
                    signed_out.push(s.token.clone());
                }
            }
            1 | 2 => {
                // B goes first (by its id, or as one of "the others"), then A.
                let by_id = format!("/v1/sessions/{}", b.id);
                let (method, path, status) = if n % 4 == 1 {
                    (Method::DELETE, by_id.as_str(), 204)
                } else {
                    (Method::POST, "/v1/sessions/revoke-others", 200)
                };
                shared.authed(method, path, &a.token, status).await?;
                signed_out.push(b.token.clone());
                shared
                    .authed(Method::DELETE, "/v1/sessions/current", &a.token, 204)
                    .await?;
                signed_out.push(a.token.clone());
            }
            _ => {
                let revoked = shared
                    .authed(Method::POST, "/v1/sessions/revoke-all", &a.token, 200)
                    .await?;
                if revoked["revoked"].as_u64().unwrap_or(0) < 2 {
                    shared.stats.unexpected.fetch_add(1, Ordering::Relaxed);
                    shared
                        .stats
                        .problem(format!("revoke-all signed out fewer than 2: {revoked}"));
                }
                signed_out.extend([a.token.clone(), b.token.clone()]);
            }
        }
        Some(())
    }
    .await;
    for token in &signed_out {
        shared.check_revoked(token).await;
    }
    if let Ok(mut revoked) = shared.revoked.lock() {
        revoked.extend(signed_out);
    }
    if result.is_some() {
        shared.stats.cycles.fetch_add(1, Ordering::Relaxed);
    }
    result
}

struct RunFigures {
    ops: u64,
    cycles: u64,
    elapsed: Duration,
    server_errors: u64,
    unexpected: u64,
    revoked_accepted: u64,
    revoked_checked: usize,
    problems: Vec<String>,
}

async fn run(base: &str, inboxes: &Inboxes, clients: usize, seconds: u64) -> RunFigures {
    let shared = Arc::new(Shared {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default(),
        base: base.to_owned(),
        stats: Stats::default(),
        revoked: Mutex::new(Vec::new()),
    });
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let email = format!("soak{i}@example.com");
        let (tx, mut rx) = mpsc::unbounded_channel();
        if let Ok(mut inboxes) = inboxes.lock() {
            inboxes.insert(email.clone(), tx);
        }
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                if cycle(&shared, &email, n, &mut rx).await.is_none() {
                    // Don't spin on a failure; it is counted already.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                n += 1;
            }
        }));
    }
    for task in tasks {
        if task.await.is_err() {
            shared.stats.unexpected.fetch_add(1, Ordering::Relaxed);
            shared.stats.problem("a client task panicked".into());
        }
    }
    let elapsed = started.elapsed();
    let ops = shared.stats.ops.load(Ordering::Relaxed);
    // Every token signed out during the run, once more now that all is quiet.
    let revoked: Vec<String> = shared.revoked.lock().map(|r| r.clone()).unwrap_or_default();
    futures::stream::iter(revoked.iter())
        .for_each_concurrent(16, |token| {
            let shared = shared.clone();
            async move { shared.check_revoked(token).await }
        })
        .await;
    let stats = &shared.stats;
    RunFigures {
        ops,
        cycles: stats.cycles.load(Ordering::Relaxed),
        elapsed,
        server_errors: stats.server_errors.load(Ordering::Relaxed),
        unexpected: stats.unexpected.load(Ordering::Relaxed),
        revoked_accepted: stats.revoked_accepted.load(Ordering::Relaxed),
        revoked_checked: revoked.len(),
        problems: stats.problems.lock().map(|p| p.clone()).unwrap_or_default(),
    }
}

fn threads(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Waits (up to 10 s) for latchd to close the run's connections, so each
/// memory reading is taken at rest. (Idle blocking threads linger 10 s, but
/// latchd keeps at most 8, whose stacks weigh little next to 10%.)
async fn settle(pid: u32, baseline_fds: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds(pid) > baseline_fds && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn soak(args: Args) -> Result<bool, String> {
    let binary = latchd_binary(args.latchd.clone())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let smtp_port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let inboxes: Inboxes = Arc::default();
    let mails = Arc::new(AtomicU64::new(0));
    tokio::spawn(smtp_sink(listener, inboxes.clone(), mails.clone()));
    let latchd = Latchd::start(&binary, dir.path(), smtp_port)?;
    let baseline_fds = open_fds(latchd.pid());
    let (rss0, uss0) = memory_kib(latchd.pid())?;
    println!(
        "soak: {} clients × ({} s warm-up + {} runs × {} s) against {} ({}), loopback only; latchd at start: RSS {} KiB, USS {} KiB",
        args.clients,
        args.warmup,
        args.runs,
        args.seconds,
        latchd.base,
        binary.display(),
        rss0,
        uss0
    );
    let mut ok = true;
    let mut memory = Vec::new();
    let first = if args.warmup > 0 { 0 } else { 1 };
    for n in first..=args.runs {
        let seconds = if n == 0 { args.warmup } else { args.seconds };
        let figures = run(&latchd.base, &inboxes, args.clients, seconds).await;
        settle(latchd.pid(), baseline_fds).await;
        let (rss, uss) = memory_kib(latchd.pid())?;
        if n > 0 {
            memory.push((rss, uss));
        }
        let per_s = figures.ops as f64 / figures.elapsed.as_secs_f64();
        let name = if n == 0 {
            "warm-up".to_owned()
        } else {
            format!("run {n}")
        };
        println!(
            "{name}: {} operations in {:.1} s ({per_s:.0}/s), {} full cycles; 5xx: {}; other unexpected: {}; \
             revoked sessions accepted: {} (of {} signed-out tokens re-checked); latchd after: RSS {rss} KiB, USS {uss} KiB",
            figures.ops,
            figures.elapsed.as_secs_f64(),
            figures.cycles,
            figures.server_errors,
            figures.unexpected,
            figures.revoked_accepted,
            figures.revoked_checked,
        );
        println!(
            "  latchd RSS by mapping (KiB): {}; threads {}",
            rss_by_mapping(latchd.pid()),
            threads(latchd.pid())
        );
        for problem in &figures.problems {
            println!("  problem: {problem}");
        }
        let mut fail = |why: String| {
            println!("FAIL {name}: {why}");
            ok = false;
        };
        if figures.server_errors > 0 {
            fail(format!("{} answers were 5xx", figures.server_errors));
        }
        if figures.unexpected > 0 {
            fail(format!("{} unexpected answers", figures.unexpected));
        }
        if figures.revoked_accepted > 0 {
            fail(format!(
                "{} revoked sessions were still accepted",
                figures.revoked_accepted
            ));
        }
        if n > 0 && figures.ops < args.min_ops {
            fail(format!(
                "{} operations, fewer than {}",
                figures.ops, args.min_ops
            ));
        }
    }
    println!(
        "mails through the SMTP sink: {}",
        mails.load(Ordering::Relaxed)
    );
    if let (Some(&(rss1, uss1)), Some(&(rss2, uss2))) = (memory.first(), memory.last()) {
        if memory.len() > 1 {
            let growth = |a: u64, b: u64| (b as f64 - a as f64) / a as f64 * 100.0;
            let (rss_growth, uss_growth) = (growth(rss1, rss2), growth(uss1, uss2));
            println!(
                "memory after run {} vs after run 1: RSS {rss_growth:+.1}%, USS {uss_growth:+.1}% (limit ±10%)",
                memory.len()
            );
            if rss_growth.abs() > 10.0 || uss_growth.abs() > 10.0 {
                println!("FAIL: latchd's memory moved more than 10% between identical runs");
                ok = false;
            }
        }
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("latch-soak: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("latch-soak: can't start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(soak(args)) {
        Ok(true) => {
            println!("soak: PASS");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("soak: FAIL");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("latch-soak: {e}");
            ExitCode::FAILURE
        }
    }
}

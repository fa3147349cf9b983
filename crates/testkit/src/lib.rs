//! Test support shared by the crates' tests: a real `latchd` process on an
//! ephemeral loopback port with its own SQLite file, and its dev mailbox.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `binary` with `args`, logging to `log`; waits for its
/// "listening on" line and answers (process, base URL).
pub fn spawn(binary: &Path, args: &[String], env: &[(&str, &str)], log: &Path) -> (Child, String) {
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .env("RUST_LOG", "info");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("can't start {}: {e}", binary.display()));
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("latchd listening on ")
        .map(str::to_owned)
        .unwrap_or_else(|| {
            panic!(
                "latchd did not start: {line:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        });
    (child, base)
}

/// The `latchd` binary of this workspace: `LATCHD_BIN`, else beside the
/// test executable's target directory, built first if it isn't there.
pub fn latchd_binary() -> PathBuf {
    if let Ok(path) = std::env::var("LATCHD_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/latchd
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let binary = profile_dir.join(format!("latchd{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "latchd"])
            .status()
            .unwrap();
        assert!(status.success(), "building latchd failed");
    }
    assert!(binary.exists(), "no latchd at {}", binary.display());
    binary
}

/// A dev-mode latchd with the limits off (unless `extra` sets them).
pub struct Latchd {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    child: Option<Child>,
    http: reqwest::Client,
}

impl Latchd {
    pub fn start(extra: &[&str]) -> Latchd {
        Self::start_with_env(extra, &[])
    }

    /// `start` with extra environment (e.g. `RUST_LOG=trace`), kept for
    /// restarts.
    pub fn start_with_env(extra: &[&str], env: &[(&'static str, &'static str)]) -> Latchd {
        let dir = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = ["--dev", "--listen", "127.0.0.1:0", "--database"]
            .map(String::from)
            .to_vec();
        args.push(dir.path().join("latchd.sqlite3").display().to_string());
        for (flag, off) in [
            ("--email-link-interval", "0"),
            ("--email-link-per-hour", "0"),
            ("--auth-requests-per-minute", "0"),
        ] {
            if !extra.contains(&flag) {
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
            args,
            env: env.to_vec(),
            child: Some(child),
            http: reqwest::Client::new(),
        }
    }

    /// Kills the server (SIGKILL: no goodbye to anyone).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The newest mail to `email` in the dev mailbox.
    pub async fn mail_for(&self, email: &str) -> Mail {
        let email = email.trim().to_lowercase();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mails: serde_json::Value = self
                .http
                .get(self.url("/dev/mailbox.json"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(mail) = mails
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["to"] == email.as_str())
            {
                return Mail::parse(mail["text"].as_str().unwrap());
            }
            assert!(Instant::now() < deadline, "no mail to {email}: {mails}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn advance_clock(&self, by: &str) {
        let response = self
            .http
            .post(self.url("/dev/clock"))
            .json(&serde_json::json!({ "advance": by }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Latchd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A sign-in mail's link and what it carries.
#[derive(Debug, Clone)]
pub struct Mail {
    pub link: String,
    pub flow_id: String,
    /// As the mail shows it: `ABCD-EFGH`.
    pub code: String,
}

impl Mail {
    pub fn parse(text: &str) -> Mail {
        let link = text
            .split_whitespace()
            .find(|w| w.contains("/auth/open?"))
            .unwrap_or_else(|| panic!("no link in {text}"))
            .to_owned();
        let url = url::Url::parse(&link).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        Mail {
            flow_id: param("flow"),
            code: param("code"),
            link,
        }
    }

    /// The deep link the `/auth/open` page offers.
    pub fn deep_link(&self) -> String {
        format!(
            "app.latch:/auth/callback?flow={}&code={}",
            self.flow_id, self.code
        )
    }
}

/// Polls `check` until it is true or `within` passes; answers whether it held.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A real SMTP server: Python's aiosmtpd writing what it receives to a
/// Maildir (installed by scripts/setup).
pub struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        SmtpServer::start_on(free_port())
    }

    /// On a given port: e.g. one latchd was told about while nothing listened.
    pub fn start_on(port: u16) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("Maildir");
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 is needed for the SMTP tests");
        let mut server = SmtpServer {
            port,
            maildir,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(server.child.stderr.as_mut().unwrap(), &mut stderr)
                    .unwrap();
                panic!("aiosmtpd exited ({status}): {stderr}\nInstall it with `python3 -m pip install aiosmtpd` (scripts/setup does).");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, raw.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let new = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        entries
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect()
    }

    pub async fn wait_for(&self, count: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} messages arrived in {}",
                messages.len(),
                self.maildir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

//! `latch-bench-streams`: holds N `GET /v1/events` streams open against a
//! running latchd, from processes other than the server's, and measures
//!
//! * how long opening them takes,
//! * the server's memory per stream (its PSS before and after, over N),
//! * how long one `POST /v1/sessions/revoke-all` takes to reach every
//!   stream of that account (each stream's own `session.revoked`), and that
//!   every other stream is still open afterwards — repeated on several
//!   accounts.
//!
//! One process may hold at most 20,000 files on the benchmark machines, so
//! the coordinator (`run`) starts worker processes of this same binary
//! (`worker`), each holding at most `--per-worker` streams, and talks to
//! them over stdin/stdout lines:
//!
//! ```text
//! coordinator → worker   open <session_id> <token>   (one per stream), then: go
//! worker → coordinator   ready <opened> <failed> [first error]
//!                        revoked <session_id> <unix_ns>   (its own revocation arrived)
//!                        lost <session_id> <why>          (ended without it)
//! coordinator → worker   status
//! worker → coordinator   status <open>
//! ```
//!
//! Times are the wall clock of one machine (`CLOCK_REALTIME`), so the
//! coordinator and the workers compare them directly.
//!
//! The result is one JSON object on stdout; progress goes to stderr.

use std::collections::{BTreeMap, HashSet};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use latch_protocol::SeededSession;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Semaphore};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

const USAGE: &str = "\
usage:
  latch-bench-streams run --url URL --tokens-dir DIR --server-pid PID
                          [--streams N] [--per-worker N] [--revokes N] [--settle SECS]
      DIR holds one file per account, each the output of `latchd seed`.
  latch-bench-streams worker --url URL        (started by `run`)";

/// How many streams one worker opens at a time.
const OPENING_AT_ONCE: usize = 128;
/// How long a revoke-all may take to reach its streams before we give up.
const REVOKE_DEADLINE: Duration = Duration::from_secs(60);

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("latch-bench-streams: can't start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match args.first().map(String::as_str) {
            Some("run") => run(Options::parse(&args[1..])?).await,
            Some("worker") => worker(flag(&args[1..], "--url")?).await,
            _ => Err(USAGE.into()),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latch-bench-streams: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn flag(args: &[String], name: &str) -> Result<String> {
    optional_flag(args, name)?.ok_or_else(|| format!("{name} is required\n{USAGE}").into())
}

fn optional_flag(args: &[String], name: &str) -> Result<Option<String>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .cloned()
            .map(Some)
            .ok_or_else(|| format!("{name} needs a value").into()),
    }
}

fn number_flag(args: &[String], name: &str, default: usize) -> Result<usize> {
    match optional_flag(args, name)? {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| format!("{name} {raw:?} is not a number").into()),
    }
}

struct Options {
    url: String,
    tokens_dir: PathBuf,
    server_pid: u32,
    streams: Option<usize>,
    per_worker: usize,
    revokes: usize,
    settle: Duration,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let server_pid = flag(args, "--server-pid")?;
        Ok(Options {
            url: flag(args, "--url")?.trim_end_matches('/').to_owned(),
            tokens_dir: flag(args, "--tokens-dir")?.into(),
            server_pid: server_pid
                .parse()
                .map_err(|_| format!("--server-pid {server_pid:?} is not a process id"))?,
            streams: optional_flag(args, "--streams")?
                .map(|n| n.parse().map_err(|_| format!("--streams {n:?}")))
                .transpose()?,
            // 20,000 files per process here: stay well under with sockets
            // plus the runtime's own descriptors.
            per_worker: number_flag(args, "--per-worker", 5_000)?.max(1),
            revokes: number_flag(args, "--revokes", 5)?,
            settle: Duration::from_secs(number_flag(args, "--settle", 3)? as u64),
        })
    }
}

/// One account's seeded sessions, in `latchd seed`'s order.
struct Account {
    name: String,
    sessions: Vec<SeededSession>,
}

fn read_accounts(dir: &Path) -> Result<Vec<Account>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("can't read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("can't read {}: {e}", path.display()))?;
            let sessions = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect::<Result<Vec<SeededSession>, _>>()
                .map_err(|e| format!("{}: not `latchd seed` output: {e}", path.display()))?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(Account { name, sessions })
        })
        .collect()
}

/// The `Pss:` line of `/proc/<pid>/smaps_rollup`, in KiB.
fn pss_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("can't read {path}: {e}"))?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("Pss:")
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .ok_or_else(|| format!("no Pss line in {path}").into())
}

fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[derive(Serialize)]
struct Report {
    streams_requested: usize,
    streams_open: usize,
    streams_failed: usize,
    first_error: Option<String>,
    workers: usize,
    open_s: f64,
    pss_before_kib: u64,
    pss_after_kib: u64,
    kib_per_stream: f64,
    revokes: Vec<RevokeRun>,
}

#[derive(Serialize)]
struct RevokeRun {
    account: String,
    /// Streams of the account open before the call.
    streams: usize,
    /// Of those, how many heard their own `session.revoked`.
    reached: usize,
    /// From sending the request to its 200 answer.
    http_ms: f64,
    /// From sending the request to the first and the last stream hearing it.
    first_ms: f64,
    all_ms: f64,
    /// Streams of other accounts expected open, and found open, afterwards.
    others_expected: usize,
    others_open: usize,
    /// Streams that ended without their own revocation, so far.
    lost: usize,
}

struct WorkerHandle {
    child: Child,
    stdin: ChildStdin,
}

/// A line from worker `usize`.
type WorkerLine = (usize, String);

async fn run(options: Options) -> Result<()> {
    let mut accounts = read_accounts(&options.tokens_dir)?;
    if let Some(limit) = options.streams {
        let mut left = limit;
        for account in &mut accounts {
            let take = account.sessions.len().min(left);
            account.sessions.truncate(take);
            left -= take;
        }
        accounts.retain(|a| !a.sessions.is_empty());
    }
    let total: usize = accounts.iter().map(|a| a.sessions.len()).sum();
    if total == 0 {
        return Err("no sessions to open".into());
    }
    let pss_before_kib = pss_kib(options.server_pid)?;
    let workers = total.div_ceil(options.per_worker);
    let exe = std::env::current_exe().map_err(|e| format!("can't find myself: {e}"))?;
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<WorkerLine>();
    let mut handles = Vec::new();
    for index in 0..workers {
        let mut child = Command::new(&exe)
            .args(["worker", "--url", &options.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("can't start a worker: {e}"))?;
        let stdin = child.stdin.take().ok_or("worker without stdin")?;
        let stdout = child.stdout.take().ok_or("worker without stdout")?;
        let tx = lines_tx.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send((index, line)).is_err() {
                    break;
                }
            }
        });
        handles.push(WorkerHandle { child, stdin });
    }
    drop(lines_tx);

    // Round-robin, so every worker holds some of every account.
    let all: Vec<&SeededSession> = accounts.iter().flat_map(|a| a.sessions.iter()).collect();
    let started = Instant::now();
    for (i, session) in all.iter().enumerate() {
        let line = format!(
            "open {} {}\n",
            session.session_id.0,
            session.session_token.expose()
        );
        handles[i % workers]
            .stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("worker {}: {e}", i % workers))?;
    }
    for (i, handle) in handles.iter_mut().enumerate() {
        handle
            .stdin
            .write_all(b"go\n")
            .await
            .map_err(|e| format!("worker {i}: {e}"))?;
        handle.stdin.flush().await?;
    }
    eprintln!("opening {total} streams in {workers} worker(s)…");

    let mut opened = 0;
    let mut failed = 0;
    let mut first_error = None;
    let mut ready = 0;
    let mut lost: HashSet<String> = HashSet::new();
    while ready < workers {
        let (index, line) = lines.recv().await.ok_or("the workers went away")?;
        let mut words = line.splitn(4, ' ');
        match words.next() {
            Some("ready") => {
                ready += 1;
                opened += words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                failed += words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                if let Some(why) = words.next().filter(|w| !w.trim().is_empty()) {
                    first_error.get_or_insert_with(|| format!("worker {index}: {why}"));
                }
            }
            Some("lost") => {
                lost.extend(words.next().map(str::to_owned));
            }
            _ => eprintln!("worker {index}: {line}"),
        }
    }
    let open_s = started.elapsed().as_secs_f64();
    eprintln!("{opened} streams open ({failed} failed) in {open_s:.1} s; settling…");
    tokio::time::sleep(options.settle).await;
    let pss_after_kib = pss_kib(options.server_pid)?;
    let kib_per_stream = if opened > 0 {
        pss_after_kib.saturating_sub(pss_before_kib) as f64 / opened as f64
    } else {
        0.0
    };

    let http = reqwest::Client::new();
    let mut open_now = opened;
    let mut revokes = Vec::new();
    for account in accounts
        .iter()
        .filter(|a| !a.sessions.is_empty())
        .take(options.revokes)
    {
        let ids: HashSet<&str> = account
            .sessions
            .iter()
            .map(|s| s.session_id.0.as_str())
            .filter(|id| !lost.contains(*id))
            .collect();
        let sent_ns = unix_ns();
        let sent = Instant::now();
        let response = http
            .post(format!("{}/v1/sessions/revoke-all", options.url))
            .bearer_auth(account.sessions[0].session_token.expose())
            .send()
            .await
            .map_err(|e| format!("revoke-all for {}: {e}", account.name))?;
        let http_ms = sent.elapsed().as_secs_f64() * 1e3;
        if !response.status().is_success() {
            return Err(format!(
                "revoke-all for {} answered {}",
                account.name,
                response.status()
            )
            .into());
        }
        let deadline = tokio::time::Instant::now() + REVOKE_DEADLINE;
        let mut reached: BTreeMap<&str, u128> = BTreeMap::new();
        while reached.len() < ids.len() {
            let next = tokio::time::timeout_at(deadline, lines.recv()).await;
            let Ok(Some((index, line))) = next else {
                eprintln!(
                    "revoke-all for {}: {} of {} streams heard it before the deadline",
                    account.name,
                    reached.len(),
                    ids.len()
                );
                break;
            };
            let mut words = line.split(' ');
            match (words.next(), words.next(), words.next()) {
                (Some("revoked"), Some(id), Some(at)) => {
                    let at: u128 = at.parse().unwrap_or(0);
                    if let Some(own) = ids.get(id) {
                        reached.insert(own, at);
                    } else {
                        eprintln!("worker {index}: {id} revoked, but not by this call");
                    }
                }
                (Some("lost"), Some(id), _) => {
                    lost.insert(id.to_owned());
                    eprintln!("worker {index}: {line}");
                }
                _ => eprintln!("worker {index}: {line}"),
            }
        }
        let ms = |at: u128| at.saturating_sub(sent_ns) as f64 / 1e6;
        let first_ms = reached.values().copied().min().map(ms).unwrap_or(f64::NAN);
        let all_ms = reached.values().copied().max().map(ms).unwrap_or(f64::NAN);
        open_now -= reached.len();

        // Every other stream still open? Ask each worker.
        for handle in handles.iter_mut() {
            handle.stdin.write_all(b"status\n").await?;
            handle.stdin.flush().await?;
        }
        let mut others_open = 0;
        let mut answered = 0;
        while answered < workers {
            let (index, line) = lines.recv().await.ok_or("the workers went away")?;
            let mut words = line.split(' ');
            match (words.next(), words.next()) {
                (Some("status"), Some(n)) => {
                    answered += 1;
                    others_open += n.parse::<usize>().unwrap_or(0);
                }
                (Some("lost"), Some(id)) => {
                    lost.insert(id.to_owned());
                    eprintln!("worker {index}: {line}");
                }
                _ => eprintln!("worker {index}: {line}"),
            }
        }
        eprintln!(
            "revoke-all {}: {} of {} streams in {all_ms:.1} ms (first {first_ms:.1} ms, HTTP {http_ms:.1} ms); {others_open} of {} others open",
            account.name,
            reached.len(),
            ids.len(),
            open_now
        );
        revokes.push(RevokeRun {
            account: account.name.clone(),
            streams: ids.len(),
            reached: reached.len(),
            http_ms,
            first_ms,
            all_ms,
            others_expected: open_now,
            others_open,
            lost: lost.len(),
        });
    }

    for mut handle in handles {
        drop(handle.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(10), handle.child.wait()).await;
    }
    let report = Report {
        streams_requested: total,
        streams_open: opened,
        streams_failed: failed,
        first_error,
        workers,
        open_s,
        pss_before_kib,
        pss_after_kib,
        kib_per_stream,
        revokes,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Opens the streams the coordinator names, then reports on them.
async fn worker(url: String) -> Result<()> {
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    let mut wanted: Vec<(String, String)> = Vec::new();
    while let Some(line) = input.next_line().await? {
        if line == "go" {
            break;
        }
        if let Some(rest) = line.strip_prefix("open ") {
            if let Some((id, token)) = rest.split_once(' ') {
                wanted.push((id.to_owned(), token.to_owned()));
            }
        }
    }
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    // One writer for stdout, so lines never interleave.
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = out_rx.recv().await {
            if stdout.write_all(line.as_bytes()).await.is_err() {
                break;
            }
            let _ = stdout.flush().await;
        }
    });

    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(0)
        .build()?;
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let open = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    let count = wanted.len();
    for (id, token) in wanted {
        let client = client.clone();
        let url = url.clone();
        let opening = opening.clone();
        let open = open.clone();
        let done = done_tx.clone();
        let out = out_tx.clone();
        tokio::spawn(async move {
            let permit = opening.acquire_owned().await;
            let response = client
                .get(format!("{url}/v1/events"))
                .bearer_auth(&token)
                .send()
                .await;
            let response = match response {
                Ok(r) if r.status().is_success() => r,
                Ok(r) => {
                    let _ = done.send(Err(format!("HTTP {}", r.status())));
                    return;
                }
                Err(e) => {
                    let _ = done.send(Err(format!("{e:?}").replace('\n', " ")));
                    return;
                }
            };
            drop(permit);
            open.fetch_add(1, Ordering::SeqCst);
            let _ = done.send(Ok(()));
            let why = follow(response, &id, &out, &open).await;
            if let Some(why) = why {
                let _ = out.send(format!("lost {id} {why}\n"));
            }
        });
    }
    drop(done_tx);
    let mut opened = 0;
    let mut first_error: Option<String> = None;
    for _ in 0..count {
        match done_rx.recv().await {
            Some(Ok(())) => opened += 1,
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => break,
        }
    }
    let _ = out_tx.send(format!(
        "ready {opened} {} {}\n",
        count - opened,
        first_error.unwrap_or_default()
    ));

    while let Some(line) = input.next_line().await? {
        if line == "status" {
            let _ = out_tx.send(format!("status {}\n", open.load(Ordering::SeqCst)));
        }
    }
    drop(out_tx);
    let _ = writer.await;
    Ok(())
}

/// Reads one stream until it ends. `None` when it ended as it should, after
/// its own `session.revoked` (reported with its arrival time); else why not.
/// `open` counts it down as soon as it is over for the user: at its own
/// revocation, not when the connection closes a moment later.
async fn follow(
    response: reqwest::Response,
    own: &str,
    out: &mpsc::UnboundedSender<String>,
    open: &AtomicUsize,
) -> Option<String> {
    let mut body = response.bytes_stream();
    let mut buffer: Vec<u8> = Vec::new();
    let mut revoked = false;
    loop {
        match body.next().await {
            Some(Ok(chunk)) => {
                let at = unix_ns();
                buffer.extend_from_slice(&chunk);
                while let Some(end) = find_blank_line(&buffer) {
                    let block: Vec<u8> = buffer.drain(..end).collect();
                    if is_own_revocation(&block, own) && !revoked {
                        revoked = true;
                        open.fetch_sub(1, Ordering::SeqCst);
                        let _ = out.send(format!("revoked {own} {at}\n"));
                    }
                }
            }
            Some(Err(e)) => {
                if revoked {
                    return None;
                }
                open.fetch_sub(1, Ordering::SeqCst);
                return Some(format!("{e}").replace('\n', " "));
            }
            None => {
                if revoked {
                    return None;
                }
                open.fetch_sub(1, Ordering::SeqCst);
                return Some("ended".to_owned());
            }
        }
    }
}

/// The end (exclusive, including the blank line) of the first SSE block.
fn find_blank_line(buffer: &[u8]) -> Option<usize> {
    buffer.windows(2).position(|w| w == b"\n\n").map(|i| i + 2)
}

fn is_own_revocation(block: &[u8], own: &str) -> bool {
    let text = String::from_utf8_lossy(block);
    let mut is_revoked = false;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("event:") {
            is_revoked = name.trim() == "session.revoked";
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push_str(d.trim_start());
        }
    }
    is_revoked
        && serde_json::from_str::<serde_json::Value>(&data)
            .ok()
            .and_then(|v| v.get("session_id")?.as_str().map(|id| id == own))
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_its_own_revocation_only() {
        let block =
            b"id: 7\nevent: session.revoked\ndata: {\"session_id\":\"ses_a\",\"reason\":\"x\"}\n\n";
        assert!(is_own_revocation(block, "ses_a"));
        assert!(!is_own_revocation(block, "ses_b"));
        let other = b"id: 8\nevent: session.updated\ndata: {\"session_id\":\"ses_a\"}\n\n";
        assert!(!is_own_revocation(other, "ses_a"));
        assert_eq!(find_blank_line(b": keep-alive\n\nid: 1"), Some(14));
    }
}

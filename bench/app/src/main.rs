//! The window benchmarks of issue 7, items 1–3, against the real release
//! build of Latch and a bare Tauri window of the same Tauri version, under
//! Xvfb through tauri-driver (the end-to-end harness):
//!
//! 1. cold start to interactive (process start → the view's performance
//!    mark), alternating runs, and the whole process tree's PSS after 10 s
//!    idle (and, for Latch, with 100 sessions rendered);
//! 2. deep link → signed in (second launch with the URL → the signed-in
//!    mark);
//! 3. revocation felt elsewhere (the terminate call → the terminated
//!    window's signed-out mark).
//!
//! Writes a markdown fragment to `$BENCH_OUT/app.md` (default
//! `target/bench`). Run by `scripts/bench`; see BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use latch_e2e::{Desktop, HttpFlow, Window};
use latch_testkit::Latchd;
use serde_json::json;

const START: Duration = Duration::from_secs(60);
const SOON: Duration = Duration::from_secs(10);

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let runs: usize = env_number("BENCH_RUNS", 10);
    let link_runs: usize = env_number("BENCH_LINK_RUNS", 20);
    let revoke_runs: usize = env_number("BENCH_REVOKE_RUNS", 100);
    let idle = Duration::from_secs(env_number("BENCH_IDLE_S", 10) as u64);
    let target = target_dir();
    let latch = env_path("BENCH_LATCH_APP", target.join("release/latch-desktop"));
    let bare = env_path("BENCH_BARE_APP", target.join("release/latch-bare-window"));
    for binary in [&latch, &bare] {
        assert!(
            binary.exists(),
            "{} is missing: scripts/bench builds it",
            binary.display()
        );
    }

    let server = Latchd::start(&[]);
    let desktop = Desktop::start();
    let mut report = String::new();
    writeln!(report, "## The window against a bare Tauri window\n").unwrap();
    let load_at_start = load_average();

    // A stored session on an account with 100 devices, for the signed-in start.
    let stored = "stored";
    {
        let window = desktop.launch_app(&latch, stored, &server.base, &[]).await;
        window.wait_state("signed-out", START).await;
        for i in 1..100 {
            http_device(&server, "hundred@example.com", &format!("Device {i:03}")).await;
        }
        sign_in_by_code(&server, &window, "hundred@example.com").await;
        window.quit().await;
    }

    // [bare, Latch signed out, Latch signed in, bare as Latch runs WebKit]
    let mut samples = Samples::default();
    for run in 0..runs {
        eprintln!("start-up run {}/{runs}", run + 1);
        // Alternating, so drift in the machine's load hits all of them alike.
        let bare_window = desktop
            .launch_app(&bare, &format!("bare-{run}"), &server.base, &[])
            .await;
        samples.record(
            0,
            cold_start(&bare_window, "loaded", idle).await,
            &bare_window,
        );
        bare_window.quit().await;

        // For reference: the floor with the WebKit setting Latch makes
        // for itself (lib.rs, `software_compositing`).
        let software = desktop
            .launch_app_with(
                &bare,
                &format!("bare-software-{run}"),
                &server.base,
                &[],
                &[("WEBKIT_DISABLE_COMPOSITING_MODE", "1")],
            )
            .await;
        samples.record(3, cold_start(&software, "loaded", idle).await, &software);
        software.quit().await;

        let fresh = desktop
            .launch_app(&latch, &format!("fresh-{run}"), &server.base, &[])
            .await;
        samples.record(1, cold_start(&fresh, "signed-out", idle).await, &fresh);
        fresh.quit().await;

        // Memory measured after the 100 rows are shown, not at the mark.
        let restored = desktop.launch_app(&latch, stored, &server.base, &[]).await;
        let mut cold = cold_start(&restored, "signed-in", Duration::ZERO).await;
        restored.click("Active sessions").await;
        wait_rows(&restored, 100).await;
        tokio::time::sleep(idle).await;
        cold.kib = pss_kib_of_tree(restored.app_pid().unwrap()) as f64;
        samples.record(2, cold, &restored);
        restored.quit().await;
    }
    let Samples {
        start,
        phases,
        pss,
        profile,
    } = samples;
    writeln!(report, "Cold start to interactive ({runs} runs each, alternating; process start → the view's first paint-ready mark):\n").unwrap();
    ratio_table(&mut report, &start, START_ROWS, ("ms", 1.0, 0));
    writeln!(report, "\nWhere the start-up time goes (medians of each phase, from the page's navigation timing):\n").unwrap();
    writeln!(
        report,
        "| | process → navigation start | → DOMContentLoaded | → the view's mark |"
    )
    .unwrap();
    writeln!(report, "|---|---|---|---|").unwrap();
    for (label, runs) in [
        ("bare Tauri window", &phases[0]),
        ("Latch, sign-in view", &phases[1]),
        ("Latch, signed in", &phases[2]),
        ("bare window, compositing off", &phases[3]),
    ] {
        let phase = |i: usize| median(&runs.iter().map(|p| p[i]).collect::<Vec<_>>());
        writeln!(
            report,
            "| {label} | {:.0} ms | {:.0} ms | {:.0} ms |",
            phase(0),
            phase(1),
            phase(2)
        )
        .unwrap();
    }
    writeln!(report, "\nMemory of the whole process tree (app + WebKit processes), PSS from `/proc/*/smaps_rollup`, after {} s idle:\n", idle.as_secs()).unwrap();
    ratio_table(&mut report, &pss, MEMORY_ROWS, ("MiB", 1024.0, 1));

    writeln!(report, "\nThe ratios are to the bare window as Tauri makes it. Latch turns off WebKitGTK's accelerated compositing for its own window on Linux (`software_compositing` in `src-tauri/src/lib.rs`; `WEBKIT_DISABLE_COMPOSITING_MODE=0` turns it back on); the last row is the bare window with that same setting, so the part of the saving that is WebKit's and not Latch's own shows.").unwrap();
    writeln!(
        report,
        "\nWhere the memory is (the last run, PSS by process):\n"
    )
    .unwrap();
    writeln!(
        report,
        "| process | bare window | Latch, sign-in | Latch, 100 sessions | bare, compositing off |"
    )
    .unwrap();
    writeln!(report, "|---|---|---|---|---|").unwrap();
    let mut names: Vec<String> = profile.iter().flatten().map(|(n, _)| n.clone()).collect();
    names.dedup();
    names.sort();
    names.dedup();
    for name in names {
        let cell = |p: &Vec<(String, u64)>| {
            p.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, kib)| format!("{:.1} MiB", *kib as f64 / 1024.0))
                .unwrap_or_else(|| "—".into())
        };
        writeln!(
            report,
            "| {name} | {} | {} | {} | {} |",
            cell(&profile[0]),
            cell(&profile[1]),
            cell(&profile[2]),
            cell(&profile[3])
        )
        .unwrap();
    }

    // 2. Deep link → signed in.
    let window = desktop.launch_app(&latch, "links", &server.base, &[]).await;
    window.wait_state("signed-out", START).await;
    let mut link_ms = Vec::new();
    for run in 0..link_runs {
        eprintln!("deep-link run {}/{link_runs}", run + 1);
        window
            .invoke_with("request_link", json!({ "email": "links@example.com" }))
            .await;
        window.wait_state("awaiting-link", SOON).await;
        let flow = window.pending_flow().await;
        let mail = mail_of_flow(&server, "links@example.com", &flow).await;
        let sent = epoch_ms();
        window.deliver_link(&mail.deep_link());
        window.wait_state("signed-in", SOON).await;
        link_ms.push(window.mark_epoch_ms("latch:signed-in").await.unwrap() - sent);
        window.invoke("log_out").await;
        window.wait_state("signed-out", SOON).await;
    }
    window.quit().await;
    if !link_ms.is_empty() {
        writeln!(report, "\nDeep link → signed in ({link_runs} runs; from launching the second instance with the callback URL to the signed-in view's mark; local latchd): median **{:.0} ms**, p95 **{:.0} ms** (min {:.0}, max {:.0}); target p95 ≤ 300 ms.", median(&link_ms), percentile(&link_ms, 95.0), min(&link_ms), max(&link_ms)).unwrap();
    }

    // 3. Revocation felt elsewhere.
    let window = desktop
        .launch_app(&latch, "revoked", &server.base, &[])
        .await;
    window.wait_state("signed-out", START).await;
    let other = http_device(&server, "revoke@example.com", "Terminator").await;
    let http = reqwest::Client::new();
    let mut felt_ms = Vec::new();
    for run in 0..revoke_runs {
        if run % 10 == 0 {
            eprintln!("revocation run {}/{revoke_runs}", run + 1);
        }
        sign_in_by_code(&server, &window, "revoke@example.com").await;
        let id = window.own_session_id().await;
        let sent = epoch_ms();
        let answer = http
            .delete(server.url(&format!("/v1/sessions/{id}")))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 204);
        window.wait_state("signed-out", SOON).await;
        felt_ms.push(window.mark_epoch_ms("latch:signed-out").await.unwrap() - sent);
    }
    window.quit().await;
    if !felt_ms.is_empty() {
        writeln!(report, "\nRevocation felt elsewhere ({revoke_runs} runs; from the terminate call leaving another device to the terminated window's signed-out view's mark, loopback): median **{:.0} ms**, p99 **{:.0} ms** (min {:.0}, max {:.0}); target p99 ≤ 250 ms.", median(&felt_ms), percentile(&felt_ms, 99.0), min(&felt_ms), max(&felt_ms)).unwrap();
    }

    writeln!(
        report,
        "\nRelease builds; load average {load_at_start} when this part started, {} when it ended.",
        load_average()
    )
    .unwrap();

    let out = std::env::var_os("BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("bench"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("app.md"), &report).unwrap();
    println!("{report}");
}

/// The cold starts of each variant, by index.
#[derive(Default)]
struct Samples {
    start: [Vec<f64>; 4],
    phases: [Vec<Phases>; 4],
    pss: [Vec<f64>; 4],
    /// PSS by process of the last run.
    profile: [Vec<(String, u64)>; 4],
}

impl Samples {
    fn record(&mut self, variant: usize, cold: ColdStart, window: &Window) {
        self.start[variant].push(cold.ms);
        self.phases[variant].push(cold.phases);
        self.pss[variant].push(cold.kib);
        self.profile[variant] = pss_by_process(window.app_pid().unwrap());
    }
}

/// One cold start: process start → the state's mark, in ms; where that time
/// went; and the tree's PSS in KiB after `idle`.
struct ColdStart {
    ms: f64,
    phases: Phases,
    kib: f64,
}

/// A cold start cut at the page's own timestamps, in ms: process start →
/// navigation start (Tauri, GTK and WebKit starting, the page requested),
/// → DOMContentLoaded ended (HTML, CSS and the module script fetched and
/// run), → the state's mark (for Latch: its IPC calls answered and the view
/// rendered; for the bare window: its load event).
type Phases = [f64; 3];

async fn cold_start(window: &Window, state: &str, idle: Duration) -> ColdStart {
    window.wait_state(state, START).await;
    let pid = window.app_pid().expect("the app's process");
    let mark = window
        .mark_epoch_ms(&format!("latch:{state}"))
        .await
        .expect("the page marked its state");
    let started = process_start_epoch_ms(pid);
    let page = window
        .client
        .execute(
            "const n = performance.getEntriesByType('navigation')[0];
             return [performance.timeOrigin, performance.timeOrigin + n.domContentLoadedEventEnd]",
            vec![],
        )
        .await
        .unwrap();
    let at = |i: usize| page[i].as_f64().expect("a navigation timestamp");
    let (origin, loaded) = (at(0), at(1));
    tokio::time::sleep(idle).await;
    ColdStart {
        ms: mark - started,
        phases: [origin - started, loaded - origin, mark - loaded],
        kib: pss_kib_of_tree(pid) as f64,
    }
}

async fn wait_rows(window: &Window, rows: usize) {
    let deadline = std::time::Instant::now() + SOON;
    loop {
        let n = window
            .client
            .execute(
                "return document.querySelectorAll('[aria-label^=\"Actions for\"]').length",
                vec![],
            )
            .await
            .unwrap();
        if n.as_u64().unwrap_or(0) as usize >= rows {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "only {n} rows");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs `window` in by a code typed through its command (no UI typing).
async fn sign_in_by_code(server: &Latchd, window: &Window, email: &str) {
    window
        .invoke_with("request_link", json!({ "email": email }))
        .await;
    window.wait_state("awaiting-link", SOON).await;
    let flow = window.pending_flow().await;
    let mail = mail_of_flow(server, email, &flow).await;
    window
        .invoke_with("submit_code", json!({ "code": mail.code }))
        .await;
    window.wait_state("signed-in", SOON).await;
}

async fn mail_of_flow(server: &Latchd, email: &str, flow: &str) -> latch_testkit::Mail {
    for _ in 0..500 {
        let mail = server.mail_for(email).await;
        if mail.flow_id == flow {
            return mail;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no mail for flow {flow}");
}

/// Signs a device in over HTTP: answers its session token.
async fn http_device(server: &Latchd, email: &str, name: &str) -> String {
    let flow = HttpFlow::start(server, email, name, "android").await;
    let mail = mail_of_flow(server, email, &flow.flow_id).await;
    flow.finish(server, &mail.code).await.token
}

/// `pid` and all its descendants (WebKit's web and network processes are
/// the app's children).
fn tree_of(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if parent_of(child) == Some(parent) && !tree.contains(&child) {
                tree.push(child);
            }
        }
        i += 1;
    }
    tree
}

/// `Pss:` of one process, in KiB.
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .unwrap_or(0)
}

/// Sum of `Pss:` over the process tree of `pid`, in KiB.
fn pss_kib_of_tree(pid: u32) -> u64 {
    tree_of(pid).into_iter().map(pss_kib).sum()
}

/// The tree's PSS by process name (the profile behind a ratio), in KiB.
fn pss_by_process(pid: u32) -> Vec<(String, u64)> {
    let mut by_name: Vec<(String, u64)> = Vec::new();
    for pid in tree_of(pid) {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let kib = pss_kib(pid);
        match by_name.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += kib,
            None => by_name.push((name, kib)),
        }
    }
    by_name
}

/// Fields of `/proc/<pid>/stat` after the command name.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    Some(after.split_whitespace().map(str::to_owned).collect())
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// When `pid` started, in ms since the epoch: its start in clock ticks
/// after boot (field 22), placed on the wall clock through /proc/uptime
/// read now (both have 10 ms resolution).
fn process_start_epoch_ms(pid: u32) -> f64 {
    let ticks: f64 = stat_fields(pid).unwrap()[19].parse().unwrap();
    let now = epoch_ms();
    let uptime_s: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    now - (uptime_s - ticks / 100.0) * 1000.0
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The start-up table's first three rows and their targets.
const START_ROWS: [(&str, &str); 3] = [
    ("bare Tauri window (load event)", ""),
    ("Latch, sign-in view", "≤ 1.25×"),
    ("Latch, signed in (stored session)", "≤ 1.25×"),
];

/// The memory table's first three rows and their targets.
const MEMORY_ROWS: [(&str, &str); 3] = [
    ("bare Tauri window", ""),
    ("Latch, sign-in view", "≤ 1.2×"),
    (
        "Latch, Active sessions with 100 sessions rendered",
        "≤ 1.2×",
    ),
];

/// One "median | min | max | ratio to the bare window | target" table of
/// the four kinds of window: `labels` names (and gives the target of) the
/// first three, the last is always the bare window with compositing off.
/// `unit` is the figures' name, what a reading is divided by for it, and
/// the decimals shown; the ratio is of the readings, to the first's median.
fn ratio_table(
    report: &mut String,
    readings: &[Vec<f64>; 4],
    labels: [(&str, &str); 3],
    (unit, scale, decimals): (&str, f64, usize),
) {
    let floor = median(&readings[0]);
    let last = (
        "bare window, compositing off (for reference: as Latch runs WebKit)",
        "",
    );
    let rows = labels.into_iter().chain([last]).zip(readings);
    writeln!(
        report,
        "| | median | min | max | ratio to the bare window | target |"
    )
    .unwrap();
    writeln!(report, "|---|---|---|---|---|---|").unwrap();
    for ((label, target), values) in rows {
        writeln!(
            report,
            "| {label} | {:.decimals$} {unit} | {:.decimals$} {unit} | {:.decimals$} {unit} | {:.2}× | {target} |",
            median(values) / scale,
            min(values) / scale,
            max(values) / scale,
            median(values) / floor
        )
        .unwrap();
    }
}

fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// Nearest-rank percentile.
fn percentile(values: &[f64], p: f64) -> f64 {
    let v = sorted(values);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn min(values: &[f64]) -> f64 {
    sorted(values)[0]
}

fn max(values: &[f64]) -> f64 {
    *sorted(values).last().unwrap()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_path(name: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(name).map(PathBuf::from).unwrap_or(default)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

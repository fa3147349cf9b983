//! Linux without a D-Bus session bus (a bare X session, some containers):
//! the single-instance lock can't be taken, so a second launch can't hand a
//! link over. The app must still start — no panic — and say so: in its log
//! file (which also proves lines logged before the file opened are kept) and
//! to the window. Needs Xvfb (scripts/setup).

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[test]
fn without_a_session_bus_the_app_starts_and_says_links_cannot_be_forwarded() {
    common::require_tools(&["Xvfb"]);
    let tmp = tempfile::tempdir().unwrap();
    let body = r#"
# No session bus anywhere: no address, and a runtime dir without a bus socket.
unset DBUS_SESSION_BUS_ADDRESS
mkdir -m 700 "$T/runtime"; export XDG_RUNTIME_DIR=$T/runtime
LATCH_DATA_DIR=$T/a RUST_LOG=info "$BIN" 2>"$T/stderr.log" & A=$!
LOG=$T/a/logs/latch.log
for _ in $(seq 1 300); do grep -q "link forwarding is" "$LOG" 2>/dev/null && break; sleep 0.1; done
sleep 2
kill -0 $A 2>/dev/null && echo "still_running"
kill $A $X 2>/dev/null; wait 2>/dev/null
true
"#;
    let out = common::run_under_xvfb(&[], body, tmp.path(), &[]);
    let read = |path: &str| std::fs::read_to_string(tmp.path().join(path)).unwrap_or_default();
    let log = read("a/logs/latch.log");
    let stderr = read("stderr.log");
    let context = format!("{out}\n--- latch.log\n{log}\n--- stderr\n{stderr}");
    assert!(
        out.contains("still_running"),
        "the app runs on without a bus:\n{context}"
    );
    assert!(!stderr.contains("panicked"), "{context}");
    assert!(
        log.contains("link forwarding is unavailable: there is no D-Bus session bus"),
        "the log says why links can't be forwarded:\n{context}"
    );
    assert!(
        log.contains("single-instance"),
        "the plugin's warning, logged before the file opened, is in the file:\n{context}"
    );
    assert!(log.contains("Latch starting"), "{context}");
}

//! Two processes of the real binary under Xvfb in a private D-Bus session:
//! a second launch with a callback URL hands it to the running instance and
//! exits at once; an instance with another LATCH_DATA_DIR is another device
//! and runs side by side. Needs Xvfb and dbus-run-session (scripts/setup).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use latch_testkit::Latchd;

#[test]
fn a_second_launch_forwards_its_link_and_another_data_dir_is_another_app() {
    common::require_tools(&["Xvfb", "dbus-run-session"]);
    let server = Latchd::start(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let body = r#"
wait_for() { # file text seconds
  for _ in $(seq 1 $(( $3 * 10 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1
}
LATCH_DATA_DIR=$T/a LATCH_SERVER_URL=$SERVER RUST_LOG=info "$BIN" 2>"$T/a.log" & A=$!
wait_for "$T/a.log" "scheme registered\|cannot register" 30 || echo "A never started"
start=$(date +%s%N)
LATCH_DATA_DIR=$T/a timeout 10 "$BIN" 'app.latch:/auth/callback?flow=flw_forwarded&code=WXYZ-2345' 2>"$T/second.log"
echo "second_rc=$? second_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
wait_for "$T/a.log" "deep link refused" 10 && echo "a_heard_it"
LATCH_DATA_DIR=$T/b LATCH_SERVER_URL=$SERVER RUST_LOG=info "$BIN" 2>"$T/b.log" & B=$!
sleep 3
kill -0 $B 2>/dev/null && echo "b_runs_side_by_side"
kill -0 $A 2>/dev/null && echo "a_still_runs"
kill $A $B $X 2>/dev/null; wait 2>/dev/null
true
"#;
    let out = common::run_under_xvfb(
        &["dbus-run-session", "--"],
        body,
        tmp.path(),
        &[("SERVER", &server.base)],
    );
    let log = |name: &str| std::fs::read_to_string(tmp.path().join(name)).unwrap_or_default();
    let context = format!(
        "{out}\n--- a.log\n{}\n--- second.log\n{}\n--- b.log\n{}",
        log("a.log"),
        log("second.log"),
        log("b.log")
    );
    assert!(
        out.contains("second_rc=0"),
        "the second launch exits cleanly:\n{context}"
    );
    let ms: u64 = out
        .split("second_ms=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        ms < 5000,
        "the second launch exits at once ({ms} ms):\n{context}"
    );
    assert!(
        out.contains("a_heard_it"),
        "the running instance got the link (and refused it: no sign-in is pending):\n{context}"
    );
    assert!(
        log("a.log").contains("code=\"not_pending\"") || log("a.log").contains("not_pending"),
        "{context}"
    );
    assert!(
        out.contains("b_runs_side_by_side") && out.contains("a_still_runs"),
        "{context}"
    );
    assert!(
        !log("b.log").contains("deep link"),
        "B heard nothing of A's link:\n{context}"
    );
    assert!(
        log("a.log").contains("flow=flw_forwarded"),
        "A's log names the flow of the link it was handed:\n{context}"
    );
    for name in ["a.log", "second.log", "b.log"] {
        let text = log(name);
        assert!(
            !text.contains("WXYZ") && !text.contains("&code="),
            "{name} logged the link's code:\n{text}"
        );
    }
    assert!(
        !log("second.log").contains("flw_forwarded") && !log("b.log").contains("flw_forwarded"),
        "{context}"
    );
    println!("second launch handed over and exited in {ms} ms");
}

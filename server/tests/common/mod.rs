//! What the server tests add to `latch-testkit` (the one home of the
//! harness: a real `latchd` on loopback, sign-in over HTTP, PKCE, event
//! streams, free ports): timing and secret-hunting helpers.

#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

pub use latch_testkit::pkce::{challenge, new_verifier};
pub use latch_testkit::{
    device, link_request, EventStream, Frame, Latchd as Server, Mail, Pending, Signed,
};

/// The account most tests sign in to.
pub const ADA: &str = "ada@example.com";

/// Runs `latchd seed` on `database`: its output, succeeded or not.
pub fn seed(database: &std::path::Path, email: &str, devices: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_latchd"))
        .args(["seed", "--database", database.to_str().unwrap()])
        .args(["--email", email, "--devices", devices])
        .output()
        .unwrap()
}

/// Asserts `seed` succeeded: the JSON line it printed for each device.
#[track_caller]
pub fn seeded_lines(out: std::process::Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Asserts an answer was refused with `expected` and error `code`.
#[track_caller]
pub fn assert_refused(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(
        (status, body["error"].clone()),
        (expected, Value::from(code))
    );
}

/// The member names of a JSON object.
pub fn keys_of(object: &Value) -> std::collections::BTreeSet<&str> {
    object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
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

//! `docs/protocol.md` against the code: the same calls as `/v1/openapi.json`,
//! and every error code, revocation reason, event name and `latchd` flag the
//! code has, each read from the code itself (the protocol's enums through
//! serde, the flags through clap), not from a list kept here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use clap::CommandFactory;
use common::*;
use latch_protocol::{ErrorCode, Event, RevocationReason};

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The paths of the calls the document names: every `` `METHOD /path…` ``
/// span, the path up to its query string.
fn documented_paths(doc: &str) -> BTreeSet<String> {
    const METHODS: [&str; 5] = ["GET", "HEAD", "POST", "PATCH", "DELETE"];
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| {
            let (methods, rest) = span.split_once(' ')?;
            let known = methods
                .split("\\|")
                .all(|m| METHODS.contains(&m.trim_matches('|')));
            let path = rest.split([' ', '?']).next()?;
            (known && path.starts_with('/')).then(|| path.to_owned())
        })
        .collect()
}

/// `path` as the OpenAPI names it: itself, or the templated path
/// (`/v1/sessions/{id}`) it is an instance of (`/v1/sessions/current`).
fn as_openapi_path(path: &str, openapi: &BTreeSet<String>) -> String {
    if openapi.contains(path) {
        return path.to_owned();
    }
    let segments: Vec<&str> = path.split('/').collect();
    openapi
        .iter()
        .find(|candidate| {
            let theirs: Vec<&str> = candidate.split('/').collect();
            theirs.len() == segments.len()
                && theirs
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || t.starts_with('{'))
        })
        .cloned()
        .unwrap_or_else(|| path.to_owned())
}

#[tokio::test]
async fn the_document_and_the_openapi_name_the_same_paths() {
    let server = Server::start(&[]);
    let response = server.http.get(server.url("/v1/openapi.json")).send();
    let openapi: serde_json::Value = response.await.unwrap().json().await.unwrap();
    let openapi: BTreeSet<String> = openapi["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let documented: BTreeSet<String> = documented_paths(&doc())
        .iter()
        .filter(|p| !p.starts_with("/dev/"))
        .map(|p| as_openapi_path(p, &openapi))
        .collect();
    assert!(documented.contains("/auth/open"), "{documented:?}");
    assert_eq!(documented, openapi);
}

#[test]
fn every_error_code_revocation_reason_and_event_name_is_documented() {
    let doc = doc();
    let wire = |value: serde_json::Value| value.as_str().unwrap().to_owned();
    let codes = ErrorCode::ALL.map(|c| wire(serde_json::to_value(c).unwrap()));
    let reasons = RevocationReason::ALL.map(|r| wire(serde_json::to_value(r).unwrap()));
    assert_eq!((codes.len(), reasons.len()), (13, 8));
    for name in codes
        .iter()
        .chain(&reasons)
        .map(String::as_str)
        .chain(Event::NAMES)
    {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/protocol.md lacks `{name}`"
        );
    }
}

#[test]
fn every_latchd_flag_is_documented() {
    let doc = doc();
    let mut command = latchd::config::Cli::command();
    command.build();
    let mut flags = BTreeSet::new();
    let mut commands = vec![&command];
    while let Some(command) = commands.pop() {
        commands.extend(command.get_subcommands());
        flags.extend(command.get_arguments().filter_map(|a| a.get_long()));
    }
    assert!(flags.contains("auth-requests-per-minute"), "{flags:?}");
    for flag in &flags {
        assert!(
            doc.contains(&format!("--{flag}")),
            "docs/protocol.md lacks --{flag}"
        );
    }
    for subcommand in command.get_subcommands() {
        let name = subcommand.get_name();
        assert!(
            name == "help" || doc.contains(&format!("latchd {name}")),
            "docs/protocol.md lacks `latchd {name}`"
        );
    }
}

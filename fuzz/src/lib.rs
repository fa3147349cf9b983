//! What each fuzz target checks, one function per target. Hostile input
//! must never panic, and what a parser accepts must survive a round trip.
//!
//! This file is also compiled into latch-deeplink's test
//! `tests/fuzz_corpora.rs` (by `#[path]`), which replays every file of
//! `fuzz/corpus/<target>/` through the same function: the corpora keep
//! guarding the code in every `cargo test`, not only when scripts/fuzz runs.

use std::fmt::Debug;

use latch_deeplink::DeepLink;
use latch_protocol::{
    format_code, normalize_code, normalize_email, Account, ClockAdvanceRequest, ClockResponse,
    DevMail, Device, EmailLinkRequest, EmailLinkResponse, ErrorBody, Event, HeartbeatRequest,
    RenameSessionRequest, Revocation, RevokedCount, SeededSession, ServerInfo, Session,
    SessionList, SessionRevoked, TokenRequest, TokenResponse, UpdateAccountRequest, CODE_ALPHABET,
    CODE_LEN, MAX_EMAIL_LEN,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a fuzz target runs on one input.
pub type Check = fn(&[u8]);

/// Every target by name, for the corpus replay.
pub const TARGETS: [(&str, Check); 4] = [
    ("deep_link", deep_link),
    ("protocol_json", protocol_json),
    ("email", email),
    ("code", code),
];

/// `DeepLink::parse`: anything goes in; an accepted link carries a canonical
/// code and a plain flow id, and its own URL parses back to it.
pub fn deep_link(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(link) = DeepLink::parse(input) {
        assert_eq!(normalize_code(link.code()).as_deref(), Ok(link.code()));
        let flow = link.flow_id.as_str();
        assert!(
            !flow.is_empty()
                && flow.len() <= 64
                && flow
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{flow:?}"
        );
        assert_eq!(DeepLink::parse(&link.to_url()).as_ref(), Ok(&link));
        // Debug names the flow, never the code. (The flow id is the
        // caller's text and may itself contain the code's letters: found by
        // this target, corpus/deep_link/regress-code-inside-flow-id.)
        let shown = format!("{link:?}").replacen(flow, "", 1);
        assert!(!shown.contains(link.code()), "{shown}");
    }
}

/// The code normaliser: an accepted code is 8 characters of the alphabet,
/// and the shown form, lower case and the compact form all give it back.
pub fn code(data: &[u8]) {
    let Ok(typed) = std::str::from_utf8(data) else {
        return;
    };
    let _ = format_code(typed);
    if let Ok(canonical) = normalize_code(typed) {
        assert_eq!(canonical.len(), CODE_LEN);
        assert!(canonical.chars().all(|c| CODE_ALPHABET.contains(c)));
        let shown = format_code(&canonical);
        assert_eq!(shown.len(), CODE_LEN + 1);
        for form in [&canonical, &shown, &shown.to_lowercase()] {
            assert_eq!(normalize_code(form).as_ref(), Ok(&canonical), "{form}");
        }
    }
}

/// Email normalisation: an accepted address is ASCII, lower case, at most
/// 254 bytes, has one `@`, and normalising it again changes nothing.
pub fn email(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(email) = normalize_email(raw) {
        assert!(email.is_ascii() && email.len() <= MAX_EMAIL_LEN, "{email}");
        assert_eq!(email, email.to_ascii_lowercase());
        assert_eq!(email.matches('@').count(), 1, "{email}");
        assert_eq!(normalize_email(&email).as_ref(), Ok(&email));
    }
}

/// The wire types' JSON decoding: the first byte picks a type (or an SSE
/// event name), the rest is the JSON text. What decodes must encode and
/// decode again to the same value.
pub fn protocol_json(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match selector % 24 {
        0 => round_trip::<EmailLinkRequest>(text),
        1 => round_trip::<EmailLinkResponse>(text),
        2 => round_trip::<TokenRequest>(text),
        3 => round_trip::<TokenResponse>(text),
        4 => round_trip::<Account>(text),
        5 => round_trip::<UpdateAccountRequest>(text),
        6 => round_trip::<Session>(text),
        7 => round_trip::<SessionList>(text),
        8 => round_trip::<HeartbeatRequest>(text),
        9 => round_trip::<RenameSessionRequest>(text),
        10 => round_trip::<RevokedCount>(text),
        11 => round_trip::<ErrorBody>(text),
        12 => round_trip::<SessionRevoked>(text),
        13 => round_trip::<Revocation>(text),
        14 => round_trip::<ServerInfo>(text),
        15 => round_trip::<Device>(text),
        16 => round_trip::<DevMail>(text),
        17 => round_trip::<ClockAdvanceRequest>(text),
        18 => round_trip::<ClockResponse>(text),
        19 => round_trip::<SeededSession>(text),
        selector => {
            let name = [
                Event::SESSION_CREATED,
                Event::SESSION_UPDATED,
                Event::SESSION_REVOKED,
                Event::RESYNC,
            ][usize::from(selector - 20)];
            if let Ok(event) = Event::parse(name, text) {
                assert_eq!(event.name(), name);
                let again = Event::parse(event.name(), &event.data().to_string());
                assert_eq!(again.ok().as_ref(), Some(&event));
            }
        }
    }
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(text: &str) {
    if let Ok(value) = serde_json::from_str::<T>(text) {
        let encoded = serde_json::to_string(&value);
        assert!(encoded.is_ok(), "{value:?} did not encode: {encoded:?}");
        let again = encoded
            .ok()
            .and_then(|json| serde_json::from_str::<T>(&json).ok());
        assert_eq!(again.as_ref(), Some(&value), "did not decode again");
    }
}

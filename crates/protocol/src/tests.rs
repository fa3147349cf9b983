//! Pins the JSON of every wire type: a change here is a change of the frozen v1
//! contract, so each expected value is written out in full.

use std::fmt;

use chrono::TimeZone;
use serde::Serialize;
use serde_json::json;

use super::*;

fn t(secs: i64) -> Timestamp {
    Utc.timestamp_opt(secs, 0)
        .single()
        .expect("valid timestamp")
}

fn device() -> Device {
    Device {
        name: "Work laptop".into(),
        platform: Platform::Linux,
        os_version: "Debian 12".into(),
        app: AppKind::Desktop,
        app_version: "0.1.0".into(),
    }
}

fn session() -> Session {
    Session {
        id: "ses_1".into(),
        device: device(),
        ip: "127.0.0.1".into(),
        created_at: t(1_700_000_000),
        last_active_at: t(1_700_000_060),
        expires_at: t(1_701_209_660),
        state: SessionState::Active,
        current: true,
        renamed_by_device: None,
    }
}

fn account() -> Account {
    Account {
        id: "acc_1".into(),
        email: "ada@example.com".into(),
        display_name: "ada".into(),
        initials: "A".into(),
        created_at: t(1_700_000_000),
    }
}

fn device_json() -> serde_json::Value {
    json!({"name": "Work laptop", "platform": "linux", "os_version": "Debian 12",
           "app": "desktop", "app_version": "0.1.0"})
}

fn session_json() -> serde_json::Value {
    json!({"id": "ses_1", "device": device_json(), "ip": "127.0.0.1",
           "created_at": "2023-11-14T22:13:20Z", "last_active_at": "2023-11-14T22:14:20Z",
           "expires_at": "2023-11-28T22:14:20Z", "state": "active", "current": true,
           "renamed_by_device": null})
}

fn account_json() -> serde_json::Value {
    json!({"id": "acc_1", "email": "ada@example.com", "display_name": "ada",
           "initials": "A", "created_at": "2023-11-14T22:13:20Z"})
}

fn assert_wire<T>(value: &T, expected: serde_json::Value)
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
{
    assert_eq!(serde_json::to_value(value).unwrap(), expected);
    let back: T = serde_json::from_value(expected).unwrap();
    assert_eq!(&back, value);
}

#[test]
fn server_info() {
    assert_wire(
        &ServerInfo {
            version: "0.1.0".into(),
            idle_timeout_s: 1_209_600,
            absolute_lifetime_s: 2_592_000,
        },
        json!({"version": "0.1.0", "idle_timeout_s": 1_209_600, "absolute_lifetime_s": 2_592_000}),
    );
}

#[test]
fn email_link_request_and_response() {
    assert_wire(
        &EmailLinkRequest {
            email: "ada@example.com".into(),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            code_challenge_method: "S256".into(),
            device: device(),
        },
        json!({"email": "ada@example.com",
               "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
               "code_challenge_method": "S256", "device": device_json()}),
    );
    assert_wire(
        &EmailLinkResponse {
            flow_id: "flw_1".into(),
            expires_at: t(1_700_000_600),
            resend_after: t(1_700_000_060),
        },
        json!({"flow_id": "flw_1", "expires_at": "2023-11-14T22:23:20Z",
               "resend_after": "2023-11-14T22:14:20Z"}),
    );
}

#[test]
fn device_ignores_unknown_members_and_refuses_unknown_platforms() {
    let mut with_extra = device_json();
    with_extra["color"] = json!("blue");
    assert_eq!(
        serde_json::from_value::<Device>(with_extra).unwrap(),
        device()
    );
    let mut bad = device_json();
    bad["platform"] = json!("beos");
    assert!(serde_json::from_value::<Device>(bad).is_err());
    let mut bad_app = device_json();
    bad_app["app"] = json!("cli");
    assert!(serde_json::from_value::<Device>(bad_app).is_err());
}

#[test]
fn device_names_are_trimmed_and_bounded() {
    let mut d = device();
    d.name = "  Pixel 8 ".into();
    assert_eq!(d.normalized().unwrap().name, "Pixel 8");
    d.name = "   ".into();
    assert_eq!(
        d.normalized().unwrap_err(),
        ("device.name", NameError::Empty)
    );
    d.name = "é".repeat(64);
    assert!(
        d.normalized().is_ok(),
        "64 characters are fine even when they are 128 bytes"
    );
    d.name = "x".repeat(65);
    assert_eq!(
        d.normalized().unwrap_err(),
        ("device.name", NameError::TooLong)
    );
    let mut v = device();
    v.os_version = String::new();
    assert_eq!(v.normalized().unwrap_err().0, "device.os_version");
}

#[test]
fn every_reported_name_follows_the_name_rule() {
    let mut d = device();
    d.name = "Laptop\nClick https://evil.example".into();
    assert_eq!(
        d.normalized().unwrap_err(),
        ("device.name", NameError::Control('\n'))
    );
    let mut v = device();
    v.os_version = "Debian\u{202E}21".into();
    assert_eq!(
        v.normalized().unwrap_err(),
        ("device.os_version", NameError::Invisible('\u{202E}'))
    );
    let mut a = device();
    a.app_version = "0.1.0\r\n".into();
    assert_eq!(a.normalized().unwrap_err().0, "device.app_version");
    let mut ok = device();
    ok.name = "👩\u{200D}💻  Laptop".into();
    ok.os_version = " Debian   12 ".into();
    let n = ok.normalized().unwrap();
    assert_eq!(
        (n.name.as_str(), n.os_version.as_str()),
        ("👩\u{200D}💻 Laptop", "Debian 12")
    );
}

#[test]
fn token_exchange() {
    assert_wire(
        &TokenRequest {
            flow_id: "flw_1".into(),
            code: OneTimeCode::new("ABCD-EFGH".into()),
            code_verifier: CodeVerifier::new("v".repeat(43)),
        },
        json!({"flow_id": "flw_1", "code": "ABCD-EFGH", "code_verifier": "v".repeat(43)}),
    );
    assert_wire(
        &TokenResponse {
            session_token: SessionToken::new("secret".into()),
            session: session(),
            account: account(),
        },
        json!({"session_token": "secret", "session": session_json(), "account": account_json()}),
    );
}

#[test]
fn secrets_do_not_debug_print() {
    let response = TokenResponse {
        session_token: SessionToken::new("tok-SECRET".into()),
        session: session(),
        account: account(),
    };
    let request = TokenRequest {
        flow_id: "flw_1".into(),
        code: OneTimeCode::new("CODE-SECR".into()),
        code_verifier: CodeVerifier::new("verifier-SECRET".into()),
    };
    let printed = format!("{response:?} {request:?}");
    assert!(
        !printed.contains("SECRET") && !printed.contains("SECR"),
        "{printed}"
    );
    assert!(printed.contains("SessionToken(**redacted**)"));
}

#[test]
fn account_session_and_lists() {
    assert_wire(&account(), account_json());
    assert_wire(&session(), session_json());
    assert_wire(
        &SessionList {
            sessions: vec![session()],
        },
        json!({"sessions": [session_json()]}),
    );
    assert_wire(
        &UpdateAccountRequest {
            display_name: "Ada L".into(),
        },
        json!({"display_name": "Ada L"}),
    );
    assert_wire(
        &HeartbeatRequest {
            state: SessionState::Idle,
        },
        json!({"state": "idle"}),
    );
    assert_wire(
        &RenameSessionRequest {
            device_name: "Pixel".into(),
        },
        json!({"device_name": "Pixel"}),
    );
    assert_wire(&RevokedCount { revoked: 3 }, json!({"revoked": 3}));
}

#[test]
fn revocation_reasons_and_error_codes_have_their_wire_names() {
    for reason in RevocationReason::ALL {
        assert_eq!(
            serde_json::to_value(&reason).unwrap(),
            json!(reason.as_str())
        );
        assert_eq!(
            serde_json::from_value::<RevocationReason>(json!(reason.as_str())).unwrap(),
            reason
        );
        assert_eq!(RevocationReason::parse(reason.as_str()), Some(reason));
    }
    let names: Vec<&str> = RevocationReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "logged_out",
            "terminated",
            "logged_out_others",
            "logged_out_everywhere",
            "expired_idle",
            "expired_absolute",
            "evicted",
            "admin"
        ]
    );
    let codes = [
        (ErrorCode::InvalidRequest, "invalid_request", 400),
        (ErrorCode::InvalidCode, "invalid_code", 400),
        (ErrorCode::VerifierMismatch, "verifier_mismatch", 400),
        (ErrorCode::FlowExpired, "flow_expired", 400),
        (ErrorCode::FlowUsed, "flow_used", 400),
        (ErrorCode::FlowLocked, "flow_locked", 400),
        (ErrorCode::RateLimited, "rate_limited", 429),
        (ErrorCode::Unauthenticated, "unauthenticated", 401),
        (ErrorCode::SessionRevoked, "session_revoked", 401),
        (
            ErrorCode::CannotTerminateCurrent,
            "cannot_terminate_current",
            409,
        ),
        (ErrorCode::NotFound, "not_found", 404),
        (ErrorCode::Unavailable, "unavailable", 503),
        (ErrorCode::Internal, "internal", 500),
    ];
    assert_eq!(
        codes.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
        ErrorCode::ALL
    );
    for (code, name, status) in codes {
        assert_eq!(serde_json::to_value(&code).unwrap(), json!(name));
        assert_eq!(
            serde_json::from_value::<ErrorCode>(json!(name)).unwrap(),
            code
        );
        assert_eq!(code.as_str(), name);
        assert_eq!(code.status(), status);
    }
}

#[test]
fn error_bodies_are_flat() {
    assert_wire(
        &ErrorBody {
            error: ErrorCode::NotFound,
            message: "No such session.".into(),
            revocation: None,
        },
        json!({"error": "not_found", "message": "No such session."}),
    );
    assert_wire(
        &ErrorBody {
            error: ErrorCode::SessionRevoked,
            message: "This device was terminated.".into(),
            revocation: Some(Revocation {
                reason: RevocationReason::Terminated,
                by_device: Some("Pixel 8".into()),
                at: t(1_700_000_000),
            }),
        },
        json!({"error": "session_revoked", "message": "This device was terminated.",
               "reason": "terminated", "by_device": "Pixel 8", "at": "2023-11-14T22:13:20Z"}),
    );
}

#[test]
fn events() {
    let revoked = SessionRevoked {
        session_id: "ses_2".into(),
        revocation: Revocation {
            reason: RevocationReason::ExpiredIdle,
            by_device: None,
            at: t(1_700_000_000),
        },
    };
    let revoked_json = json!({"session_id": "ses_2", "reason": "expired_idle", "by_device": null,
                               "at": "2023-11-14T22:13:20Z"});
    assert_wire(&revoked, revoked_json.clone());
    let cases = [
        (
            Event::SessionCreated(session()),
            "session.created",
            session_json(),
        ),
        (
            Event::SessionUpdated(session()),
            "session.updated",
            session_json(),
        ),
        (
            Event::SessionRevoked(revoked),
            "session.revoked",
            revoked_json,
        ),
        (Event::Resync, "resync", json!({})),
    ];
    for (event, name, data) in cases {
        assert_eq!(event.name(), name);
        assert_eq!(event.data(), data);
        assert_eq!(Event::parse(name, &data.to_string()).unwrap(), event);
    }
    assert!(matches!(
        Event::parse("session.exploded", "{}"),
        Err(EventParseError::UnknownName(_))
    ));
    assert!(matches!(
        Event::parse("session.revoked", "{"),
        Err(EventParseError::Data(_))
    ));
}

#[test]
fn dev_types() {
    assert_wire(
        &DevMail {
            to: "ada@example.com".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            sent_at: t(1_700_000_000),
        },
        json!({"to": "ada@example.com", "subject": "s", "text": "t", "html": "h",
               "sent_at": "2023-11-14T22:13:20Z"}),
    );
    assert_wire(
        &ClockAdvanceRequest {
            advance: "15d".into(),
        },
        json!({"advance": "15d"}),
    );
    assert_wire(
        &SeededSession {
            session_id: "ses_1".into(),
            session_token: SessionToken::new("tok".into()),
            device_name: "Device 1".into(),
        },
        json!({"session_id": "ses_1", "session_token": "tok", "device_name": "Device 1"}),
    );
}

#[test]
fn initials_follow_the_rule() {
    assert_eq!(initials("ada"), "A");
    assert_eq!(initials("ada lovelace"), "AL");
    assert_eq!(initials("ada.lovelace"), "AL");
    assert_eq!(initials("jean-luc_picard x"), "JL");
    assert_eq!(initials("mary_ann"), "MA");
    assert_eq!(initials("  ..ada"), "A");
    assert_eq!(initials("élodie"), "É");
    assert_eq!(initials(""), "");
}

#[test]
fn codes_normalise() {
    assert_eq!(normalize_code("ABCD-EFGH").unwrap(), "ABCDEFGH");
    assert_eq!(normalize_code("abcdefgh").unwrap(), "ABCDEFGH");
    assert_eq!(normalize_code(" abcd-efgh ").unwrap(), "ABCDEFGH");
    assert_eq!(normalize_code("ABCD-EFG"), Err(CodeError::Length));
    assert_eq!(normalize_code("AB-CDEFGH"), Err(CodeError::Length));
    assert_eq!(normalize_code("ABCD-EFGH-"), Err(CodeError::Length));
    assert_eq!(
        normalize_code("ABCD0FGH"),
        Err(CodeError::Character),
        "0 is not in the alphabet"
    );
    assert_eq!(
        normalize_code("ABCDIFGH"),
        Err(CodeError::Character),
        "I is not in the alphabet"
    );
    assert_eq!(normalize_code("ABCDÉFGH"), Err(CodeError::Character));
    assert_eq!(normalize_code(""), Err(CodeError::Length));
    assert_eq!(format_code("ABCDEFGH"), "ABCD-EFGH");
    assert_eq!(
        CODE_ALPHABET.len(),
        32,
        "5 bits a character, 40 bits a code"
    );
}

#[test]
fn emails_normalise() {
    assert_eq!(normalize_email("  Alice@X.com ").unwrap(), "alice@x.com");
    assert_eq!(
        normalize_email("a.b+tag@sub.example.org").unwrap(),
        "a.b+tag@sub.example.org"
    );
    for bad in [
        "alice",
        "alice@",
        "@x.com",
        "alice@x",
        "a@@x.com",
        "a b@x.com",
        "alice@-x.com",
        "alice@x..com",
        ".a@x.com",
        "a..b@x.com",
        "a@x.com\n@y.com",
        "ä@x.com",
    ] {
        assert_eq!(normalize_email(bad), Err(EmailError::Malformed), "{bad:?}");
    }
    assert_eq!(normalize_email("   "), Err(EmailError::Empty));
    let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
    assert_eq!(normalize_email(&long), Err(EmailError::TooLong));
}

/// `ALL` and `NAMES` list every known value: a variant added without them
/// fails here.
#[test]
fn the_all_lists_are_complete() {
    let session = || Session {
        id: SessionId("ses_1".into()),
        device: device(),
        ip: "::1".into(),
        created_at: t(0),
        last_active_at: t(0),
        expires_at: t(0),
        state: SessionState::Active,
        current: false,
        renamed_by_device: None,
    };
    let revoked = SessionRevoked {
        session_id: SessionId("ses_1".into()),
        revocation: Revocation {
            reason: RevocationReason::Evicted,
            by_device: None,
            at: t(0),
        },
    };
    for event in [
        Event::SessionCreated(session()),
        Event::SessionUpdated(session()),
        Event::SessionRevoked(revoked),
        Event::Resync,
    ] {
        // Exhaustive: a new variant must be added above, and to NAMES.
        match &event {
            Event::SessionCreated(_)
            | Event::SessionUpdated(_)
            | Event::SessionRevoked(_)
            | Event::Resync => {}
        }
        assert!(Event::NAMES.contains(&event.name()), "{}", event.name());
    }
    for reason in RevocationReason::ALL {
        match reason {
            RevocationReason::LoggedOut
            | RevocationReason::Terminated
            | RevocationReason::LoggedOutOthers
            | RevocationReason::LoggedOutEverywhere
            | RevocationReason::ExpiredIdle
            | RevocationReason::ExpiredAbsolute
            | RevocationReason::Evicted
            | RevocationReason::Admin => {}
            RevocationReason::Unknown(_) => panic!("Unknown in ALL"),
        }
    }
    for code in ErrorCode::ALL {
        match code {
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidCode
            | ErrorCode::VerifierMismatch
            | ErrorCode::FlowExpired
            | ErrorCode::FlowUsed
            | ErrorCode::FlowLocked
            | ErrorCode::RateLimited
            | ErrorCode::Unauthenticated
            | ErrorCode::SessionRevoked
            | ErrorCode::CannotTerminateCurrent
            | ErrorCode::NotFound
            | ErrorCode::Unavailable
            | ErrorCode::Internal => {}
            ErrorCode::Unknown(_) => panic!("Unknown in ALL"),
        }
    }
}

/// A newer server's reason (`quarantined`, say; `admin` was one until this version knew it) parses, and goes back out as it came.
#[test]
fn an_unknown_revocation_reason_parses_and_round_trips() {
    let body: ErrorBody = serde_json::from_value(json!({
        "error": "session_revoked",
        "message": "Quarantined.",
        "reason": "quarantined",
        "by_device": null,
        "at": "2026-01-01T00:00:00Z",
        "new_field": 1
    }))
    .unwrap();
    let revocation = body.revocation.clone().unwrap();
    assert_eq!(
        revocation.reason,
        RevocationReason::Unknown("quarantined".into())
    );
    assert_eq!(revocation.reason.as_str(), "quarantined");
    assert_eq!(RevocationReason::parse("quarantined"), None);
    assert_eq!(
        serde_json::to_value(&revocation.reason).unwrap(),
        json!("quarantined")
    );
    let event = Event::parse(
        Event::SESSION_REVOKED,
        r#"{"session_id":"ses_1","reason":"quarantined","by_device":null,"at":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    assert!(
        matches!(&event, Event::SessionRevoked(r) if r.revocation.reason == RevocationReason::Unknown("quarantined".into()))
    );
    assert_eq!(event.data()["reason"], json!("quarantined"));
    // `admin` is known now.
    assert_eq!(
        serde_json::from_value::<RevocationReason>(json!("admin")).unwrap(),
        RevocationReason::Admin
    );
}

/// A newer server's error code (`step_up_required`, say) parses, and goes
/// back out as it came.
#[test]
fn an_unknown_error_code_parses_and_round_trips() {
    let body: ErrorBody = serde_json::from_value(json!({
        "error": "step_up_required",
        "message": "Confirm it is you."
    }))
    .unwrap();
    assert_eq!(body.error, ErrorCode::Unknown("step_up_required".into()));
    assert_eq!(body.error.as_str(), "step_up_required");
    assert_eq!(body.error.status(), 500);
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"error": "step_up_required", "message": "Confirm it is you."})
    );
    // Not a string at all is still an error.
    assert!(serde_json::from_value::<ErrorCode>(json!(7)).is_err());
}

/// `renamed_by_device` came after v1: an older server's session has none.
#[test]
fn a_session_without_renamed_by_device_parses_as_never_renamed() {
    let mut older = session_json();
    older.as_object_mut().unwrap().remove("renamed_by_device");
    let parsed: Session = serde_json::from_value(older).unwrap();
    assert_eq!(parsed, session());
    let mut renamed = session();
    renamed.renamed_by_device = Some("Pixel 8".into());
    assert_eq!(
        serde_json::to_value(&renamed).unwrap()["renamed_by_device"],
        json!("Pixel 8")
    );
}

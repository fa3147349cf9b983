//! Session status and sign-out reasons in words: pure functions of the
//! session, the server's lifetimes and now, so every boundary is testable.

use chrono::{DateTime, Duration, Local, TimeZone, Utc};
use latch_protocol::{Revocation, RevocationReason, Session, SessionState};

/// The server's lifetimes (`GET /v1/server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lifetimes {
    pub idle_timeout_s: u64,
    pub absolute_lifetime_s: u64,
}

impl Default for Lifetimes {
    /// latchd's defaults, until the server has said otherwise.
    fn default() -> Self {
        Self {
            idle_timeout_s: 14 * 86_400,
            absolute_lifetime_s: 30 * 86_400,
        }
    }
}

/// When a session ends unless used; the window words it and keeps the
/// words fresh ("Expires in 12 days if unused").
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Expiry {
    pub at: DateTime<Utc>,
    /// False when use can't extend it (the absolute end).
    pub if_unused: bool,
}

/// Idle sessions, and any within this of their end, show when they expire.
const SHOW_EXPIRY_WITHIN: i64 = 3 * 86_400;

/// When a session ends, for sessions that aren't in use or end soon; None
/// otherwise. The window words it ("Expires in 12 days if unused").
pub fn expiry_of(session: &Session, lifetimes: &Lifetimes, now: DateTime<Utc>) -> Option<Expiry> {
    let left = session.expires_at - now;
    let idle = session.state == SessionState::Idle && !session.current;
    if !idle && left.num_seconds() > SHOW_EXPIRY_WITHIN {
        return None;
    }
    let absolute_end = session.created_at + seconds(lifetimes.absolute_lifetime_s);
    Some(Expiry {
        at: session.expires_at,
        if_unused: session.expires_at < absolute_end,
    })
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

/// A time left in words, rounded down: `"12 days"`, `"5 hours"`, `"1 minute"`.
pub fn span(d: Duration) -> String {
    match () {
        _ if d.num_minutes() < 1 => "less than a minute".to_owned(),
        _ if d.num_hours() < 1 => plural(d.num_minutes(), "minute"),
        _ if d.num_days() < 1 => plural(d.num_hours(), "hour"),
        _ => plural(d.num_days(), "day"),
    }
}

/// `"there is no bus"` → `"There is no bus"`: a message that starts a sentence.
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Why this device was signed out, for the notice on the sign-in view:
/// "This device was terminated from Pixel 8 at 09:13".
pub fn signed_out_message<Tz: TimeZone>(
    revocation: &Revocation,
    lifetimes: &Lifetimes,
    now: DateTime<Utc>,
    tz: &Tz,
) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let by = revocation.by_device.as_deref().unwrap_or("another device");
    let when = clock_time(revocation.at, now, tz);
    match &revocation.reason {
        RevocationReason::LoggedOut => format!("You logged out of this device {when}"),
        RevocationReason::Terminated => format!("This device was terminated from {by} {when}"),
        RevocationReason::LoggedOutOthers => format!("You logged out of all other devices from {by} {when}"),
        RevocationReason::LoggedOutEverywhere => format!("You logged out of all devices from {by} {when}"),
        RevocationReason::ExpiredIdle => format!("Signed out after {} without use", span(seconds(lifetimes.idle_timeout_s))),
        RevocationReason::ExpiredAbsolute => format!(
            "Signed out because sign-ins last at most {}. Sign in again to continue.",
            span(seconds(lifetimes.absolute_lifetime_s))
        ),
        RevocationReason::Evicted => {
            "Signed out because this account signed in on more than 100 devices; the least recently used goes first.".to_owned()
        }
        RevocationReason::Admin => {
            format!("Signed out by the server's administrator {when}")
        }
        // A reason from a newer server.
        RevocationReason::Unknown(_) => "Signed out by the server".to_owned(),
    }
}

/// `"at 14:02"` today, `"yesterday at 14:02"`, else `"on 25 Nov at 14:02"`.
fn clock_time<Tz: TimeZone>(at: DateTime<Utc>, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let at_local = at.with_timezone(tz);
    let today = now.with_timezone(tz).date_naive();
    let hm = at_local.format("%H:%M");
    let day = at_local.date_naive();
    if day == today {
        format!("at {hm}")
    } else if today.pred_opt() == Some(day) {
        format!("yesterday at {hm}")
    } else {
        format!("on {} at {hm}", at_local.format("%-d %b"))
    }
}

/// The same in this computer's time zone.
pub fn signed_out_message_local(
    revocation: &Revocation,
    lifetimes: &Lifetimes,
    now: DateTime<Utc>,
) -> String {
    signed_out_message(revocation, lifetimes, now, &Local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;
    use latch_protocol::{AppKind, Device, Platform};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn session(
        current: bool,
        state: SessionState,
        last_active: &str,
        created: &str,
        expires: &str,
    ) -> Session {
        Session {
            id: "ses_1".into(),
            device: Device {
                name: "Pixel 8".into(),
                platform: Platform::Android,
                os_version: "15".into(),
                app: AppKind::Mobile,
                app_version: "1".into(),
            },
            ip: "127.0.0.1".into(),
            created_at: t(created),
            last_active_at: t(last_active),
            expires_at: t(expires),
            state,
            current,
            renamed_by_device: None,
        }
    }

    /// The words the window makes of an expiry (ui/src/lib), so the
    /// boundaries below keep their meaning.
    fn expiry_line(session: &Session, lifetimes: &Lifetimes, now: DateTime<Utc>) -> Option<String> {
        expiry_of(session, lifetimes, now).map(|e| {
            let left = span(e.at - now);
            if e.if_unused {
                format!("Expires in {left} if unused")
            } else {
                format!("Expires in {left}")
            }
        })
    }

    #[test]
    fn expiry_lines() {
        let lifetimes = Lifetimes::default();
        let now = t("2026-11-27T12:00:00Z");
        // Idle, ending by the idle timeout: "if unused".
        let idle = session(
            false,
            SessionState::Idle,
            "2026-11-25T12:00:00Z",
            "2026-11-20T12:00:00Z",
            "2026-12-09T12:00:00Z",
        );
        assert_eq!(
            expiry_line(&idle, &lifetimes, now).as_deref(),
            Some("Expires in 12 days if unused")
        );
        // In use and far from its end: nothing to say.
        let busy = session(
            false,
            SessionState::Active,
            "2026-11-27T12:00:00Z",
            "2026-11-20T12:00:00Z",
            "2026-12-11T12:00:00Z",
        );
        assert_eq!(expiry_line(&busy, &lifetimes, now), None);
        // Ending by the absolute lifetime: use can't extend it.
        let old = session(
            false,
            SessionState::Active,
            "2026-11-27T11:00:00Z",
            "2026-10-29T12:00:00Z",
            "2026-11-28T12:00:00Z",
        );
        assert_eq!(
            expiry_line(&old, &lifetimes, now).as_deref(),
            Some("Expires in 1 day")
        );
        // The 3-day boundary for sessions in use.
        let edge = |expires| {
            session(
                true,
                SessionState::Active,
                "2026-11-13T12:00:00Z",
                "2026-11-13T12:00:00Z",
                expires,
            )
        };
        assert_eq!(
            expiry_line(&edge("2026-11-30T12:00:01Z"), &lifetimes, now),
            None
        );
        assert_eq!(
            expiry_line(&edge("2026-11-30T12:00:00Z"), &lifetimes, now).as_deref(),
            Some("Expires in 3 days if unused")
        );
        assert_eq!(
            expiry_line(&edge("2026-11-27T17:30:00Z"), &lifetimes, now).as_deref(),
            Some("Expires in 5 hours if unused")
        );
        assert_eq!(
            expiry_line(&edge("2026-11-27T12:00:30Z"), &lifetimes, now).as_deref(),
            Some("Expires in less than a minute if unused")
        );
    }

    #[test]
    fn signed_out_messages() {
        let lifetimes = Lifetimes::default();
        let now = t("2026-11-27T15:00:00Z");
        let tz = FixedOffset::east_opt(3600).unwrap();
        let rev = |reason, by: Option<&str>, at| Revocation {
            reason,
            by_device: by.map(Into::into),
            at: t(at),
        };
        let msg = |r: Revocation| signed_out_message(&r, &lifetimes, now, &tz);
        assert_eq!(
            msg(rev(
                RevocationReason::Terminated,
                Some("Pixel 8"),
                "2026-11-27T08:13:00Z"
            )),
            "This device was terminated from Pixel 8 at 09:13"
        );
        assert_eq!(
            msg(rev(
                RevocationReason::LoggedOutEverywhere,
                Some("Work laptop"),
                "2026-11-27T13:02:00Z"
            )),
            "You logged out of all devices from Work laptop at 14:02"
        );
        assert_eq!(
            msg(rev(
                RevocationReason::LoggedOutOthers,
                Some("Work laptop"),
                "2026-11-26T13:02:00Z"
            )),
            "You logged out of all other devices from Work laptop yesterday at 14:02"
        );
        assert_eq!(
            msg(rev(
                RevocationReason::Terminated,
                Some("Pixel 8"),
                "2026-11-20T08:13:00Z"
            )),
            "This device was terminated from Pixel 8 on 20 Nov at 09:13"
        );
        assert_eq!(
            msg(rev(
                RevocationReason::ExpiredIdle,
                None,
                "2026-11-27T08:13:00Z"
            )),
            "Signed out after 14 days without use"
        );
        assert!(msg(rev(
            RevocationReason::ExpiredAbsolute,
            None,
            "2026-11-27T08:13:00Z"
        ))
        .contains("30 days"));
        assert!(
            msg(rev(RevocationReason::Evicted, None, "2026-11-27T08:13:00Z"))
                .contains("100 devices")
        );
        // A reason this version doesn't know yet, from a newer server.
        assert_eq!(
            msg(rev(
                RevocationReason::Unknown("quarantined".into()),
                Some("Console"),
                "2026-11-27T08:13:00Z"
            )),
            "Signed out by the server"
        );
        assert_eq!(
            msg(rev(RevocationReason::Admin, None, "2026-11-27T08:13:00Z")),
            "Signed out by the server's administrator at 09:13"
        );
        // Midnight boundary in the local zone: 23:30 UTC is 00:30 the next day at +01:00.
        let late = Revocation {
            reason: RevocationReason::Terminated,
            by_device: Some("Pixel 8".into()),
            at: t("2026-11-26T23:30:00Z"),
        };
        assert_eq!(
            signed_out_message(&late, &lifetimes, now, &tz),
            "This device was terminated from Pixel 8 at 00:30"
        );
    }
}

//! `GET /v1/sessions`' body: the caller's session first, then the others.

use latch_protocol::{Session, SessionList};

use super::sessions::{Lifetimes, SessionRow};
use crate::clock::Timestamp;

/// `GET /v1/sessions`' answer from `live_sessions`' rows: the caller's
/// session first, then the others in the rows' order.
pub fn session_list(rows: &[SessionRow], current_id: &str, lifetimes: &Lifetimes) -> SessionList {
    let (mut sessions, others): (Vec<Session>, Vec<Session>) = rows
        .iter()
        .map(|row| row.to_wire(lifetimes, row.id == current_id))
        .partition(|s| s.current);
    sessions.extend(others);
    SessionList { sessions }
}

/// `GET /v1/sessions`' body, byte for byte what `serde_json` writes for
/// `session_list(rows, current_id, lifetimes)`, without building it: no
/// clone of the rows' strings, timestamps through `clock::Timestamp`, one
/// buffer sized up front (axum's `Json` starts at 128 bytes and doubles its
/// way to ~30 KiB). Pinned against `session_list` by the tests below.
pub fn session_list_json(
    rows: &[SessionRow],
    current_id: &str,
    lifetimes: &Lifetimes,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(16 + rows.len() * SESSION_JSON_GUESS);
    let view = SessionListView {
        rows,
        current_id,
        lifetimes,
    };
    serde_json::to_writer(&mut out, &view)?;
    Ok(out)
}

/// About what one session takes in JSON with typical names and versions.
const SESSION_JSON_GUESS: usize = 320;

struct SessionListView<'a> {
    rows: &'a [SessionRow],
    current_id: &'a str,
    lifetimes: &'a Lifetimes,
}

impl serde::Serialize for SessionListView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};

        struct Sessions<'a>(&'a SessionListView<'a>);
        impl serde::Serialize for Sessions<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let list = self.0;
                let view = |row, current| SessionView {
                    row,
                    current,
                    lifetimes: list.lifetimes,
                };
                let mut seq = serializer.serialize_seq(Some(list.rows.len()))?;
                // The caller's session first, then the others in row order.
                let (mine, others) = (
                    list.rows.iter().filter(|r| r.id == list.current_id),
                    list.rows.iter().filter(|r| r.id != list.current_id),
                );
                for row in mine {
                    seq.serialize_element(&view(row, true))?;
                }
                for row in others {
                    seq.serialize_element(&view(row, false))?;
                }
                seq.end()
            }
        }

        let mut list = serializer.serialize_struct("SessionList", 1)?;
        list.serialize_field("sessions", &Sessions(self))?;
        list.end()
    }
}

/// A `latch_protocol::Session` as it serialises, borrowed from its row.
struct SessionView<'a> {
    row: &'a SessionRow,
    current: bool,
    lifetimes: &'a Lifetimes,
}

impl serde::Serialize for SessionView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;

        let row = self.row;
        let expires_at = self.lifetimes.expiry(row.created_at, row.last_active_at).0;
        // Session's fields, in its declaration order.
        let mut s = serializer.serialize_struct("Session", 9)?;
        s.serialize_field("id", &row.id)?;
        s.serialize_field("device", &row.device)?;
        s.serialize_field("ip", &row.ip)?;
        s.serialize_field("created_at", &Timestamp(row.created_at))?;
        s.serialize_field("last_active_at", &Timestamp(row.last_active_at))?;
        s.serialize_field("expires_at", &Timestamp(expires_at))?;
        s.serialize_field("state", &row.state)?;
        s.serialize_field("current", &self.current)?;
        s.serialize_field("renamed_by_device", &row.renamed_by_device)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use latch_protocol::{AppKind, Device, Platform, SessionState};

    use super::*;
    use crate::store::test_support::{Rng, DAY, LIFETIMES};

    const NAMES: &[&str] = &[
        "Pixel 8",
        "Ada's \"work\" laptop",
        "back\\slash",
        "tab\there\nnewline\r\u{1}\u{1f}\u{7f}",
        "</script><b>&amp;",
        "Zoë’s iPhone 🍏",
        "日本語の名前",
        "\u{2028}\u{2029}",
        "x",
    ];

    fn random_row(rng: &mut Rng, i: usize) -> SessionRow {
        let times = [
            0,
            1_767_225_600_000,
            1_767_225_600_123,
            -1,
            253_402_300_799_999,
            253_402_300_800_000,
            i64::MAX,
            i64::MIN / 2,
        ];
        let time = |rng: &mut Rng| {
            if rng.next() & 3 == 0 {
                *rng.pick(&times)
            } else {
                1_700_000_000_000 + (rng.next() % (400 * DAY as u64)) as i64
            }
        };
        SessionRow {
            id: format!("ses_{i}_{}", rng.pick(NAMES)),
            account_id: "acc_1".into(),
            device: Device {
                name: (*rng.pick(NAMES)).into(),
                platform: *rng.pick(&[Platform::Linux, Platform::Ios, Platform::Web]),
                os_version: (*rng.pick(NAMES)).into(),
                app: *rng.pick(&[AppKind::Desktop, AppKind::Web, AppKind::Mobile]),
                app_version: (*rng.pick(NAMES)).into(),
            },
            ip: (*rng.pick(&["127.0.0.1", "::1", "2001:db8::1"])).into(),
            created_at: time(rng),
            last_active_at: time(rng),
            last_heartbeat_at: time(rng),
            state: *rng.pick(&[SessionState::Active, SessionState::Idle]),
            revocation: None,
            renamed_by_device: (rng.next() & 1 == 0).then(|| (*rng.pick(NAMES)).into()),
        }
    }

    #[test]
    fn the_session_list_json_is_byte_for_byte_what_the_protocol_types_write() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for round in 0..300 {
            let rows: Vec<SessionRow> =
                (0..(round % 13)).map(|i| random_row(&mut rng, i)).collect();
            // The caller anywhere in the rows, or (a race) not among them.
            let current = match rows.len() {
                0 => "ses_none".to_owned(),
                n => match rng.next() % (n as u64 + 1) {
                    k if k == n as u64 => "ses_none".to_owned(),
                    k => rows[k as usize].id.clone(),
                },
            };
            let lifetimes = if round % 2 == 0 {
                LIFETIMES
            } else {
                Lifetimes {
                    idle_ms: 90_000,
                    absolute_ms: 1,
                }
            };
            let expected = serde_json::to_vec(&session_list(&rows, &current, &lifetimes)).unwrap();
            let ours = session_list_json(&rows, &current, &lifetimes).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(expected).unwrap(),
                "round {round}"
            );
        }
    }
}

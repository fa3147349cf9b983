//! Sessions in SQLite. The rows are read by column position and the enums
//! matched as borrowed text: `GET /v1/sessions` and every authentication
//! read here.

use latch_protocol::{AppKind, Device, Platform, Revocation, RevocationReason, SessionState};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::Sqlite;
use crate::clock::{to_datetime, Millis};
use crate::error::ApiResult;
use crate::store::{Lifetimes, SessionRow, Sessions, IDLE_AFTER_MS};

/// The columns `session_from_row` reads, by position: every query that
/// feeds it selects exactly these, in this order. Read by index, not by
/// name: rusqlite's `row.get("name")` compares the name against every
/// column's, which was a sixth of `GET /v1/sessions`' CPU time.
macro_rules! session_columns {
    () => {
        "id, account_id, device_name, platform, os_version, app, app_version, ip, created_at,
         last_active_at, last_heartbeat_at, state, revoked_at, revoked_reason, revoked_by_device,
         renamed_by_device"
    };
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    let bad = |column: &str, value: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("bad {column} {value:?}").into(),
        )
    };
    // The enums are read as borrowed text: no String per column per row.
    let platform = row.get_ref(3)?.as_str()?;
    let platform = parse_platform(platform).ok_or_else(|| bad("platform", platform))?;
    let app = row.get_ref(5)?.as_str()?;
    let app = parse_app(app).ok_or_else(|| bad("app", app))?;
    let state = row.get_ref(11)?.as_str()?;
    let state = parse_state(state).ok_or_else(|| bad("state", state))?;
    let revoked_at: Option<Millis> = row.get(12)?;
    let revocation = match revoked_at {
        Some(at) => {
            let reason = row.get_ref(13)?.as_str()?;
            Some(Revocation {
                reason: RevocationReason::parse(reason).ok_or_else(|| bad("reason", reason))?,
                by_device: row.get(14)?,
                at: to_datetime(at),
            })
        }
        None => None,
    };
    Ok(SessionRow {
        id: row.get(0)?,
        account_id: row.get(1)?,
        device: Device {
            name: row.get(2)?,
            platform,
            os_version: row.get(4)?,
            app,
            app_version: row.get(6)?,
        },
        ip: row.get(7)?,
        created_at: row.get(8)?,
        last_active_at: row.get(9)?,
        last_heartbeat_at: row.get(10)?,
        state,
        revocation,
        renamed_by_device: row.get(15)?,
    })
}

// The protocol's `parse` functions go through `serde_json::Value` (an
// allocation and a deserializer per call, three per row read). These match
// the names `as_str` writes and fall back to the protocol's parse, so a
// variant added there later still reads, only slower.

fn parse_platform(s: &str) -> Option<Platform> {
    Some(match s {
        "linux" => Platform::Linux,
        "macos" => Platform::Macos,
        "windows" => Platform::Windows,
        "android" => Platform::Android,
        "ios" => Platform::Ios,
        "web" => Platform::Web,
        _ => return Platform::parse(s),
    })
}

fn parse_app(s: &str) -> Option<AppKind> {
    Some(match s {
        "desktop" => AppKind::Desktop,
        "web" => AppKind::Web,
        "mobile" => AppKind::Mobile,
        _ => return AppKind::parse(s),
    })
}

fn parse_state(s: &str) -> Option<SessionState> {
    Some(match s {
        "active" => SessionState::Active,
        "idle" => SessionState::Idle,
        _ => return SessionState::parse(s),
    })
}

/// Read straight off `sessions_by_recency`, no sort (a test pins the plan).
const LIVE_SESSIONS: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL
     ORDER BY last_active_at DESC, created_at DESC, rowid"
);

// Two texts, not `(?1 IS NULL OR account_id = ?1)`: with the OR, SQLite
// can't use `sessions_by_recency` and scans every live session of every
// account on each authenticated request (10,000 rows per call with 100
// accounts × 100 devices: opening 10,000 event streams took 77 s).
fn scope(account_id: Option<&str>) -> &'static str {
    match account_id {
        Some(_) => "account_id = ?1",
        None => "?1 IS NULL",
    }
}

/// The session `sql` selects, if any.
fn one_session<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> ApiResult<Option<SessionRow>> {
    let row = conn
        .prepare_cached(sql)?
        .query_row(params, session_from_row);
    Ok(row.optional()?)
}

/// The sessions `sql` selects.
fn query_sessions<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> ApiResult<Vec<SessionRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(params, session_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

impl Sessions for Sqlite<'_> {
    fn session(&mut self, id: &str) -> ApiResult<Option<SessionRow>> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = ?1"
        );
        one_session(self.conn, sql, [id])
    }

    fn session_by_token_hash(&mut self, token_hash: &[u8]) -> ApiResult<Option<SessionRow>> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE token_hash = ?1"
        );
        one_session(self.conn, sql, [token_hash])
    }

    fn live_sessions(&mut self, account_id: &str) -> ApiResult<Vec<SessionRow>> {
        query_sessions(self.conn, LIVE_SESSIONS, [account_id])
    }

    fn insert_session(&mut self, row: &SessionRow, token_hash: &[u8]) -> ApiResult<()> {
        let device = &row.device;
        self.exec(
            "INSERT INTO sessions (id, account_id, token_hash, device_name, platform, os_version, app,
                                   app_version, ip, created_at, last_active_at, last_heartbeat_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                row.id,
                row.account_id,
                token_hash,
                device.name,
                device.platform.as_str(),
                device.os_version,
                device.app.as_str(),
                device.app_version,
                row.ip,
                row.created_at,
                row.last_active_at,
                row.last_heartbeat_at,
                row.state.as_str(),
            ],
        )
    }

    fn live_session_count(&mut self, account_id: &str) -> ApiResult<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL",
            [account_id],
            |r| r.get(0),
        )?)
    }

    fn least_recently_active(
        &mut self,
        account_id: &str,
        except: &str,
    ) -> ApiResult<Option<SessionRow>> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL AND id != ?2
             ORDER BY last_active_at, created_at, rowid LIMIT 1"
        );
        one_session(self.conn, sql, params![account_id, except])
    }

    fn mark_revoked(
        &mut self,
        id: &str,
        reason: &RevocationReason,
        by_device: Option<&str>,
        at: Millis,
    ) -> ApiResult<bool> {
        let changed = self.conn.execute(
            "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3, revoked_by_device = ?4
             WHERE id = ?1 AND revoked_at IS NULL",
            params![id, at, reason.as_str(), by_device],
        )?;
        Ok(changed > 0)
    }

    /// One indexed probe that stops at the first row, instead of two scans
    /// of the account's live sessions that read every column.
    fn anything_due(
        &mut self,
        account_id: &str,
        lifetimes: &Lifetimes,
        now: Millis,
    ) -> ApiResult<bool> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sessions
             WHERE account_id = ?1 AND revoked_at IS NULL
               AND (last_active_at + ?2 <= ?4 OR created_at + ?3 <= ?4
                    OR (state = 'active' AND last_heartbeat_at + ?5 <= ?4)))",
        )?;
        let found = stmt.query_row(
            params![
                account_id,
                lifetimes.idle_ms,
                lifetimes.absolute_ms,
                now,
                IDLE_AFTER_MS
            ],
            |r| r.get(0),
        )?;
        Ok(found)
    }

    fn due_sessions(
        &mut self,
        account_id: Option<&str>,
        lifetimes: &Lifetimes,
        now: Millis,
    ) -> ApiResult<Vec<SessionRow>> {
        let sql = format!(
            "SELECT {} FROM sessions
             WHERE {} AND revoked_at IS NULL
               AND (last_active_at + ?2 <= ?4 OR created_at + ?3 <= ?4)",
            session_columns!(),
            scope(account_id)
        );
        let params = params![account_id, lifetimes.idle_ms, lifetimes.absolute_ms, now];
        query_sessions(self.conn, &sql, params)
    }

    fn silent_sessions(
        &mut self,
        account_id: Option<&str>,
        now: Millis,
    ) -> ApiResult<Vec<SessionRow>> {
        let sql = format!(
            "SELECT {} FROM sessions
             WHERE {} AND revoked_at IS NULL
               AND state = 'active' AND last_heartbeat_at + ?2 <= ?3",
            session_columns!(),
            scope(account_id)
        );
        query_sessions(self.conn, &sql, params![account_id, IDLE_AFTER_MS, now])
    }

    fn set_idle(&mut self, id: &str) -> ApiResult<()> {
        self.exec("UPDATE sessions SET state = 'idle' WHERE id = ?1", [id])
    }

    fn touch(&mut self, id: &str, now: Millis) -> ApiResult<()> {
        self.exec(
            "UPDATE sessions SET last_active_at = ?2 WHERE id = ?1",
            params![id, now],
        )
    }

    fn record_heartbeat(
        &mut self,
        id: &str,
        now: Millis,
        last_active_at: Millis,
        state: SessionState,
    ) -> ApiResult<()> {
        self.exec(
            "UPDATE sessions SET last_heartbeat_at = ?2, last_active_at = ?3, state = ?4 WHERE id = ?1",
            params![id, now, last_active_at, state.as_str()],
        )
    }

    fn set_device_name(&mut self, id: &str, name: &str, renamed_by: Option<&str>) -> ApiResult<()> {
        self.exec(
            "UPDATE sessions SET device_name = ?2, renamed_by_device = ?3 WHERE id = ?1",
            params![id, name, renamed_by],
        )
    }

    fn session_ips(&mut self, account_id: &str, since: Millis) -> ApiResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT ip FROM sessions
             WHERE account_id = ?1 AND (revoked_at IS NULL OR revoked_at > ?2)",
        )?;
        let ips = stmt
            .query_map(params![account_id, since], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ips)
    }

    fn all_live_sessions(&mut self) -> ApiResult<Vec<SessionRow>> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE revoked_at IS NULL ORDER BY account_id, rowid"
        );
        query_sessions(self.conn, sql, [])
    }

    fn prune_sessions(&mut self, before: Millis) -> ApiResult<()> {
        self.exec(
            "DELETE FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at < ?1",
            [before],
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use rusqlite::Transaction;

    use super::*;
    use crate::secrets;
    use crate::store::sqlite::migrate;
    use crate::store::test_support::{Rng, DAY, LIFETIMES};

    /// A migrated database with one account, opened directly: these tests
    /// write rows no call would.
    fn test_db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO accounts (id, email, display_name, created_at)
             VALUES ('acc_1', 'a@example.com', 'a', 0)",
            [],
        )
        .unwrap();
        (dir, conn)
    }

    /// Runs `f` in a transaction of `conn` and commits.
    fn write<T>(
        conn: &mut Connection,
        f: impl FnOnce(&Transaction<'_>) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    #[allow(clippy::too_many_arguments)]
    fn insert(
        tx: &Transaction<'_>,
        id: &str,
        created_at: Millis,
        last_active_at: Millis,
        last_heartbeat_at: Millis,
        state: &str,
        revoked: Option<(Millis, &str, Option<&str>)>,
    ) {
        tx.execute(
            "INSERT INTO sessions (id, account_id, token_hash, device_name, platform, os_version,
                                   app, app_version, ip, created_at, last_active_at,
                                   last_heartbeat_at, state, revoked_at, revoked_reason,
                                   revoked_by_device)
             VALUES (?1, 'acc_1', ?2, 'name ' || ?1, 'macos', 'os ' || ?1, 'mobile',
                     'app ' || ?1, 'ip ' || ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                secrets::token_hash(id).as_slice(),
                created_at,
                last_active_at,
                last_heartbeat_at,
                state,
                revoked.map(|r| r.0),
                revoked.map(|r| r.1),
                revoked.and_then(|r| r.2),
            ],
        )
        .unwrap();
    }

    #[test]
    fn every_column_is_read_into_its_own_field() {
        let (_dir, mut conn) = test_db();
        let (live, revoked) = write(&mut conn, |tx| {
            insert(tx, "ses_a", 11, 12, 13, "idle", None);
            insert(
                tx,
                "ses_b",
                21,
                22,
                23,
                "active",
                Some((24_000, "terminated", Some("Pixel 8"))),
            );
            Ok((
                Sqlite::new(tx).session("ses_a")?.unwrap(),
                Sqlite::new(tx).session("ses_b")?.unwrap(),
            ))
        })
        .unwrap();
        assert_eq!(live.id, "ses_a");
        assert_eq!(live.account_id, "acc_1");
        assert_eq!(live.device.name, "name ses_a");
        assert_eq!(live.device.platform, Platform::Macos);
        assert_eq!(live.device.os_version, "os ses_a");
        assert_eq!(live.device.app, AppKind::Mobile);
        assert_eq!(live.device.app_version, "app ses_a");
        assert_eq!(live.ip, "ip ses_a");
        assert_eq!(
            (live.created_at, live.last_active_at, live.last_heartbeat_at),
            (11, 12, 13)
        );
        assert_eq!(live.state, SessionState::Idle);
        assert!(live.revocation.is_none());
        assert_eq!(revoked.state, SessionState::Active);
        let revocation = revoked.revocation.unwrap();
        assert_eq!(revocation.reason, RevocationReason::Terminated);
        assert_eq!(revocation.by_device.as_deref(), Some("Pixel 8"));
        assert_eq!(revocation.at, to_datetime(24_000));
    }

    #[test]
    fn live_sessions_come_off_the_index_in_order_with_ties_in_insertion_order() {
        let (_dir, mut conn) = test_db();
        let (ids, plan) = write(&mut conn, |tx| {
            // Inserted out of order, with ties on both sort keys.
            for (id, created, active) in [
                ("ses_c", 5, 30),
                ("ses_a", 5, 10),
                ("ses_t1", 7, 20),
                ("ses_b", 6, 10),
                ("ses_t2", 7, 20),
                ("ses_t3", 7, 20),
            ] {
                insert(tx, id, created, active, active, "active", None);
            }
            insert(
                tx,
                "ses_gone",
                9,
                99,
                99,
                "active",
                Some((100, "logged_out", None)),
            );
            let ids: Vec<String> = Sqlite::new(tx)
                .live_sessions("acc_1")?
                .into_iter()
                .map(|s| s.id)
                .collect();
            let plan: Vec<String> = tx
                .prepare(&format!("EXPLAIN QUERY PLAN {LIVE_SESSIONS}"))?
                .query_map(["acc_1"], |r| r.get::<_, String>(3))?
                .collect::<rusqlite::Result<_>>()?;
            Ok((ids, plan))
        })
        .unwrap();
        assert_eq!(
            ids,
            ["ses_c", "ses_t1", "ses_t2", "ses_t3", "ses_b", "ses_a"]
        );
        assert!(
            plan.iter().all(|step| !step.contains("TEMP B-TREE")),
            "sorted outside the index: {plan:?}"
        );
    }

    #[test]
    fn the_fast_enum_parsers_agree_with_the_protocols() {
        for p in [
            Platform::Linux,
            Platform::Macos,
            Platform::Windows,
            Platform::Android,
            Platform::Ios,
            Platform::Web,
        ] {
            assert_eq!(parse_platform(p.as_str()), Some(p));
        }
        for a in [AppKind::Desktop, AppKind::Web, AppKind::Mobile] {
            assert_eq!(parse_app(a.as_str()), Some(a));
        }
        for s in [SessionState::Active, SessionState::Idle] {
            assert_eq!(parse_state(s.as_str()), Some(s));
        }
        for junk in ["", "Linux", "linux ", "desktop\0", "ACTIVE"] {
            assert_eq!(parse_platform(junk), Platform::parse(junk));
            assert_eq!(parse_app(junk), AppKind::parse(junk));
            assert_eq!(parse_state(junk), SessionState::parse(junk));
        }
    }

    /// The premise of `refresh`'s early return: the probe finds a row exactly
    /// when one of its two steps would select one, over many accounts whose
    /// sessions sit on either side of every boundary (idle, absolute,
    /// heartbeat), some already revoked, with both lifetimes the tighter one.
    #[test]
    fn the_probe_finds_a_row_exactly_when_a_step_would() {
        let (_dir, mut conn) = test_db();
        let now: Millis = 1_800_000_000_000;
        let near = |rng: &mut Rng, edge: Millis| edge + (rng.next() % 5) as i64 - 2;
        let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
        let (mut due_seen, mut clear_seen) = (0, 0);
        for round in 0..400 {
            let lifetimes = if round % 2 == 0 {
                LIFETIMES
            } else {
                Lifetimes {
                    idle_ms: 30 * DAY,
                    absolute_ms: 14 * DAY,
                }
            };
            let (probe, selected) = write(&mut conn, |tx| {
                tx.execute("DELETE FROM sessions", [])?;
                for i in 0..(rng.next() % 4) {
                    let created = match rng.next() % 3 {
                        0 => near(&mut rng, now - lifetimes.absolute_ms),
                        _ => now - (rng.next() % DAY as u64) as i64,
                    };
                    let active = match rng.next() % 3 {
                        0 => near(&mut rng, now - lifetimes.idle_ms),
                        _ => now - (rng.next() % DAY as u64) as i64,
                    };
                    let heartbeat = near(&mut rng, now - IDLE_AFTER_MS);
                    let state = *rng.pick(&["active", "idle"]);
                    let revoked = (rng.next() & 3 == 0).then_some((now - 5, "logged_out", None));
                    insert(
                        tx,
                        &format!("ses_{i}"),
                        created,
                        active,
                        heartbeat,
                        state,
                        revoked,
                    );
                }
                let probe = Sqlite::new(tx).anything_due("acc_1", &lifetimes, now)?;
                let selected = !Sqlite::new(tx)
                    .due_sessions(Some("acc_1"), &lifetimes, now)?
                    .is_empty()
                    || !Sqlite::new(tx)
                        .silent_sessions(Some("acc_1"), now)?
                        .is_empty();
                Ok((probe, selected))
            })
            .unwrap();
            assert_eq!(probe, selected, "round {round}");
            if probe {
                due_seen += 1;
            } else {
                clear_seen += 1;
            }
        }
        assert!(
            due_seen > 50 && clear_seen > 50,
            "{due_seen} / {clear_seen}"
        );
    }
}

//! The account model in SQL: flows, accounts, sessions and the event log.
//! Every function runs inside a transaction the caller holds (see `db.rs`)
//! and records the events it causes in the outbox.

use latch_protocol::{
    initials, Account, AccountId, AppKind, Device, Event, Platform, Revocation, RevocationReason,
    Session, SessionId, SessionList, SessionRevoked, SessionState, SessionToken, TokenRequest,
};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use crate::clock::{to_datetime, Millis, Timestamp};
use crate::db::Outbox;
use crate::error::{ApiError, ApiResult};
use crate::events::StoredEvent;
use crate::secrets;

/// How long a sign-in flow lives.
pub const FLOW_LIFETIME_MS: Millis = 10 * 60 * 1000;
/// Failed tries (code or verifier) before a flow locks.
pub const MAX_FAILED_TRIES: i64 = 5;
/// Live sessions an account may hold; the least recently active goes first.
pub const MAX_LIVE_SESSIONS: i64 = 100;
/// Two missed heartbeats (one a minute) turn a session idle.
pub const IDLE_AFTER_MS: Millis = 120 * 1000;
/// Revoked sessions stay this long as history.
pub const HISTORY_MS: Millis = 30 * 86_400 * 1000;
/// Events older than this can't be replayed; a client asking gets `resync`.
pub const EVENT_RETENTION_MS: Millis = 86_400 * 1000;
/// Flows are kept this long after they expire, for the per-email limits.
const FLOW_RETENTION_MS: Millis = 86_400 * 1000;

#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle_ms: Millis,
    pub absolute_ms: Millis,
}

impl Lifetimes {
    fn expiry(&self, created_at: Millis, last_active_at: Millis) -> (Millis, RevocationReason) {
        let idle = last_active_at.saturating_add(self.idle_ms);
        let absolute = created_at.saturating_add(self.absolute_ms);
        if absolute <= idle {
            (absolute, RevocationReason::ExpiredAbsolute)
        } else {
            (idle, RevocationReason::ExpiredIdle)
        }
    }
}

// ---------------------------------------------------------------- accounts

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub created_at: Millis,
}

impl AccountRow {
    pub fn to_wire(&self) -> Account {
        Account {
            id: AccountId(self.id.clone()),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            initials: initials(&self.display_name),
            created_at: to_datetime(self.created_at),
        }
    }
}

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        id: row.get("id")?,
        email: row.get("email")?,
        display_name: row.get("display_name")?,
        created_at: row.get("created_at")?,
    })
}

pub fn account(conn: &Connection, id: &str) -> ApiResult<AccountRow> {
    conn.query_row(
        "SELECT * FROM accounts WHERE id = ?1",
        [id],
        account_from_row,
    )
    .optional()?
    .ok_or(ApiError::NotFound("No such account."))
}

/// The account of `email`, created on its first sign-in.
pub fn account_for_email(tx: &Transaction<'_>, email: &str, now: Millis) -> ApiResult<AccountRow> {
    let existing = tx
        .query_row(
            "SELECT * FROM accounts WHERE email = ?1",
            [email],
            account_from_row,
        )
        .optional()?;
    if let Some(account) = existing {
        return Ok(account);
    }
    let local_part = email.split('@').next().unwrap_or(email);
    let account = AccountRow {
        id: secrets::new_id("acc"),
        email: email.to_owned(),
        display_name: local_part
            .chars()
            .take(latch_protocol::MAX_NAME_CHARS)
            .collect(),
        created_at: now,
    };
    tx.execute(
        "INSERT INTO accounts (id, email, display_name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            account.id,
            account.email,
            account.display_name,
            account.created_at
        ],
    )?;
    tracing::info!("account created");
    Ok(account)
}

pub fn rename_account(tx: &Transaction<'_>, id: &str, display_name: &str) -> ApiResult<AccountRow> {
    tx.execute(
        "UPDATE accounts SET display_name = ?2 WHERE id = ?1",
        params![id, display_name],
    )?;
    account(tx, id)
}

// ------------------------------------------------------------------- flows

pub struct NewFlow {
    pub id: String,
    pub code: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// Creation times of the flows for `email` since `since`, oldest first: the
/// per-email limits count these (refused requests make no flow, so they
/// don't count).
pub fn recent_flow_times(conn: &Connection, email: &str, since: Millis) -> ApiResult<Vec<Millis>> {
    let mut stmt = conn.prepare_cached(
        "SELECT created_at FROM flows WHERE email = ?1 AND created_at > ?2 ORDER BY created_at",
    )?;
    let times = stmt
        .query_map(params![email, since], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<Millis>>>()?;
    Ok(times)
}

/// Starts a flow, superseding every open one for the same email.
pub fn create_flow(
    tx: &Transaction<'_>,
    email: &str,
    code_challenge: &str,
    device: &Device,
    now: Millis,
) -> ApiResult<NewFlow> {
    tx.execute(
        "UPDATE flows SET superseded = 1 WHERE email = ?1 AND used_at IS NULL AND superseded = 0",
        [email],
    )?;
    let flow = NewFlow {
        id: secrets::new_id("flw"),
        code: secrets::new_code(),
        created_at: now,
        expires_at: now + FLOW_LIFETIME_MS,
    };
    let device_json = serde_json::to_string(device)
        .map_err(|e| ApiError::Internal(format!("device json: {e}")))?;
    tx.execute(
        "INSERT INTO flows (id, email, code_hash, code_challenge, device, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            flow.id,
            email,
            secrets::code_hash(&flow.id, &flow.code).as_slice(),
            code_challenge,
            device_json,
            flow.created_at,
            flow.expires_at
        ],
    )?;
    Ok(flow)
}

struct FlowRow {
    id: String,
    email: String,
    code_hash: Vec<u8>,
    code_challenge: String,
    device: String,
    expires_at: Millis,
    failed_tries: i64,
    superseded: bool,
    used_at: Option<Millis>,
}

pub struct Exchanged {
    pub token: SessionToken,
    pub session: SessionRow,
    pub account: AccountRow,
}

/// `POST /v1/auth/token`. The outer `Err` rolls back; the inner one is a
/// refusal that commits, so a failed try stays counted.
///
/// The try is counted *before* the code is checked (Ory Kratos' shape): there
/// is no window in which a try was checked but not yet counted. Checks run in
/// DESIGN §3's order: locked > used > expired > code > verifier.
pub fn exchange(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    request: &TokenRequest,
    ip: &str,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<ApiResult<Exchanged>> {
    let flow_id = request.flow_id.as_str();
    let flow = tx
        .query_row("SELECT * FROM flows WHERE id = ?1", [flow_id], |row| {
            Ok(FlowRow {
                id: row.get("id")?,
                email: row.get("email")?,
                code_hash: row.get("code_hash")?,
                code_challenge: row.get("code_challenge")?,
                device: row.get("device")?,
                expires_at: row.get("expires_at")?,
                failed_tries: row.get("failed_tries")?,
                superseded: row.get("superseded")?,
                used_at: row.get("used_at")?,
            })
        })
        .optional()?;
    let Some(flow) = flow else {
        return Ok(Err(ApiError::InvalidCode));
    };
    if flow.failed_tries >= MAX_FAILED_TRIES {
        return Ok(Err(ApiError::FlowLocked));
    }
    if flow.used_at.is_some() {
        return Ok(Err(ApiError::FlowUsed));
    }
    if flow.superseded || now >= flow.expires_at {
        return Ok(Err(ApiError::FlowExpired));
    }
    tx.execute(
        "UPDATE flows SET failed_tries = failed_tries + 1 WHERE id = ?1",
        [&flow.id],
    )?;
    // An impossible code is compared against a hash anyway, so a wrong code
    // and a malformed one take the same time.
    let canonical = latch_protocol::normalize_code(request.code.expose()).unwrap_or_default();
    let code_ok =
        secrets::constant_time_eq(&secrets::code_hash(&flow.id, &canonical), &flow.code_hash)
            && !canonical.is_empty();
    if !code_ok {
        return Ok(Err(ApiError::InvalidCode));
    }
    if !secrets::verifier_matches(request.code_verifier.expose(), &flow.code_challenge) {
        return Ok(Err(ApiError::VerifierMismatch));
    }
    tx.execute(
        "UPDATE flows SET failed_tries = failed_tries - 1, used_at = ?2 WHERE id = ?1",
        params![flow.id, now],
    )?;
    let device: Device = serde_json::from_str(&flow.device)
        .map_err(|e| ApiError::Internal(format!("stored device: {e}")))?;
    let account = account_for_email(tx, &flow.email, now)?;
    let (token, session) = create_session(tx, outbox, &account.id, &device, ip, lifetimes, now)?;
    Ok(Ok(Exchanged {
        token,
        session,
        account,
    }))
}

// ---------------------------------------------------------------- sessions

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub account_id: String,
    pub device: Device,
    pub ip: String,
    pub created_at: Millis,
    pub last_active_at: Millis,
    pub last_heartbeat_at: Millis,
    pub state: SessionState,
    pub revocation: Option<Revocation>,
}

impl SessionRow {
    pub fn to_wire(&self, lifetimes: &Lifetimes, current: bool) -> Session {
        Session {
            id: SessionId(self.id.clone()),
            device: self.device.clone(),
            ip: self.ip.clone(),
            created_at: to_datetime(self.created_at),
            last_active_at: to_datetime(self.last_active_at),
            expires_at: to_datetime(lifetimes.expiry(self.created_at, self.last_active_at).0),
            state: self.state,
            current,
        }
    }
}

/// The columns `session_from_row` reads, by position: every query that
/// feeds it selects exactly these, in this order. Read by index, not by
/// name: rusqlite's `row.get("name")` compares the name against every
/// column's, which was a sixth of `GET /v1/sessions`' CPU time.
macro_rules! session_columns {
    () => {
        "id, account_id, device_name, platform, os_version, app, app_version, ip, created_at,
         last_active_at, last_heartbeat_at, state, revoked_at, revoked_reason, revoked_by_device"
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

pub fn session(conn: &Connection, id: &str) -> ApiResult<Option<SessionRow>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions WHERE id = ?1"
    ))?;
    Ok(stmt.query_row([id], session_from_row).optional()?)
}

/// Read straight off `sessions_by_recency`, no sort (a test pins the plan).
const LIVE_SESSIONS: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL
     ORDER BY last_active_at DESC, created_at DESC, rowid"
);

/// Live sessions of an account, most recently active first.
pub fn live_sessions(conn: &Connection, account_id: &str) -> ApiResult<Vec<SessionRow>> {
    let mut stmt = conn.prepare_cached(LIVE_SESSIONS)?;
    let rows = stmt
        .query_map([account_id], session_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

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
        let mut s = serializer.serialize_struct("Session", 8)?;
        s.serialize_field("id", &row.id)?;
        s.serialize_field("device", &row.device)?;
        s.serialize_field("ip", &row.ip)?;
        s.serialize_field("created_at", &Timestamp(row.created_at))?;
        s.serialize_field("last_active_at", &Timestamp(row.last_active_at))?;
        s.serialize_field("expires_at", &Timestamp(expires_at))?;
        s.serialize_field("state", &row.state)?;
        s.serialize_field("current", &self.current)?;
        s.end()
    }
}

/// A new live session, evicting the least recently active over the cap.
pub fn create_session(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    account_id: &str,
    device: &Device,
    ip: &str,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<(SessionToken, SessionRow)> {
    let token = secrets::new_session_token();
    let row = SessionRow {
        id: secrets::new_id("ses"),
        account_id: account_id.to_owned(),
        device: device.clone(),
        ip: ip.to_owned(),
        created_at: now,
        last_active_at: now,
        last_heartbeat_at: now,
        state: SessionState::Active,
        revocation: None,
    };
    tx.execute(
        "INSERT INTO sessions (id, account_id, token_hash, device_name, platform, os_version, app,
                               app_version, ip, created_at, last_active_at, last_heartbeat_at, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?10, 'active')",
        params![
            row.id,
            row.account_id,
            secrets::token_hash(token.expose()).as_slice(),
            device.name,
            device.platform.as_str(),
            device.os_version,
            device.app.as_str(),
            device.app_version,
            ip,
            now
        ],
    )?;
    record(tx, outbox, &row, lifetimes, now, |s| {
        Event::SessionCreated(s)
    })?;
    loop {
        let live: i64 = tx.query_row(
            "SELECT count(*) FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL",
            [account_id],
            |r| r.get(0),
        )?;
        if live <= MAX_LIVE_SESSIONS {
            break;
        }
        let oldest = tx.query_row(
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL AND id != ?2
                 ORDER BY last_active_at, created_at, rowid LIMIT 1"
            ),
            params![account_id, row.id],
            session_from_row,
        )?;
        revoke(
            tx,
            outbox,
            &oldest,
            RevocationReason::Evicted,
            None,
            now,
            now,
        )?;
    }
    Ok((token, row))
}

/// Ends a live session and tells the account's streams. `at` is when it
/// ended (for expiry, the moment it expired); `now` stamps the event.
#[allow(clippy::too_many_arguments)]
pub fn revoke(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    session: &SessionRow,
    reason: RevocationReason,
    by_device: Option<&str>,
    at: Millis,
    now: Millis,
) -> ApiResult<bool> {
    let changed = tx.execute(
        "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3, revoked_by_device = ?4
         WHERE id = ?1 AND revoked_at IS NULL",
        params![session.id, at, reason.as_str(), by_device],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    let event = Event::SessionRevoked(SessionRevoked {
        session_id: SessionId(session.id.clone()),
        revocation: Revocation {
            reason,
            by_device: by_device.map(str::to_owned),
            at: to_datetime(at),
        },
    });
    push_event(tx, outbox, &session.account_id, &session.id, event, now)?;
    Ok(true)
}

/// Expires due sessions and idles silent ones, for one account or (with
/// `None`) all of them. Runs before every authenticated request and in the
/// background sweep, so expiry never waits on the sweep. Returns how many
/// sessions it changed.
pub fn refresh(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    account_id: Option<&str>,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<usize> {
    // The common case on every request: nothing of this account is due.
    // One probe answers that for both steps below, whose predicates it ORs.
    // It runs in the same transaction, under the same lock, with nothing
    // written between it and them: when it finds no row, the first step
    // would select none and revoke none, which leaves the second step the
    // same rows the probe saw, of which it would select none either. So
    // returning here is exactly what running both would have done (pinned
    // by `the_probe_finds_a_row_exactly_when_a_step_would` below).
    if let Some(account_id) = account_id {
        if !anything_due(tx, account_id, lifetimes, now)? {
            return Ok(0);
        }
    }
    let mut changed = 0;
    for session in due_sessions(tx, account_id, lifetimes, now)? {
        let (at, reason) = lifetimes.expiry(session.created_at, session.last_active_at);
        revoke(tx, outbox, &session, reason, None, at, now)?;
        changed += 1;
        tracing::info!(reason = reason.as_str(), "session expired");
    }
    for mut session in silent_sessions(tx, account_id, now)? {
        tx.execute(
            "UPDATE sessions SET state = 'idle' WHERE id = ?1",
            [&session.id],
        )?;
        session.state = SessionState::Idle;
        record(tx, outbox, &session, lifetimes, now, |s| {
            Event::SessionUpdated(s)
        })?;
        changed += 1;
    }
    Ok(changed)
}

/// Whether `due_sessions` or `silent_sessions` would find any session of
/// `account_id`: one indexed probe that stops at the first, instead of two
/// scans of the account's live sessions that read every column.
fn anything_due(
    tx: &Transaction<'_>,
    account_id: &str,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<bool> {
    let mut stmt = tx.prepare_cached(
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

/// Live sessions past their idle or absolute lifetime.
fn due_sessions(
    tx: &Transaction<'_>,
    account_id: Option<&str>,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<Vec<SessionRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {} FROM sessions
         WHERE {} AND revoked_at IS NULL
           AND (last_active_at + ?2 <= ?4 OR created_at + ?3 <= ?4)",
        session_columns!(),
        scope(account_id)
    ))?;
    let rows = stmt
        .query_map(
            params![account_id, lifetimes.idle_ms, lifetimes.absolute_ms, now],
            session_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Live `active` sessions that missed two heartbeats.
fn silent_sessions(
    tx: &Transaction<'_>,
    account_id: Option<&str>,
    now: Millis,
) -> ApiResult<Vec<SessionRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {} FROM sessions
         WHERE {} AND revoked_at IS NULL
           AND state = 'active' AND last_heartbeat_at + ?2 <= ?3",
        session_columns!(),
        scope(account_id)
    ))?;
    let rows = stmt
        .query_map(params![account_id, IDLE_AFTER_MS, now], session_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Drops history past its retention: revoked sessions, old flows, old events.
pub fn prune(tx: &Transaction<'_>, now: Millis) -> ApiResult<()> {
    tx.execute(
        "DELETE FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at < ?1",
        [now - HISTORY_MS],
    )?;
    tx.execute(
        "DELETE FROM flows WHERE expires_at < ?1",
        [now - FLOW_RETENTION_MS],
    )?;
    let cutoff = now - EVENT_RETENTION_MS;
    let newest_pruned: Option<i64> = tx.query_row(
        "SELECT max(id) FROM events WHERE created_at < ?1",
        [cutoff],
        |r| r.get(0),
    )?;
    if let Some(id) = newest_pruned {
        tx.execute("DELETE FROM events WHERE id <= ?1", [id])?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('events_pruned_through', ?1)
             ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
            [id],
        )?;
    }
    Ok(())
}

/// Finds the live session of a bearer token, expiring due sessions of its
/// account first. `touch` moves `last_active_at` (authenticated non-GET
/// calls). A refusal is the inner `Err`, so the caller commits the expiry it
/// caused.
pub fn authenticate(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    token: &str,
    lifetimes: &Lifetimes,
    now: Millis,
    touch: bool,
) -> ApiResult<ApiResult<SessionRow>> {
    let hash = secrets::token_hash(token);
    let found = tx
        .prepare_cached(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE token_hash = ?1"
        ))?
        .query_row([hash.as_slice()], session_from_row)
        .optional()?;
    let Some(mut session) = found else {
        return Ok(Err(ApiError::Unauthenticated));
    };
    // Re-read only when the refresh changed something: if it wrote nothing,
    // the row read above is still the row.
    if session.revocation.is_none()
        && refresh(tx, outbox, Some(&session.account_id), lifetimes, now)? > 0
    {
        match self::session(tx, &session.id)? {
            Some(fresh) => session = fresh,
            None => return Ok(Err(ApiError::Unauthenticated)),
        }
    }
    if let Some(revocation) = session.revocation {
        return Ok(Err(ApiError::SessionRevoked(revocation)));
    }
    if touch {
        tx.execute(
            "UPDATE sessions SET last_active_at = ?2 WHERE id = ?1",
            params![session.id, now],
        )?;
        session.last_active_at = now;
    }
    Ok(Ok(session))
}

pub fn heartbeat(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    session: &SessionRow,
    state: SessionState,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<()> {
    let moved_active_at = match state {
        SessionState::Active => now,
        SessionState::Idle => session.last_active_at,
    };
    tx.execute(
        "UPDATE sessions SET last_heartbeat_at = ?2, last_active_at = ?3, state = ?4 WHERE id = ?1",
        params![session.id, now, moved_active_at, state.as_str()],
    )?;
    if state != session.state {
        let mut updated = session.clone();
        updated.state = state;
        updated.last_active_at = moved_active_at;
        updated.last_heartbeat_at = now;
        record(tx, outbox, &updated, lifetimes, now, |s| {
            Event::SessionUpdated(s)
        })?;
    }
    Ok(())
}

pub fn rename_session(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    session: &SessionRow,
    name: &str,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<SessionRow> {
    tx.execute(
        "UPDATE sessions SET device_name = ?2 WHERE id = ?1",
        params![session.id, name],
    )?;
    let mut renamed = session.clone();
    renamed.device.name = name.to_owned();
    if renamed.device.name != session.device.name {
        record(tx, outbox, &renamed, lifetimes, now, |s| {
            Event::SessionUpdated(s)
        })?;
    }
    Ok(renamed)
}

// ------------------------------------------------------------------ events

/// Records a `session.created`/`.updated` event. Its stored data says
/// `current: false`; each stream sets `current` for its own session.
fn record(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    session: &SessionRow,
    lifetimes: &Lifetimes,
    now: Millis,
    make: impl FnOnce(Session) -> Event,
) -> ApiResult<()> {
    let event = make(session.to_wire(lifetimes, false));
    push_event(tx, outbox, &session.account_id, &session.id, event, now)
}

fn push_event(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    account_id: &str,
    session_id: &str,
    event: Event,
    now: Millis,
) -> ApiResult<()> {
    tx.execute(
        "INSERT INTO events (account_id, session_id, name, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![account_id, session_id, event.name(), event.data().to_string(), now],
    )?;
    outbox.push(StoredEvent {
        id: tx.last_insert_rowid(),
        account_id: account_id.to_owned(),
        session_id: session_id.to_owned(),
        event,
    });
    Ok(())
}

/// The range of event ids a stream can resume from: `(pruned_through, newest)`.
pub fn event_bounds(conn: &Connection) -> ApiResult<(i64, i64)> {
    let pruned: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'events_pruned_through'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let newest: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok((pruned.unwrap_or(0), newest.unwrap_or(0)))
}

pub fn events_after(
    conn: &Connection,
    account_id: &str,
    after: i64,
) -> ApiResult<Vec<StoredEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, session_id, name, data FROM events WHERE account_id = ?1 AND id > ?2 ORDER BY id",
    )?;
    let rows = stmt
        .query_map(params![account_id, after], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, session_id, name, data)| {
            let event = Event::parse(&name, &data)
                .map_err(|e| ApiError::Internal(format!("stored event {id}: {e}")))?;
            Ok(StoredEvent {
                id,
                account_id: account_id.to_owned(),
                session_id,
                event,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::db::Db;
    use crate::events::Hub;

    const DAY: Millis = 86_400_000;
    const LIFETIMES: Lifetimes = Lifetimes {
        idle_ms: 14 * DAY,
        absolute_ms: 30 * DAY,
    };

    /// xorshift64: reproducible variety without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
            &from[(self.next() % from.len() as u64) as usize]
        }
    }

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

    fn test_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite3"), Hub::new()).unwrap();
        db.write_blocking(|tx, _| {
            tx.execute(
                "INSERT INTO accounts (id, email, display_name, created_at)
                 VALUES ('acc_1', 'a@example.com', 'a', 0)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        (dir, db)
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
        let (_dir, db) = test_db();
        let (live, revoked) = db
            .write_blocking(|tx, _| {
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
                    session(tx, "ses_a")?.unwrap(),
                    session(tx, "ses_b")?.unwrap(),
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
        let (_dir, db) = test_db();
        let (ids, plan) = db
            .write_blocking(|tx, _| {
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
                let ids: Vec<String> = live_sessions(tx, "acc_1")?
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
        let (_dir, db) = test_db();
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
            let (probe, selected) = db
                .write_blocking(|tx, _| {
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
                        let revoked =
                            (rng.next() & 3 == 0).then_some((now - 5, "logged_out", None));
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
                    let probe = anything_due(tx, "acc_1", &lifetimes, now)?;
                    let selected = !due_sessions(tx, Some("acc_1"), &lifetimes, now)?.is_empty()
                        || !silent_sessions(tx, Some("acc_1"), now)?.is_empty();
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

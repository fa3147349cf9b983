//! The account model in SQL: flows, accounts, sessions and the event log.
//! Every function runs inside a transaction the caller holds (see `db.rs`)
//! and records the events it causes in the outbox.

use latch_protocol::{
    initials, Account, AccountId, AppKind, Device, Event, Platform, Revocation, RevocationReason,
    Session, SessionId, SessionList, SessionRevoked, SessionState, SessionToken, TokenRequest,
};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use crate::clock::{to_datetime, Millis};
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

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    let bad = |column: &str, value: String| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("bad {column} {value:?}").into(),
        )
    };
    let platform: String = row.get("platform")?;
    let app: String = row.get("app")?;
    let state: String = row.get("state")?;
    let revoked_at: Option<Millis> = row.get("revoked_at")?;
    let revocation = match revoked_at {
        Some(at) => {
            let reason: String = row.get("revoked_reason")?;
            Some(Revocation {
                reason: RevocationReason::parse(&reason).ok_or_else(|| bad("reason", reason))?,
                by_device: row.get("revoked_by_device")?,
                at: to_datetime(at),
            })
        }
        None => None,
    };
    Ok(SessionRow {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        device: Device {
            name: row.get("device_name")?,
            platform: Platform::parse(&platform).ok_or_else(|| bad("platform", platform))?,
            os_version: row.get("os_version")?,
            app: AppKind::parse(&app).ok_or_else(|| bad("app", app))?,
            app_version: row.get("app_version")?,
        },
        ip: row.get("ip")?,
        created_at: row.get("created_at")?,
        last_active_at: row.get("last_active_at")?,
        last_heartbeat_at: row.get("last_heartbeat_at")?,
        state: SessionState::parse(&state).ok_or_else(|| bad("state", state))?,
        revocation,
    })
}

pub fn session(conn: &Connection, id: &str) -> ApiResult<Option<SessionRow>> {
    Ok(conn
        .query_row(
            "SELECT * FROM sessions WHERE id = ?1",
            [id],
            session_from_row,
        )
        .optional()?)
}

/// Live sessions of an account, most recently active first.
pub fn live_sessions(conn: &Connection, account_id: &str) -> ApiResult<Vec<SessionRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL
         ORDER BY last_active_at DESC, created_at DESC",
    )?;
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
            "SELECT * FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL AND id != ?2
             ORDER BY last_active_at, created_at LIMIT 1",
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
/// background sweep, so expiry never waits on the sweep.
pub fn refresh(
    tx: &Transaction<'_>,
    outbox: &mut Outbox,
    account_id: Option<&str>,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<()> {
    // Two texts, not `(?1 IS NULL OR account_id = ?1)`: with the OR, SQLite
    // can't use `sessions_by_account` and scans every live session of every
    // account on each authenticated request (10,000 rows per call with 100
    // accounts × 100 devices: opening 10,000 event streams took 77 s).
    let scope = match account_id {
        Some(_) => "account_id = ?1",
        None => "?1 IS NULL",
    };
    let due: Vec<SessionRow> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT * FROM sessions
             WHERE {scope} AND revoked_at IS NULL
               AND (last_active_at + ?2 <= ?4 OR created_at + ?3 <= ?4)"
        ))?;
        let rows = stmt
            .query_map(
                params![account_id, lifetimes.idle_ms, lifetimes.absolute_ms, now],
                session_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    };
    for session in due {
        let (at, reason) = lifetimes.expiry(session.created_at, session.last_active_at);
        revoke(tx, outbox, &session, reason, None, at, now)?;
        tracing::info!(reason = reason.as_str(), "session expired");
    }
    let silent: Vec<SessionRow> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT * FROM sessions
             WHERE {scope} AND revoked_at IS NULL
               AND state = 'active' AND last_heartbeat_at + ?2 <= ?3"
        ))?;
        let rows = stmt
            .query_map(params![account_id, IDLE_AFTER_MS, now], session_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    };
    for mut session in silent {
        tx.execute(
            "UPDATE sessions SET state = 'idle' WHERE id = ?1",
            [&session.id],
        )?;
        session.state = SessionState::Idle;
        record(tx, outbox, &session, lifetimes, now, |s| {
            Event::SessionUpdated(s)
        })?;
    }
    Ok(())
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
        .query_row(
            "SELECT * FROM sessions WHERE token_hash = ?1",
            [hash.as_slice()],
            session_from_row,
        )
        .optional()?;
    let Some(mut session) = found else {
        return Ok(Err(ApiError::Unauthenticated));
    };
    if session.revocation.is_none() {
        refresh(tx, outbox, Some(&session.account_id), lifetimes, now)?;
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

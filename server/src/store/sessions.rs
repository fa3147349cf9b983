//! Sessions: one per signed-in device, until it is revoked or expires.

use latch_protocol::{
    Device, Event, Revocation, RevocationReason, Session, SessionId, SessionRevoked, SessionState,
    SessionToken,
};

use super::accounts::Accounts;
use super::events::EventLog;
use crate::clock::{to_datetime, Millis};
use crate::error::{ApiError, ApiResult};
use crate::secrets;

/// Live sessions an account may hold; the least recently active goes first.
pub const MAX_LIVE_SESSIONS: i64 = 100;
/// Two missed heartbeats (one a minute) turn a session idle.
pub const IDLE_AFTER_MS: Millis = 120 * 1000;
/// Revoked sessions stay this long as history.
pub const HISTORY_MS: Millis = 30 * 86_400 * 1000;

#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle_ms: Millis,
    pub absolute_ms: Millis,
}

impl Lifetimes {
    /// When a session expires, and why.
    pub fn expiry(&self, created_at: Millis, last_active_at: Millis) -> (Millis, RevocationReason) {
        let idle = last_active_at.saturating_add(self.idle_ms);
        let absolute = created_at.saturating_add(self.absolute_ms);
        if absolute <= idle {
            (absolute, RevocationReason::ExpiredAbsolute)
        } else {
            (idle, RevocationReason::ExpiredIdle)
        }
    }
}

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
    /// Who renamed it, when another session did (`Session::renamed_by_device`).
    pub renamed_by_device: Option<String>,
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
            renamed_by_device: self.renamed_by_device.clone(),
        }
    }
}

/// What a backend stores of sessions. `account_id: None` means every account.
pub trait Sessions {
    fn session(&mut self, id: &str) -> ApiResult<Option<SessionRow>>;
    fn session_by_token_hash(&mut self, token_hash: &[u8]) -> ApiResult<Option<SessionRow>>;
    /// Live sessions of an account, most recently active first (ties: the
    /// newer first, then in insertion order).
    fn live_sessions(&mut self, account_id: &str) -> ApiResult<Vec<SessionRow>>;
    fn insert_session(&mut self, session: &SessionRow, token_hash: &[u8]) -> ApiResult<()>;
    fn live_session_count(&mut self, account_id: &str) -> ApiResult<i64>;
    /// The least recently active live session of an account but `except`.
    fn least_recently_active(
        &mut self,
        account_id: &str,
        except: &str,
    ) -> ApiResult<Option<SessionRow>>;
    /// Revokes a live session; false when it was not live.
    fn mark_revoked(
        &mut self,
        id: &str,
        reason: &RevocationReason,
        by_device: Option<&str>,
        at: Millis,
    ) -> ApiResult<bool>;
    /// Whether `due_sessions` or `silent_sessions` would find any session
    /// of `account_id`, answered as cheaply as the backend can.
    fn anything_due(
        &mut self,
        account_id: &str,
        lifetimes: &Lifetimes,
        now: Millis,
    ) -> ApiResult<bool>;
    /// Live sessions past their idle or absolute lifetime.
    fn due_sessions(
        &mut self,
        account_id: Option<&str>,
        lifetimes: &Lifetimes,
        now: Millis,
    ) -> ApiResult<Vec<SessionRow>>;
    /// Live `active` sessions whose last heartbeat is `IDLE_AFTER_MS` old.
    fn silent_sessions(
        &mut self,
        account_id: Option<&str>,
        now: Millis,
    ) -> ApiResult<Vec<SessionRow>>;
    fn set_idle(&mut self, id: &str) -> ApiResult<()>;
    fn touch(&mut self, id: &str, now: Millis) -> ApiResult<()>;
    fn record_heartbeat(
        &mut self,
        id: &str,
        now: Millis,
        last_active_at: Millis,
        state: SessionState,
    ) -> ApiResult<()>;
    /// Renames a session; `renamed_by` is the renaming device's name when
    /// another session did it, `None` when it renamed itself.
    fn set_device_name(&mut self, id: &str, name: &str, renamed_by: Option<&str>) -> ApiResult<()>;
    /// The `ip` of every session of the account that was live at some
    /// moment after `since` (live now, or revoked after it).
    fn session_ips(&mut self, account_id: &str, since: Millis) -> ApiResult<Vec<String>>;
    /// Every live session of every account (for `latchd admin revoke --all`).
    fn all_live_sessions(&mut self) -> ApiResult<Vec<SessionRow>>;
    /// Forgets the sessions revoked before `before`.
    fn prune_sessions(&mut self, before: Millis) -> ApiResult<()>;
}

/// Records a `session.created`/`.updated` event. Its stored data says
/// `current: false`; each stream sets `current` for its own session.
fn record<S: Sessions + EventLog + ?Sized>(
    store: &mut S,
    session: &SessionRow,
    lifetimes: &Lifetimes,
    now: Millis,
    make: impl FnOnce(Session) -> Event,
) -> ApiResult<()> {
    let event = make(session.to_wire(lifetimes, false));
    store.append_event(&session.account_id, &session.id, event, now)
}

/// A new live session, evicting the least recently active over the cap.
pub fn create_session<S: Sessions + EventLog + ?Sized>(
    store: &mut S,
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
        renamed_by_device: None,
    };
    store.insert_session(&row, secrets::token_hash(token.expose()).as_slice())?;
    record(store, &row, lifetimes, now, Event::SessionCreated)?;
    while store.live_session_count(account_id)? > MAX_LIVE_SESSIONS {
        let Some(oldest) = store.least_recently_active(account_id, &row.id)? else {
            break;
        };
        revoke(store, &oldest, RevocationReason::Evicted, None, now, now)?;
    }
    Ok((token, row))
}

/// Ends a live session and tells the account's streams. `at` is when it
/// ended (for expiry, the moment it expired); `now` stamps the event.
pub fn revoke<S: Sessions + EventLog + ?Sized>(
    store: &mut S,
    session: &SessionRow,
    reason: RevocationReason,
    by_device: Option<&str>,
    at: Millis,
    now: Millis,
) -> ApiResult<bool> {
    if !store.mark_revoked(&session.id, &reason, by_device, at)? {
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
    store.append_event(&session.account_id, &session.id, event, now)?;
    Ok(true)
}

/// Expires due sessions and idles silent ones, for one account or (with
/// `None`) all of them. Runs before every authenticated request and in the
/// background sweep, so expiry never waits on the sweep. Returns how many
/// sessions it changed.
pub fn refresh<S: Sessions + EventLog + ?Sized>(
    store: &mut S,
    account_id: Option<&str>,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<usize> {
    // The common case on every request: nothing of this account is due.
    // One probe answers that for both steps below, whose predicates it ORs.
    // It runs in the same transaction, with nothing written between it and
    // them: when it finds no row, the first step would select none and
    // revoke none, which leaves the second step the same rows the probe
    // saw, of which it would select none either. So returning here is
    // exactly what running both would have done (pinned for SQLite by
    // `the_probe_finds_a_row_exactly_when_a_step_would`).
    if let Some(account_id) = account_id {
        if !store.anything_due(account_id, lifetimes, now)? {
            return Ok(0);
        }
    }
    let mut changed = 0;
    for session in store.due_sessions(account_id, lifetimes, now)? {
        let (at, reason) = lifetimes.expiry(session.created_at, session.last_active_at);
        tracing::info!(reason = reason.as_str(), "session expired");
        revoke(store, &session, reason, None, at, now)?;
        changed += 1;
    }
    for mut session in store.silent_sessions(account_id, now)? {
        store.set_idle(&session.id)?;
        session.state = SessionState::Idle;
        record(store, &session, lifetimes, now, Event::SessionUpdated)?;
        changed += 1;
    }
    Ok(changed)
}

/// Finds the live session of a bearer token, expiring due sessions of its
/// account first. `touch` moves `last_active_at` (authenticated non-GET
/// calls). A refusal is the inner `Err`, so the caller commits the expiry it
/// caused.
pub fn authenticate<S: Sessions + EventLog + ?Sized>(
    store: &mut S,
    token: &str,
    lifetimes: &Lifetimes,
    now: Millis,
    touch: bool,
) -> ApiResult<ApiResult<SessionRow>> {
    let hash = secrets::token_hash(token);
    let Some(mut session) = store.session_by_token_hash(hash.as_slice())? else {
        return Ok(Err(ApiError::Unauthenticated));
    };
    // Re-read only when the refresh changed something: if it wrote nothing,
    // the row read above is still the row.
    if session.revocation.is_none()
        && refresh(store, Some(&session.account_id), lifetimes, now)? > 0
    {
        match store.session(&session.id)? {
            Some(fresh) => session = fresh,
            None => return Ok(Err(ApiError::Unauthenticated)),
        }
    }
    if let Some(revocation) = session.revocation {
        return Ok(Err(ApiError::SessionRevoked(revocation)));
    }
    if touch {
        store.touch(&session.id, now)?;
        session.last_active_at = now;
    }
    Ok(Ok(session))
}

pub fn heartbeat<S: Sessions + EventLog + ?Sized>(
    store: &mut S,
    session: &SessionRow,
    state: SessionState,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<()> {
    let moved_active_at = match state {
        SessionState::Active => now,
        SessionState::Idle => session.last_active_at,
    };
    store.record_heartbeat(&session.id, now, moved_active_at, state)?;
    if state != session.state {
        let mut updated = session.clone();
        updated.state = state;
        updated.last_active_at = moved_active_at;
        updated.last_heartbeat_at = now;
        record(store, &updated, lifetimes, now, Event::SessionUpdated)?;
    }
    Ok(())
}

/// Renames `session` for `by`, the caller. Renaming another device is
/// allowed (a feature), but the row then says who did it: a stolen token
/// that relabels the victim's devices leaves its own name on each. A
/// self-rename clears the mark: the name is then the device's own choice
/// again. A rename to the name it already has changes nothing, the mark
/// included.
pub fn rename_session<S: Sessions + EventLog + ?Sized>(
    store: &mut S,
    session: &SessionRow,
    by: &SessionRow,
    name: &str,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<SessionRow> {
    if session.device.name == name {
        return Ok(session.clone());
    }
    let renamed_by = (by.id != session.id).then(|| by.device.name.clone());
    store.set_device_name(&session.id, name, renamed_by.as_deref())?;
    let mut renamed = session.clone();
    renamed.device.name = name.to_owned();
    renamed.renamed_by_device = renamed_by;
    record(store, &renamed, lifetimes, now, Event::SessionUpdated)?;
    Ok(renamed)
}

/// Whose sessions `latchd admin revoke` ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    /// The account with this (normalised) email; none when it has no account.
    Account(String),
    /// Every account.
    All,
}

/// The operator's way to end sessions (ASVS 5.0 7.4.5): revokes the live
/// sessions in `scope` with the reason `admin` and no `by_device`, each
/// announced on the account's streams like any other revocation. Written
/// over the traits only, so every backend has it. Answers how many ended.
pub fn admin_revoke<S: Sessions + EventLog + Accounts + ?Sized>(
    store: &mut S,
    scope: &AdminScope,
    now: Millis,
) -> ApiResult<u32> {
    let sessions = match scope {
        AdminScope::Account(email) => match store.account_by_email(email)? {
            Some(account) => store.live_sessions(&account.id)?,
            None => Vec::new(),
        },
        AdminScope::All => store.all_live_sessions()?,
    };
    let mut revoked = 0u32;
    for session in &sessions {
        if revoke(store, session, RevocationReason::Admin, None, now, now)? {
            revoked += 1;
        }
    }
    Ok(revoked)
}

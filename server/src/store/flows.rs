//! Sign-in flows: started by `POST /v1/auth/email-link`, exchanged once by
//! `POST /v1/auth/token`.

use std::net::IpAddr;

use latch_protocol::{Device, SessionToken, TokenRequest};

use super::accounts::Accounts;
use super::accounts::{account_for_email, AccountRow};
use super::events::EventLog;
use super::sessions::{create_session, SessionRow};
use super::sessions::{Lifetimes, Sessions};
use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::limits::{mail_domain, requester_key, send_address};
use crate::secrets;

/// How long a sign-in flow lives.
pub const FLOW_LIFETIME_MS: Millis = 10 * 60 * 1000;
/// Failed tries (code or verifier) before a flow locks.
pub const MAX_FAILED_TRIES: i64 = 5;
/// Flows are kept this long after they expire, for the per-email limits.
pub(super) const FLOW_RETENTION_MS: Millis = 86_400 * 1000;
/// Open flows one address may have at once; a new one ends the oldest.
pub const MAX_OPEN_FLOWS: usize = 3;
/// A requester that held one of the account's sessions this recently is
/// the account's own, with a budget outside the address's total.
pub const KNOWN_REQUESTER_MS: Millis = 30 * 86_400 * 1000;
const HOUR_MS: Millis = 3_600_000;

/// A flow as stored. The code itself is never stored, only its hash.
pub struct FlowRow {
    pub id: String,
    pub email: String,
    pub code_hash: Vec<u8>,
    pub code_challenge: String,
    pub device: Device,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub failed_tries: i64,
    pub superseded: bool,
    pub used_at: Option<Millis>,
    /// The requester's limit key ([`requester_key`]), as text; empty for
    /// flows from before it was recorded.
    pub requester: String,
    /// The inbox the mail went to ([`send_address`]).
    pub send_address: String,
    /// The recipient domain ([`mail_domain`]).
    pub domain: String,
    /// The requester held one of the account's sessions in the 30 days before.
    pub known_requester: bool,
}

/// Which flows one send limit counts.
#[derive(Debug, Clone, Copy)]
pub enum Counted<'a> {
    /// One requester's flows to one inbox.
    InboxFrom {
        send_address: &'a str,
        requester: &'a str,
    },
    /// Every flow to one inbox but those of requesters the account knows.
    InboxFromStrangers { send_address: &'a str },
    /// One requester's flows to one recipient domain.
    DomainFrom { domain: &'a str, requester: &'a str },
    /// Every flow.
    All,
}

/// What a backend stores of flows.
pub trait Flows {
    /// The creation time of the `n`-th newest (1: the newest) flow that
    /// `counted` matches among those created after `since`, if there are `n`.
    fn nth_newest_flow(
        &mut self,
        counted: &Counted<'_>,
        since: Millis,
        n: u32,
    ) -> ApiResult<Option<Millis>>;
    /// Marks every open (unused, not yet superseded) flow that `requester`
    /// started for `email` superseded.
    fn supersede_open_flows(&mut self, email: &str, requester: &str) -> ApiResult<()>;
    /// The ids of `email`'s flows that can still be exchanged at `now`
    /// (unused, not superseded, unexpired), oldest first.
    fn open_flows(&mut self, email: &str, now: Millis) -> ApiResult<Vec<String>>;
    fn supersede_flow(&mut self, id: &str) -> ApiResult<()>;
    fn insert_flow(&mut self, flow: &FlowRow) -> ApiResult<()>;
    fn flow(&mut self, id: &str) -> ApiResult<Option<FlowRow>>;
    /// Counts one try against the flow.
    fn count_try(&mut self, id: &str) -> ApiResult<()>;
    /// Marks the flow used at `now` and takes back the try its success counted.
    fn mark_used(&mut self, id: &str, now: Millis) -> ApiResult<()>;
    /// Forgets the flows that expired before `before`.
    fn prune_flows(&mut self, before: Millis) -> ApiResult<()>;
}

/// A flow just started: the code goes into the email, never into storage.
pub struct NewFlow {
    pub id: String,
    pub code: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// What `POST /v1/auth/email-link` asks for, once its body is valid.
pub struct FlowRequest<'a> {
    pub email: &'a str,
    pub code_challenge: &'a str,
    pub device: &'a Device,
    /// The requester's IP, as the per-IP limiter sees it.
    pub ip: IpAddr,
}

/// The send limits (`docs/protocol.md`, Limits); 0 turns one off.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    /// Per requester and inbox.
    pub interval_ms: Millis,
    /// Per requester and inbox.
    pub per_hour: u32,
    /// Per inbox, over every requester the account doesn't know.
    pub per_hour_total: u32,
    /// Per requester and recipient domain.
    pub per_domain_per_hour: u32,
    /// Every mail: the cost guard.
    pub mail_per_hour: u32,
}

/// Each of [`SendLimits`], to say which refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendLimit {
    Interval,
    PerHour,
    PerHourTotal,
    PerDomainPerHour,
    MailPerHour,
}

impl SendLimit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interval => "email-link-interval",
            Self::PerHour => "email-link-per-hour",
            Self::PerHourTotal => "email-link-per-hour-total",
            Self::PerDomainPerHour => "mail-per-domain-per-hour",
            Self::MailPerHour => "mail-per-hour",
        }
    }
}

/// A request the send limits refused: the longest wait, and every limit
/// that refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRefused {
    pub wait_ms: Millis,
    pub limits: Vec<SendLimit>,
}

/// Whether `ip` held one of the sessions of `email`'s account in the last
/// [`KNOWN_REQUESTER_MS`].
fn known_requester<S: Accounts + Sessions + ?Sized>(
    store: &mut S,
    email: &str,
    ip: IpAddr,
    now: Millis,
) -> ApiResult<bool> {
    let Some(account) = store.account_by_email(email)? else {
        return Ok(false);
    };
    let me = requester_key(ip);
    Ok(store
        .session_ips(&account.id, now - KNOWN_REQUESTER_MS)?
        .iter()
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .any(|ip| requester_key(ip) == me))
}

/// Starts a flow if the send limits allow it, superseding the open flows
/// the same requester started for the same email, and the oldest open
/// flow of the email when it already has [`MAX_OPEN_FLOWS`]. A refused
/// request changes nothing: it makes no flow and ends none.
pub fn start_flow<S: Flows + Accounts + Sessions + ?Sized>(
    store: &mut S,
    request: &FlowRequest<'_>,
    limits: &SendLimits,
    now: Millis,
) -> ApiResult<Result<NewFlow, SendRefused>> {
    let requester = requester_key(request.ip).to_string();
    let inbox = send_address(request.email);
    let domain = mail_domain(request.email);
    let known = known_requester(store, request.email, request.ip, now)?;
    let from_requester = Counted::InboxFrom {
        send_address: &inbox,
        requester: &requester,
    };
    let checks = [
        (
            SendLimit::Interval,
            from_requester,
            limits.interval_ms,
            u32::from(limits.interval_ms > 0),
        ),
        (SendLimit::PerHour, from_requester, HOUR_MS, limits.per_hour),
        (
            SendLimit::PerHourTotal,
            Counted::InboxFromStrangers {
                send_address: &inbox,
            },
            HOUR_MS,
            // The account's own requesters have a budget of their own: the
            // per-requester limits above.
            if known { 0 } else { limits.per_hour_total },
        ),
        (
            SendLimit::PerDomainPerHour,
            Counted::DomainFrom {
                domain,
                requester: &requester,
            },
            HOUR_MS,
            limits.per_domain_per_hour,
        ),
        (
            SendLimit::MailPerHour,
            Counted::All,
            HOUR_MS,
            limits.mail_per_hour,
        ),
    ];
    let mut refused = SendRefused {
        wait_ms: 0,
        limits: Vec::new(),
    };
    for (limit, counted, window_ms, cap) in checks {
        if cap == 0 || window_ms <= 0 {
            continue;
        }
        // Refused requests make no flow, so they don't count.
        if let Some(t) = store.nth_newest_flow(&counted, now - window_ms, cap)? {
            refused.wait_ms = refused.wait_ms.max(t + window_ms - now);
            refused.limits.push(limit);
        }
    }
    if !refused.limits.is_empty() {
        return Ok(Err(refused));
    }

    store.supersede_open_flows(request.email, &requester)?;
    let open = store.open_flows(request.email, now)?;
    let over = (open.len() + 1).saturating_sub(MAX_OPEN_FLOWS);
    for id in open.iter().take(over) {
        store.supersede_flow(id)?;
    }
    let flow = NewFlow {
        id: secrets::new_id("flw"),
        code: secrets::new_code(),
        created_at: now,
        expires_at: now + FLOW_LIFETIME_MS,
    };
    store.insert_flow(&FlowRow {
        id: flow.id.clone(),
        email: request.email.to_owned(),
        code_hash: secrets::code_hash(&flow.id, &flow.code).to_vec(),
        code_challenge: request.code_challenge.to_owned(),
        device: request.device.clone(),
        created_at: flow.created_at,
        expires_at: flow.expires_at,
        failed_tries: 0,
        superseded: false,
        used_at: None,
        requester,
        send_address: inbox,
        domain: domain.to_owned(),
        known_requester: known,
    })?;
    Ok(Ok(flow))
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
/// `docs/protocol.md`'s order: locked > used > expired > code > verifier.
pub fn exchange<S: Flows + Accounts + Sessions + EventLog + ?Sized>(
    store: &mut S,
    request: &TokenRequest,
    ip: &str,
    lifetimes: &Lifetimes,
    now: Millis,
) -> ApiResult<ApiResult<Exchanged>> {
    let Some(flow) = store.flow(request.flow_id.as_str())? else {
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
    store.count_try(&flow.id)?;
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
    store.mark_used(&flow.id, now)?;
    let account = account_for_email(store, &flow.email, now)?;
    let (token, session) = create_session(store, &account.id, &flow.device, ip, lifetimes, now)?;
    Ok(Ok(Exchanged {
        token,
        session,
        account,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use latch_protocol::{AppKind, Platform};
    use rusqlite::Connection;

    use super::*;
    use crate::store::sqlite::{migrate, Sqlite};

    const MINUTE: Millis = 60_000;
    const LIMITS: SendLimits = SendLimits {
        interval_ms: MINUTE,
        per_hour: 5,
        per_hour_total: 20,
        per_domain_per_hour: 20,
        mail_per_hour: 1000,
    };

    fn device() -> Device {
        Device {
            name: "Laptop".into(),
            platform: Platform::Linux,
            os_version: "Debian 12".into(),
            app: AppKind::Desktop,
            app_version: "0.1.0".into(),
        }
    }

    /// Asks for a link to `email` from `ip` at `now`, in its own transaction.
    fn ask(
        conn: &mut Connection,
        email: &str,
        ip: &str,
        now: Millis,
    ) -> Result<String, SendRefused> {
        let device = device();
        let request = FlowRequest {
            email,
            code_challenge: "c",
            device: &device,
            ip: ip.parse().unwrap(),
        };
        let tx = conn.transaction().unwrap();
        let started = start_flow(&mut Sqlite::new(&tx), &request, &LIMITS, now).unwrap();
        tx.commit().unwrap();
        started.map(|flow| flow.id)
    }

    #[test]
    fn an_ipv6_requester_is_its_64() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        migrate(&mut conn).unwrap();
        let now = 10 * HOUR_MS;
        ask(&mut conn, "ada@example.com", "2001:db8:1:2::1", now).unwrap();
        let refused = ask(&mut conn, "ada@example.com", "2001:db8:1:2::ffff", now).unwrap_err();
        assert_eq!(refused.limits, [SendLimit::Interval], "the same /64");
        assert_eq!(refused.wait_ms, MINUTE);
        ask(&mut conn, "ada@example.com", "2001:db8:1:3::1", now).expect("another /64");
        let refused = ask(&mut conn, "ada+x@example.com", "2001:db8:1:3::9", now).unwrap_err();
        assert_eq!(refused.limits, [SendLimit::Interval], "the same inbox");
    }

    #[test]
    fn the_total_cap_leaves_out_the_accounts_own_requesters() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, email, display_name, created_at)
                 VALUES ('acc_1', 'ada@example.com', 'ada', 0);
             INSERT INTO sessions (id, account_id, token_hash, device_name, platform, os_version,
                                   app, app_version, ip, created_at, last_active_at,
                                   last_heartbeat_at, state, revoked_at, revoked_reason)
                 VALUES ('ses_1', 'acc_1', x'01', 'Laptop', 'linux', '12', 'desktop', '1',
                         '2001:db8:aa:bb::7', 0, 0, 0, 'active', 1000, 'logged_out');",
        )
        .unwrap();
        let now = 10 * HOUR_MS;
        for i in 0..20 {
            ask(
                &mut conn,
                "ada@example.com",
                &format!("198.51.100.{i}"),
                now,
            )
            .unwrap();
        }
        let refused = ask(&mut conn, "ada@example.com", "198.51.100.99", now).unwrap_err();
        assert_eq!(refused.limits, [SendLimit::PerHourTotal]);
        // Her session's /64, revoked but within 30 days, has its own budget.
        ask(&mut conn, "ada@example.com", "2001:db8:aa:bb::1234", now).unwrap();
        // Past the 30 days it is a stranger again.
        let later = 1000 + KNOWN_REQUESTER_MS + MINUTE;
        for i in 0..20 {
            ask(
                &mut conn,
                "ada@example.com",
                &format!("198.51.100.{i}"),
                later,
            )
            .unwrap();
        }
        let refused = ask(&mut conn, "ada@example.com", "2001:db8:aa:bb::1234", later).unwrap_err();
        assert_eq!(refused.limits, [SendLimit::PerHourTotal]);
    }
}

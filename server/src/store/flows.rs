//! Sign-in flows: started by `POST /v1/auth/email-link`, exchanged once by
//! `POST /v1/auth/token`.

use latch_protocol::{Device, SessionToken, TokenRequest};

use super::accounts::Accounts;
use super::accounts::{account_for_email, AccountRow};
use super::events::EventLog;
use super::sessions::{create_session, SessionRow};
use super::sessions::{Lifetimes, Sessions};
use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::secrets;

/// How long a sign-in flow lives.
pub const FLOW_LIFETIME_MS: Millis = 10 * 60 * 1000;
/// Failed tries (code or verifier) before a flow locks.
pub const MAX_FAILED_TRIES: i64 = 5;
/// Flows are kept this long after they expire, for the per-email limits.
pub(super) const FLOW_RETENTION_MS: Millis = 86_400 * 1000;

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
}

/// What a backend stores of flows.
pub trait Flows {
    /// Creation times of the flows for `email` since `since`, oldest first.
    fn recent_flow_times(&mut self, email: &str, since: Millis) -> ApiResult<Vec<Millis>>;
    /// Marks every open (unused, not yet superseded) flow of `email` superseded.
    fn supersede_open_flows(&mut self, email: &str) -> ApiResult<()>;
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

/// Starts a flow, superseding every open one for the same email.
pub fn create_flow<S: Flows + ?Sized>(
    store: &mut S,
    email: &str,
    code_challenge: &str,
    device: &Device,
    now: Millis,
) -> ApiResult<NewFlow> {
    store.supersede_open_flows(email)?;
    let flow = NewFlow {
        id: secrets::new_id("flw"),
        code: secrets::new_code(),
        created_at: now,
        expires_at: now + FLOW_LIFETIME_MS,
    };
    store.insert_flow(&FlowRow {
        id: flow.id.clone(),
        email: email.to_owned(),
        code_hash: secrets::code_hash(&flow.id, &flow.code).to_vec(),
        code_challenge: code_challenge.to_owned(),
        device: device.clone(),
        created_at: flow.created_at,
        expires_at: flow.expires_at,
        failed_tries: 0,
        superseded: false,
        used_at: None,
    })?;
    Ok(flow)
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

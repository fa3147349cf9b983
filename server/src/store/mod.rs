//! The account model: flows, accounts, sessions and the event log, one
//! module each, behind one storage interface, [`Store`].
//!
//! A backend implements the four resource traits ([`Accounts`], [`Flows`],
//! [`Sessions`], [`EventLog`]) over one open transaction; everything that
//! decides (the order of a code exchange's checks, eviction, expiry, which
//! event a change records) is written once here, over `&mut dyn Store`, and
//! runs the same on every backend. [`sqlite`] is the one backend today;
//! `crate::db` owns its connection and hands each transaction out as a
//! `&mut dyn Store`.

mod accounts;
mod events;
mod flows;
mod session_list;
mod sessions;
pub mod sqlite;

pub use accounts::{account, account_for_email, rename_account, AccountRow, Accounts};
pub use events::EventLog;
pub use flows::{create_flow, exchange, Exchanged, FlowRow, Flows, NewFlow};
pub use session_list::{session_list, session_list_json};
pub use sessions::{
    authenticate, create_session, heartbeat, refresh, rename_session, revoke, SessionRow, Sessions,
};

use latch_protocol::RevocationReason;

use crate::clock::Millis;
use crate::error::ApiResult;

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

/// The storage interface: one transaction of a backend, with every
/// resource's calls. Each call runs inside it; the events it records are
/// published once it commits.
pub trait Store: Accounts + Flows + Sessions + EventLog {}

impl<T: Accounts + Flows + Sessions + EventLog + ?Sized> Store for T {}

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

/// Drops history past its retention: revoked sessions, old flows, old events.
pub fn prune(store: &mut dyn Store, now: Millis) -> ApiResult<()> {
    store.prune_sessions(now - HISTORY_MS)?;
    store.prune_flows(now - FLOW_RETENTION_MS)?;
    store.prune_events(now - EVENT_RETENTION_MS)
}

/// What the store's tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::Lifetimes;
    use crate::clock::Millis;

    pub const DAY: Millis = 86_400_000;
    pub const LIFETIMES: Lifetimes = Lifetimes {
        idle_ms: 14 * DAY,
        absolute_ms: 30 * DAY,
    };

    /// xorshift64: reproducible variety without a dependency.
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        pub fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
            &from[(self.next() % from.len() as u64) as usize]
        }
    }
}

//! The account model: flows, accounts, sessions and the event log, one
//! module each, behind one storage interface, [`Store`].
//!
//! A backend implements the four resource traits ([`Accounts`], [`Flows`],
//! [`Sessions`], [`EventLog`]) over one open transaction; everything that
//! decides (the order of a code exchange's checks, eviction, expiry, which
//! event a change records) is written once, over the traits it needs, and
//! runs the same on every backend. [`sqlite`] is the one backend today;
//! the database thread (`db.rs`) owns its connection and hands each
//! transaction out as a `&mut dyn Store`.

mod accounts;
mod events;
mod flows;
mod session_list;
mod sessions;
pub mod sqlite;

pub use accounts::{account, account_for_email, rename_account, AccountRow, Accounts};
pub use events::EventLog;
pub use events::EVENT_RETENTION_MS;
pub use flows::{
    exchange, start_flow, Counted, Exchanged, FlowRequest, FlowRow, Flows, NewFlow, SendLimit,
    SendLimits, SendRefused, FLOW_LIFETIME_MS, KNOWN_REQUESTER_MS, MAX_FAILED_TRIES,
    MAX_OPEN_FLOWS,
};
pub use session_list::{session_list, session_list_json};
pub use sessions::{
    admin_revoke, authenticate, create_session, heartbeat, refresh, rename_session, revoke,
    AdminScope, Lifetimes, SessionRow, Sessions, HISTORY_MS, IDLE_AFTER_MS, MAX_LIVE_SESSIONS,
};

use crate::clock::Millis;
use crate::error::ApiResult;

/// The storage interface: one transaction of a backend, with every
/// resource's calls. Each call runs inside it; the events it records are
/// published once it commits.
pub trait Store: Accounts + Flows + Sessions + EventLog {}

impl<T: Accounts + Flows + Sessions + EventLog + ?Sized> Store for T {}

/// Drops history past its retention: revoked sessions, old flows, old events.
pub fn prune(store: &mut dyn Store, now: Millis) -> ApiResult<()> {
    store.prune_sessions(now - HISTORY_MS)?;
    store.prune_flows(now - flows::FLOW_RETENTION_MS)?;
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

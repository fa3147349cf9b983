//! The event log: every session change, kept a day for streams that resume.

use latch_protocol::Event;

use crate::clock::Millis;
use crate::error::ApiResult;
use crate::hub::StoredEvent;

/// Events older than this can't be replayed; a client asking gets `resync`.
pub const EVENT_RETENTION_MS: Millis = 86_400 * 1000;

/// What a backend stores of events.
pub trait EventLog {
    /// Appends an event to the log and queues it for the live streams, which
    /// get it once the transaction commits (in commit order).
    fn append_event(
        &mut self,
        account_id: &str,
        session_id: &str,
        event: Event,
        now: Millis,
    ) -> ApiResult<()>;
    /// The range of event ids a stream can resume from: `(pruned_through, newest)`.
    fn event_bounds(&mut self) -> ApiResult<(i64, i64)>;
    /// An account's events after id `after`, oldest first.
    fn events_after(&mut self, account_id: &str, after: i64) -> ApiResult<Vec<StoredEvent>>;
    /// Forgets the events recorded before `before`, remembering the newest
    /// id forgotten (for `event_bounds`).
    fn prune_events(&mut self, before: Millis) -> ApiResult<()>;
}

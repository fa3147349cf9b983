//! The SQLite backend of [`Store`](super::Store): one transaction (or, for
//! reads, the bare connection) of the connection `crate::db` owns.

mod accounts;
mod events;
mod flows;
mod sessions;

use rusqlite::Connection;

use crate::hub::Outbox;

/// A transaction of the SQLite database as a [`Store`](super::Store). The
/// events it records wait in its outbox until the caller has committed.
pub struct Sqlite<'c> {
    conn: &'c Connection,
    outbox: Outbox,
}

impl<'c> Sqlite<'c> {
    /// `conn` is a transaction (`rusqlite::Transaction` derefs to one), or
    /// the connection itself for reads.
    pub fn new(conn: &'c Connection) -> Self {
        Sqlite {
            conn,
            outbox: Outbox::new(),
        }
    }

    /// The events recorded, to publish once the transaction has committed.
    pub fn into_outbox(self) -> Outbox {
        self.outbox
    }
}

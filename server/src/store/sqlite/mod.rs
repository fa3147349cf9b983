//! The SQLite backend of [`Store`](super::Store): one transaction (or, for
//! reads, the bare connection) of the connection the database thread
//! (`db.rs`) owns, and the schema's migrations.

mod accounts;
mod events;
mod flows;
mod sessions;

use rusqlite::Connection;

use crate::error::ApiResult;
use crate::hub::Outbox;

const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/0001_init.sql"),
    include_str!("../../../migrations/0002_sessions_by_recency.sql"),
    include_str!("../../../migrations/0003_flows_by_requester.sql"),
    include_str!("../../../migrations/0004_renamed_by_device.sql"),
];

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

    /// Runs one statement whose row count nobody needs.
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> ApiResult<()> {
        self.conn.execute(sql, params)?;
        Ok(())
    }

    /// The events recorded, to publish once the transaction has committed.
    pub fn into_outbox(self) -> Outbox {
        self.outbox
    }
}

/// Sets the connection up and brings its schema to the newest version.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

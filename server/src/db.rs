//! SQLite through rusqlite on tokio's blocking pool, one connection behind a
//! mutex.
//!
//! Why rusqlite and one connection: SQLite runs one writer at a time anyway,
//! and nearly every call here writes (authentication refreshes expiry, the
//! exchange counts its try). Serialising on one connection makes each
//! operation a plain synchronous transaction — "count the try, check it,
//! mark the flow used" can't interleave with another exchange — with no
//! compile-time database (sqlx's macros) and no async pool to tune. Events
//! are published to live streams while the connection is still held, so
//! stream order always equals commit order.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{ApiError, ApiResult};
use crate::events::{Hub, StoredEvent};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_sessions_by_recency.sql"),
];

/// Events committed by a transaction, published once it commits.
pub type Outbox = Vec<StoredEvent>;

#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    hub: Hub,
}

impl Db {
    pub fn open(path: &Path, hub: Hub) -> Result<Db, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("can't create {}: {e}", dir.display()))?;
        }
        let mut conn = Connection::open(path)
            .map_err(|e| format!("can't open the database {}: {e}", path.display()))?;
        migrate(&mut conn)
            .map_err(|e| format!("can't prepare the database {}: {e}", path.display()))?;
        // The statements of the hot paths stay prepared (rusqlite keeps 16).
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            hub,
        })
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Runs `f` in one IMMEDIATE transaction; commits when it returns `Ok`,
    /// then publishes the events it recorded.
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &mut Outbox) -> ApiResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let hub = self.hub.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| ApiError::Internal("database lock poisoned".into()))?;
            let tx = guard.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut outbox = Outbox::new();
            let value = f(&tx, &mut outbox)?;
            tx.commit()?;
            for event in outbox {
                hub.publish(event);
            }
            Ok(value)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("database task: {e}")))?
    }

    /// Runs `f` on the connection without a write transaction.
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> ApiResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| ApiError::Internal("database lock poisoned".into()))?;
            f(&guard)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("database task: {e}")))?
    }

    /// For `latchd seed`: the same transaction without a runtime.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &mut Outbox) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| ApiError::Internal("database lock poisoned".into()))?;
        let tx = guard.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outbox = Outbox::new();
        let value = f(&tx, &mut outbox)?;
        tx.commit()?;
        Ok(value)
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
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

//! SQLite through rusqlite: one connection behind a mutex, and one thread
//! of its own that runs every database call (see the end of this note).
//! Each transaction is handed to its caller as a `&mut dyn Store`
//! (`store::sqlite`).
//!
//! Why rusqlite and one connection: SQLite runs one writer at a time anyway,
//! and nearly every call here writes (authentication refreshes expiry, the
//! exchange counts its try). Serialising on one connection makes each
//! operation a plain synchronous transaction — "count the try, check it,
//! mark the flow used" can't interleave with another exchange — with no
//! compile-time database (sqlx's macros) and no async pool to tune. Events
//! are published to live streams while the connection is still held, so
//! stream order always equals commit order.
//!
//! Why one thread of its own rather than tokio's blocking pool: every call
//! used to `spawn_blocking` — wake a pool thread, which then queued on the
//! mutex behind up to seven others, each handoff a futex wake and a context
//! switch (`perf` at 1,000 `GET /v1/sessions` a second: a quarter of the
//! CPU in the kernel, most of it `finish_task_switch`). One thread taking
//! jobs from a queue runs them back to back under load without sleeping
//! between them, one at a time as the mutex had them: ~9% less CPU per
//! request, measured alternating with the pool.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, MutexGuard};

use anyhow::Context;
use rusqlite::{Connection, TransactionBehavior};

use crate::error::{ApiError, ApiResult};
use crate::hub::{Hub, Outbox};
use crate::store::sqlite::{self, Sqlite};
use crate::store::Store;

/// Work for the database thread.
type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct Db {
    /// Held by the database thread while it runs a job, and by
    /// `write_blocking`, which runs without it.
    conn: Arc<Mutex<Connection>>,
    hub: Hub,
    /// The database thread's queue; it ends when the last `Db` is dropped.
    jobs: mpsc::Sender<Job>,
}

impl Db {
    pub fn open(path: &Path, hub: Hub) -> anyhow::Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).with_context(|| format!("can't create {}", dir.display()))?;
        }
        keep_private(path);
        let mut conn = Connection::open(path)
            .with_context(|| format!("can't open the database {}", path.display()))?;
        sqlite::migrate(&mut conn)
            .with_context(|| format!("can't prepare the database {}", path.display()))?;
        // The statements of the hot paths stay prepared (rusqlite keeps 16).
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("latchd-db".into())
            .spawn(move || {
                for job in queue {
                    // A panicking job drops its reply channel (its caller
                    // gets an internal error), not the thread.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                }
            })
            .context("can't start the database thread")?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            hub,
            jobs,
        })
    }

    /// Runs `f` on the database thread and waits for its answer.
    async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Mutex<Connection>, &Hub) -> ApiResult<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let conn = self.conn.clone();
        let hub = self.hub.clone();
        self.jobs
            .send(Box::new(move || {
                // The caller may have gone (its request was dropped).
                let _ = reply.send(f(&conn, &hub));
            }))
            .map_err(|_| ApiError::Internal("database thread gone".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("database task panicked".into()))?
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Runs `f` in one IMMEDIATE transaction; commits when it returns `Ok`,
    /// then publishes the events it recorded (still under the lock, so
    /// streams see commit order).
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Store) -> ApiResult<T> + Send + 'static,
    {
        self.run(move |conn, hub| {
            let (value, outbox) = transaction(&mut *lock(conn)?, f)?;
            for event in outbox {
                hub.publish(event);
            }
            Ok(value)
        })
        .await
    }

    /// Runs `f`, which only reads, on the connection without a transaction.
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Store) -> ApiResult<T> + Send + 'static,
    {
        self.run(move |conn, _| f(&mut Sqlite::new(&*lock(conn)?)))
            .await
    }

    /// For `latchd seed`: the same transaction without a runtime (and no
    /// stream to tell).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> ApiResult<T>,
    ) -> ApiResult<T> {
        transaction(&mut *lock(&self.conn)?, f).map(|(value, _)| value)
    }
}

/// Creates `dir` (and its missing parents) readable only by this user.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The database and its write-ahead log and shared-memory index hold every
/// account's email and session, so only this user may read them, whatever
/// the umask: a new database file is created 0600 before SQLite opens it
/// (SQLite gives its `-wal` and `-shm` files the database file's mode), and
/// files an older latchd left wider lose their group and other bits (never
/// gaining any: a read-only file stays read-only). Failing to narrow them is
/// logged, not fatal.
#[cfg(unix)]
fn keep_private(path: &Path) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        // SQLite will say what is wrong when it opens the file.
        Err(e) => tracing::debug!(error = %e, "can't create the database file first"),
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            let narrowed = std::fs::Permissions::from_mode(mode & 0o700);
            if let Err(e) = std::fs::set_permissions(&file, narrowed) {
                tracing::warn!(error = %e, file = %file.display(), "can't make the database file private");
            }
        }
    }
}

#[cfg(not(unix))]
fn keep_private(_: &Path) {}

fn lock(conn: &Mutex<Connection>) -> ApiResult<MutexGuard<'_, Connection>> {
    conn.lock()
        .map_err(|_| ApiError::Internal("database lock poisoned".into()))
}

/// Runs `f` in one IMMEDIATE transaction, commits when it returns `Ok`, and
/// gives back the events it recorded.
fn transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut dyn Store) -> ApiResult<T>,
) -> ApiResult<(T, Outbox)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut store = Sqlite::new(&tx);
    let value = f(&mut store)?;
    let outbox = store.into_outbox();
    tx.commit()?;
    Ok((value, outbox))
}

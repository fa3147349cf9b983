use latch_protocol::Event;
use rusqlite::{params, OptionalExtension};

use super::Sqlite;
use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::hub::StoredEvent;
use crate::store::EventLog;

impl EventLog for Sqlite<'_> {
    fn append_event(
        &mut self,
        account_id: &str,
        session_id: &str,
        event: Event,
        now: Millis,
    ) -> ApiResult<()> {
        self.conn.execute(
            "INSERT INTO events (account_id, session_id, name, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account_id, session_id, event.name(), event.data().to_string(), now],
        )?;
        self.outbox.push(StoredEvent {
            id: self.conn.last_insert_rowid(),
            account_id: account_id.to_owned(),
            session_id: session_id.to_owned(),
            event,
        });
        Ok(())
    }

    fn event_bounds(&mut self) -> ApiResult<(i64, i64)> {
        // Each is absent (0) until the first prune, or the first event.
        let number = |sql: &str| -> ApiResult<i64> {
            let found = self.conn.query_row(sql, [], |r| r.get(0)).optional()?;
            Ok(found.unwrap_or(0))
        };
        Ok((
            number("SELECT value FROM meta WHERE key = 'events_pruned_through'")?,
            number("SELECT seq FROM sqlite_sequence WHERE name = 'events'")?,
        ))
    }

    fn events_after(&mut self, account_id: &str, after: i64) -> ApiResult<Vec<StoredEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, session_id, name, data FROM events WHERE account_id = ?1 AND id > ?2 ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![account_id, after], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, session_id, name, data)| {
                let event = Event::parse(&name, &data)
                    .map_err(|e| ApiError::Internal(format!("stored event {id}: {e}")))?;
                Ok(StoredEvent {
                    id,
                    account_id: account_id.to_owned(),
                    session_id,
                    event,
                })
            })
            .collect()
    }

    fn prune_events(&mut self, before: Millis) -> ApiResult<()> {
        let newest_pruned: Option<i64> = self.conn.query_row(
            "SELECT max(id) FROM events WHERE created_at < ?1",
            [before],
            |r| r.get(0),
        )?;
        if let Some(id) = newest_pruned {
            self.conn
                .execute("DELETE FROM events WHERE id <= ?1", [id])?;
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('events_pruned_through', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                [id],
            )?;
        }
        Ok(())
    }
}

use rusqlite::{params, OptionalExtension};

use super::Sqlite;
use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::store::{FlowRow, Flows};

impl Flows for Sqlite<'_> {
    fn recent_flow_times(&mut self, email: &str, since: Millis) -> ApiResult<Vec<Millis>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT created_at FROM flows WHERE email = ?1 AND created_at > ?2 ORDER BY created_at",
        )?;
        let times = stmt
            .query_map(params![email, since], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<Millis>>>()?;
        Ok(times)
    }

    fn supersede_open_flows(&mut self, email: &str) -> ApiResult<()> {
        self.exec(
            "UPDATE flows SET superseded = 1 WHERE email = ?1 AND used_at IS NULL AND superseded = 0",
            [email],
        )
    }

    fn insert_flow(&mut self, flow: &FlowRow) -> ApiResult<()> {
        let device_json = serde_json::to_string(&flow.device)
            .map_err(|e| ApiError::Internal(format!("device json: {e}")))?;
        self.exec(
            "INSERT INTO flows (id, email, code_hash, code_challenge, device, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                flow.id,
                flow.email,
                flow.code_hash,
                flow.code_challenge,
                device_json,
                flow.created_at,
                flow.expires_at
            ],
        )
    }

    fn flow(&mut self, id: &str) -> ApiResult<Option<FlowRow>> {
        let sql = "SELECT * FROM flows WHERE id = ?1";
        Ok(self.conn.query_row(sql, [id], flow_from_row).optional()?)
    }

    fn count_try(&mut self, id: &str) -> ApiResult<()> {
        self.exec(
            "UPDATE flows SET failed_tries = failed_tries + 1 WHERE id = ?1",
            [id],
        )
    }

    fn mark_used(&mut self, id: &str, now: Millis) -> ApiResult<()> {
        self.exec(
            "UPDATE flows SET failed_tries = failed_tries - 1, used_at = ?2 WHERE id = ?1",
            params![id, now],
        )
    }

    fn prune_flows(&mut self, before: Millis) -> ApiResult<()> {
        self.conn
            .execute("DELETE FROM flows WHERE expires_at < ?1", [before])?;
        Ok(())
    }
}

fn flow_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<FlowRow> {
    let device: String = row.get("device")?;
    let device = serde_json::from_str(&device).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("stored device: {e}").into(),
        )
    })?;
    Ok(FlowRow {
        id: row.get("id")?,
        email: row.get("email")?,
        code_hash: row.get("code_hash")?,
        code_challenge: row.get("code_challenge")?,
        device,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
        failed_tries: row.get("failed_tries")?,
        superseded: row.get("superseded")?,
        used_at: row.get("used_at")?,
    })
}

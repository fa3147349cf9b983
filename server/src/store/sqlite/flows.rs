use rusqlite::{params, OptionalExtension};

use super::Sqlite;
use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::store::{Counted, FlowRow, Flows};

impl Flows for Sqlite<'_> {
    fn nth_newest_flow(
        &mut self,
        counted: &Counted<'_>,
        since: Millis,
        n: u32,
    ) -> ApiResult<Option<Millis>> {
        let offset = i64::from(n.saturating_sub(1));
        let (filter, keys): (&str, Vec<&str>) = match *counted {
            Counted::InboxFrom {
                send_address,
                requester,
            } => (
                "send_address = ?3 AND requester = ?4 AND",
                vec![send_address, requester],
            ),
            Counted::InboxFromStrangers { send_address } => (
                "send_address = ?3 AND known_requester = 0 AND",
                vec![send_address],
            ),
            Counted::DomainFrom { domain, requester } => (
                "requester = ?3 AND domain = ?4 AND",
                vec![requester, domain],
            ),
            Counted::All => ("", vec![]),
        };
        let sql = format!(
            "SELECT created_at FROM flows WHERE {filter} created_at > ?1
             ORDER BY created_at DESC LIMIT 1 OFFSET ?2"
        );
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&since, &offset];
        values.extend(keys.iter().map(|k| k as &dyn rusqlite::ToSql));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(stmt
            .query_row(values.as_slice(), |row| row.get(0))
            .optional()?)
    }

    fn supersede_open_flows(&mut self, email: &str, requester: &str) -> ApiResult<()> {
        self.exec(
            "UPDATE flows SET superseded = 1
             WHERE email = ?1 AND requester = ?2 AND used_at IS NULL AND superseded = 0",
            [email, requester],
        )
    }

    fn open_flows(&mut self, email: &str, now: Millis) -> ApiResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM flows
             WHERE email = ?1 AND used_at IS NULL AND superseded = 0 AND expires_at > ?2
             ORDER BY created_at, rowid",
        )?;
        let ids = stmt
            .query_map(params![email, now], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }

    fn supersede_flow(&mut self, id: &str) -> ApiResult<()> {
        self.exec("UPDATE flows SET superseded = 1 WHERE id = ?1", [id])
    }

    fn insert_flow(&mut self, flow: &FlowRow) -> ApiResult<()> {
        let device_json = serde_json::to_string(&flow.device)
            .map_err(|e| ApiError::Internal(format!("device json: {e}")))?;
        self.exec(
            "INSERT INTO flows (id, email, code_hash, code_challenge, device, created_at, expires_at,
                                requester, send_address, domain, known_requester)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                flow.id,
                flow.email,
                flow.code_hash,
                flow.code_challenge,
                device_json,
                flow.created_at,
                flow.expires_at,
                flow.requester,
                flow.send_address,
                flow.domain,
                flow.known_requester
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
        requester: row.get("requester")?,
        send_address: row.get("send_address")?,
        domain: row.get("domain")?,
        known_requester: row.get("known_requester")?,
    })
}

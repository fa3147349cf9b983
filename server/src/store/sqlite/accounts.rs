use rusqlite::{params, OptionalExtension, Row};

use super::Sqlite;
use crate::error::ApiResult;
use crate::store::{AccountRow, Accounts};

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        id: row.get("id")?,
        email: row.get("email")?,
        display_name: row.get("display_name")?,
        created_at: row.get("created_at")?,
    })
}

impl Accounts for Sqlite<'_> {
    fn account_by_id(&mut self, id: &str) -> ApiResult<Option<AccountRow>> {
        let sql = "SELECT * FROM accounts WHERE id = ?1";
        Ok(self
            .conn
            .query_row(sql, [id], account_from_row)
            .optional()?)
    }

    fn account_by_email(&mut self, email: &str) -> ApiResult<Option<AccountRow>> {
        let sql = "SELECT * FROM accounts WHERE email = ?1";
        Ok(self
            .conn
            .query_row(sql, [email], account_from_row)
            .optional()?)
    }

    fn insert_account(&mut self, account: &AccountRow) -> ApiResult<()> {
        self.conn.execute(
            "INSERT INTO accounts (id, email, display_name, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                account.id,
                account.email,
                account.display_name,
                account.created_at
            ],
        )?;
        Ok(())
    }

    fn set_display_name(&mut self, id: &str, display_name: &str) -> ApiResult<()> {
        self.conn.execute(
            "UPDATE accounts SET display_name = ?2 WHERE id = ?1",
            params![id, display_name],
        )?;
        Ok(())
    }
}

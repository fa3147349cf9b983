use rusqlite::{params, Connection, OptionalExtension, Row};

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

/// The account `sql` selects by its one parameter `key`, if any.
fn one_account(conn: &Connection, sql: &str, key: &str) -> ApiResult<Option<AccountRow>> {
    Ok(conn.query_row(sql, [key], account_from_row).optional()?)
}

impl Accounts for Sqlite<'_> {
    fn account_by_id(&mut self, id: &str) -> ApiResult<Option<AccountRow>> {
        one_account(self.conn, "SELECT * FROM accounts WHERE id = ?1", id)
    }

    fn account_by_email(&mut self, email: &str) -> ApiResult<Option<AccountRow>> {
        one_account(self.conn, "SELECT * FROM accounts WHERE email = ?1", email)
    }

    fn insert_account(&mut self, account: &AccountRow) -> ApiResult<()> {
        self.exec(
            "INSERT INTO accounts (id, email, display_name, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                account.id,
                account.email,
                account.display_name,
                account.created_at
            ],
        )
    }

    fn set_display_name(&mut self, id: &str, display_name: &str) -> ApiResult<()> {
        self.exec(
            "UPDATE accounts SET display_name = ?2 WHERE id = ?1",
            params![id, display_name],
        )
    }
}

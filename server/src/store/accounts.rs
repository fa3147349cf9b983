//! Accounts: one per email, created on its first sign-in.

use latch_protocol::{initials, Account, AccountId};

use crate::clock::{to_datetime, Millis};
use crate::error::{ApiError, ApiResult};
use crate::secrets;

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub created_at: Millis,
}

impl AccountRow {
    pub fn to_wire(&self) -> Account {
        Account {
            id: AccountId(self.id.clone()),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            initials: initials(&self.display_name),
            created_at: to_datetime(self.created_at),
        }
    }
}

/// What a backend stores of accounts.
pub trait Accounts {
    fn account_by_id(&mut self, id: &str) -> ApiResult<Option<AccountRow>>;
    fn account_by_email(&mut self, email: &str) -> ApiResult<Option<AccountRow>>;
    fn insert_account(&mut self, account: &AccountRow) -> ApiResult<()>;
    fn set_display_name(&mut self, id: &str, display_name: &str) -> ApiResult<()>;
}

pub fn account<S: Accounts + ?Sized>(store: &mut S, id: &str) -> ApiResult<AccountRow> {
    store
        .account_by_id(id)?
        .ok_or(ApiError::NotFound("No such account."))
}

/// The account of `email`, created on its first sign-in.
pub fn account_for_email<S: Accounts + ?Sized>(
    store: &mut S,
    email: &str,
    now: Millis,
) -> ApiResult<AccountRow> {
    if let Some(account) = store.account_by_email(email)? {
        return Ok(account);
    }
    let local_part = email.split('@').next().unwrap_or(email);
    let account = AccountRow {
        id: secrets::new_id("acc"),
        email: email.to_owned(),
        display_name: local_part
            .chars()
            .take(latch_protocol::MAX_NAME_CHARS)
            .collect(),
        created_at: now,
    };
    store.insert_account(&account)?;
    tracing::info!("account created");
    Ok(account)
}

pub fn rename_account<S: Accounts + ?Sized>(
    store: &mut S,
    id: &str,
    display_name: &str,
) -> ApiResult<AccountRow> {
    store.set_display_name(id, display_name)?;
    account(store, id)
}

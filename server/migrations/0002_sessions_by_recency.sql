-- An account's live sessions in the order GET /v1/sessions lists them, so
-- the list is read straight off the index instead of through a temporary
-- B-tree that copied every row's columns to sort 100 rows on every call.
-- Ties (same last_active_at and created_at) come in rowid order, as the
-- sort gave them; the queries say so (`, rowid`). It replaces
-- sessions_by_account, a prefix of it.
CREATE INDEX sessions_by_recency
    ON sessions (account_id, revoked_at, last_active_at DESC, created_at DESC);
DROP INDEX sessions_by_account;

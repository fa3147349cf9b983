-- Times are milliseconds since the Unix epoch, read through latchd's Clock.
-- Codes and tokens are stored only as SHA-256 hashes (SECURITY.md).

CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE flows (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL,
    code_hash      BLOB NOT NULL,
    code_challenge TEXT NOT NULL,
    device         TEXT NOT NULL,   -- JSON of the requesting Device
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    failed_tries   INTEGER NOT NULL DEFAULT 0,
    superseded     INTEGER NOT NULL DEFAULT 0,
    used_at        INTEGER
);
CREATE INDEX flows_by_email ON flows (email, created_at);

CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    token_hash        BLOB NOT NULL UNIQUE,
    device_name       TEXT NOT NULL,
    platform          TEXT NOT NULL,
    os_version        TEXT NOT NULL,
    app               TEXT NOT NULL,
    app_version       TEXT NOT NULL,
    ip                TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    last_active_at    INTEGER NOT NULL,
    last_heartbeat_at INTEGER NOT NULL,
    state             TEXT NOT NULL,
    -- Set together when the session ends; the row stays 30 days as history.
    revoked_at        INTEGER,
    revoked_reason    TEXT,
    revoked_by_device TEXT
);
CREATE INDEX sessions_by_account ON sessions (account_id, revoked_at);
CREATE INDEX sessions_live ON sessions (revoked_at, last_active_at);

-- The event log behind GET /v1/events and Last-Event-ID.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_by_account ON events (account_id, id);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- Staff accounts a security reviewer accepts (issue #13 item 7): server-side
-- sessions, roles, token scopes and an audit trail of account actions.
-- Times are unix seconds.

-- Roles, lowest first: clerk (issues), supervisor (also changes status),
-- admin (also manages staff and tokens). Existing administrators stay admin;
-- every other existing account keeps what it could do: supervisor.
ALTER TABLE staff_accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'supervisor'
    CHECK (role IN ('clerk', 'supervisor', 'admin'));
UPDATE staff_accounts SET role = 'admin' WHERE is_admin = 1;

-- Token scopes: issue, status or all. Existing tokens could do everything: all.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'all'
    CHECK (scope IN ('issue', 'status', 'all'));

-- One row per signed-in browser. The cookie holds a random 256-bit id; only its
-- SHA-256 (hex) is stored, so a copy of this table signs nobody in.
CREATE TABLE staff_sessions (
    id_hash      TEXT NOT NULL PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES staff_accounts (username) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX staff_sessions_by_user ON staff_sessions (username);

-- Who (the authenticated principal, never a name from a request body) did what
-- to which account, token or session.
CREATE TABLE account_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);

-- Web pages (issue #6): clinic staff accounts and API tokens for hospital systems.
-- Times are unix seconds. Only hashes are stored: argon2 PHC strings for
-- passwords, SHA-256 hex for tokens.
CREATE TABLE staff_accounts (
    username        TEXT NOT NULL PRIMARY KEY,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    is_admin        INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_at       INTEGER,
    created_at      INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    token_id    TEXT NOT NULL PRIMARY KEY,
    clinic      TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

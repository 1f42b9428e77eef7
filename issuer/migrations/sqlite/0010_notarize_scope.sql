-- Token scope `notarize`: an archive's token notarises and reads receipts, and
-- issues or reads no credential. SQLite cannot change a CHECK constraint, so the
-- table is rebuilt (nothing references it).
CREATE TABLE api_tokens_with_notarize (
    token_id    TEXT NOT NULL PRIMARY KEY,
    clinic      TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    scope       TEXT NOT NULL DEFAULT 'all' CHECK (scope IN ('issue', 'status', 'notarize', 'all'))
);
INSERT INTO api_tokens_with_notarize (token_id, clinic, token_hash, created_at, revoked_at, scope)
    SELECT token_id, clinic, token_hash, created_at, revoked_at, scope FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_with_notarize RENAME TO api_tokens;

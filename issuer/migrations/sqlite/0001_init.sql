-- Issued credentials and idempotency records (SQLite).
--
-- Timestamps are RFC 3339 text in UTC with exactly six fractional digits
-- (e.g. 2024-05-01T12:00:00.000000Z), written by the application. The fixed
-- width makes text ordering equal to time ordering, which the indexes and
-- range filters rely on.

CREATE TABLE credentials (
    id              TEXT NOT NULL PRIMARY KEY,
    kind            TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    issued_at       TEXT NOT NULL,
    valid_from      TEXT,
    valid_until     TEXT,
    -- The full signed credential, byte for byte as issued (signatures depend on it).
    credential_json TEXT NOT NULL,
    -- Opaque lookup digest; never plain personal data.
    search_digest   TEXT,
    stored_at       TEXT NOT NULL
) STRICT;

CREATE INDEX credentials_issued_at_idx ON credentials (issued_at DESC, id DESC);
CREATE INDEX credentials_kind_issued_at_idx ON credentials (kind, issued_at DESC, id DESC);
CREATE INDEX credentials_search_digest_idx ON credentials (search_digest)
    WHERE search_digest IS NOT NULL;

-- One row per (scope, idempotency key). The primary key is what makes a replayed
-- request store nothing: the record and its credential are written in one transaction.
CREATE TABLE idempotency_records (
    scope           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_digest  TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    -- Deferred so the record can be inserted (claiming the key) before its credential.
    credential_id   TEXT REFERENCES credentials (id) DEFERRABLE INITIALLY DEFERRED,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
) STRICT;

CREATE INDEX idempotency_records_credential_id_idx ON idempotency_records (credential_id)
    WHERE credential_id IS NOT NULL;

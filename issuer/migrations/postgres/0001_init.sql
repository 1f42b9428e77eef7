-- Issued credentials and idempotency records (PostgreSQL).

CREATE TABLE credentials (
    id              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    issued_at       TIMESTAMPTZ NOT NULL,
    valid_from      TIMESTAMPTZ,
    valid_until     TIMESTAMPTZ,
    -- The full signed credential, byte for byte as issued. TEXT rather than JSONB:
    -- JSONB normalises whitespace and key order, which would break signatures.
    credential_json TEXT NOT NULL,
    -- Opaque lookup digest; never plain personal data.
    search_digest   TEXT,
    stored_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT credentials_pkey PRIMARY KEY (id)
);

CREATE INDEX credentials_issued_at_idx ON credentials (issued_at DESC, id DESC);
CREATE INDEX credentials_kind_issued_at_idx ON credentials (kind, issued_at DESC, id DESC);
CREATE INDEX credentials_search_digest_idx ON credentials (search_digest)
    WHERE search_digest IS NOT NULL;

-- One row per (scope, idempotency key). The primary key is what makes a replayed
-- request store nothing: the record and its credential are written in one transaction,
-- and a concurrent request with the same key waits on the uncommitted row.
CREATE TABLE idempotency_records (
    scope           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_digest  TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    -- Deferred so the record can be inserted (claiming the key) before its credential.
    credential_id   TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT idempotency_records_pkey PRIMARY KEY (scope, idempotency_key),
    CONSTRAINT idempotency_records_credential_id_fkey FOREIGN KEY (credential_id)
        REFERENCES credentials (id) DEFERRABLE INITIALLY DEFERRED
);

CREATE INDEX idempotency_records_credential_id_idx ON idempotency_records (credential_id)
    WHERE credential_id IS NOT NULL;

-- The issuance transparency log (PostgreSQL).
--
-- One row per log entry: every issuance and every status change appends one, in
-- the same transaction as the change it records. `seq` is the 0-based leaf index,
-- gap-free: it is assigned as MAX(seq) + 1 under a transaction-scoped advisory lock.
-- `entry` is the canonical `LogEntry::encode` form (digests and event types only, no
-- personal data); `leaf_hash` is SHA-256(0x00 || entry), stored to detect tampering.
CREATE TABLE log_entries (
    seq           BIGINT NOT NULL PRIMARY KEY CHECK (seq >= 0),
    entry         BYTEA NOT NULL,
    leaf_hash     BYTEA NOT NULL CHECK (octet_length(leaf_hash) = 32),
    credential_id TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX log_entries_credential_idx ON log_entries (credential_id, seq);

-- Signed checkpoints (C2SP tlog-checkpoint notes), one per tree size signed.
CREATE TABLE log_checkpoints (
    size       BIGINT NOT NULL PRIMARY KEY CHECK (size >= 0),
    root       BYTEA NOT NULL CHECK (octet_length(root) = 32),
    note_text  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

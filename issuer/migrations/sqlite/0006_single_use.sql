-- Single-use credentials (e-invoices, medical bills): a third status purpose, `used`.
--
-- A credential of a single-use type gets a `used` entry next to its revocation and
-- suspension entries. Marking it used sets that bit once; the event records when,
-- by whom and where (`place`: the reimbursing office). The bit is never cleared.
--
-- SQLite cannot change a CHECK constraint, so the three tables are rebuilt (the
-- documented procedure: the migration runner turns foreign-key enforcement off while
-- migrating and runs `foreign_key_check` before committing).

CREATE TABLE status_lists_new (
    list_id         INTEGER NOT NULL PRIMARY KEY,
    purpose         TEXT NOT NULL CHECK (purpose IN ('revocation', 'suspension', 'used')),
    size_bits       INTEGER NOT NULL CHECK (size_bits >= 131072),
    max_allocations INTEGER NOT NULL CHECK (max_allocations > 0 AND max_allocations <= size_bits),
    allocated       INTEGER NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= max_allocations),
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL
) STRICT;
INSERT INTO status_lists_new (list_id, purpose, size_bits, max_allocations, allocated, version, created_at)
    SELECT list_id, purpose, size_bits, max_allocations, allocated, version, created_at FROM status_lists;

CREATE TABLE status_entries_new (
    list_id       INTEGER NOT NULL REFERENCES status_lists (list_id),
    status_index  INTEGER NOT NULL CHECK (status_index >= 0),
    credential_id TEXT NOT NULL,
    purpose       TEXT NOT NULL CHECK (purpose IN ('revocation', 'suspension', 'used')),
    is_set        INTEGER NOT NULL DEFAULT 0 CHECK (is_set IN (0, 1)),
    allocated_at  TEXT NOT NULL,
    updated_at    TEXT,
    PRIMARY KEY (list_id, status_index),
    UNIQUE (credential_id, purpose)
) STRICT;
INSERT INTO status_entries_new (list_id, status_index, credential_id, purpose, is_set, allocated_at, updated_at)
    SELECT list_id, status_index, credential_id, purpose, is_set, allocated_at, updated_at FROM status_entries;

CREATE TABLE status_events_new (
    event_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    credential_id  TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('revoke', 'suspend', 'reinstate', 'use')),
    previous_state TEXT NOT NULL CHECK (previous_state IN ('active', 'suspended', 'revoked', 'used')),
    new_state      TEXT NOT NULL CHECK (new_state IN ('active', 'suspended', 'revoked', 'used')),
    reason         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    -- Where the change happened: the office that marked a credential used (NULL for
    -- revocations and suspensions, which happen at the issuer).
    place          TEXT
) STRICT;
INSERT INTO status_events_new (event_id, credential_id, action, previous_state, new_state, reason, actor, occurred_at)
    SELECT event_id, credential_id, action, previous_state, new_state, reason, actor, occurred_at FROM status_events;

DROP TABLE status_events;
DROP TABLE status_entries;
DROP TABLE status_lists;
ALTER TABLE status_lists_new RENAME TO status_lists;
ALTER TABLE status_entries_new RENAME TO status_entries;
ALTER TABLE status_events_new RENAME TO status_events;

CREATE INDEX status_lists_purpose_idx ON status_lists (purpose, list_id);
CREATE INDEX status_entries_set_idx ON status_entries (list_id, status_index) WHERE is_set = 1;
CREATE INDEX status_events_credential_idx ON status_events (credential_id, event_id);

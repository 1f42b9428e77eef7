-- Revocation and suspension: W3C Bitstring Status Lists (SQLite).
--
-- The published lists are always derived from these tables: a list credential is
-- built from `status_entries` and cached in `status_list_publications` under the
-- list's `version`, which every status change increments in the same transaction
-- as the change itself. A crash between a change and its publication loses nothing.

-- One row per bitstring, served at `GET /status/{list_id}`.
CREATE TABLE status_lists (
    list_id         INTEGER NOT NULL PRIMARY KEY,
    purpose         TEXT NOT NULL CHECK (purpose IN ('revocation', 'suspension')),
    -- Length of the bitstring; at least 131072 for herd privacy.
    size_bits       INTEGER NOT NULL CHECK (size_bits >= 131072),
    -- How many entries may be handed out before a new list is started.
    max_allocations INTEGER NOT NULL CHECK (max_allocations > 0 AND max_allocations <= size_bits),
    allocated       INTEGER NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= max_allocations),
    -- Incremented by every change to a bit of this list.
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL
) STRICT;

CREATE INDEX status_lists_purpose_idx ON status_lists (purpose, list_id);

-- One row per allocated index. Allocated before the credential is signed (the entry
-- is part of the signed credential), so there is no foreign key to `credentials`.
-- The primary key is what makes an index impossible to hand out twice.
CREATE TABLE status_entries (
    list_id       INTEGER NOT NULL REFERENCES status_lists (list_id),
    status_index  INTEGER NOT NULL CHECK (status_index >= 0),
    credential_id TEXT NOT NULL,
    purpose       TEXT NOT NULL CHECK (purpose IN ('revocation', 'suspension')),
    -- The bit: 1 = revoked (revocation list) or suspended (suspension list).
    is_set        INTEGER NOT NULL DEFAULT 0 CHECK (is_set IN (0, 1)),
    allocated_at  TEXT NOT NULL,
    updated_at    TEXT,
    PRIMARY KEY (list_id, status_index),
    UNIQUE (credential_id, purpose)
) STRICT;

CREATE INDEX status_entries_set_idx ON status_entries (list_id, status_index) WHERE is_set = 1;

-- The audit trail: one row per status change, written in the change's transaction.
CREATE TABLE status_events (
    event_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    credential_id  TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('revoke', 'suspend', 'reinstate')),
    previous_state TEXT NOT NULL CHECK (previous_state IN ('active', 'suspended', 'revoked')),
    new_state      TEXT NOT NULL CHECK (new_state IN ('active', 'suspended', 'revoked')),
    reason         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    occurred_at    TEXT NOT NULL
) STRICT;

CREATE INDEX status_events_credential_idx ON status_events (credential_id, event_id);

-- The signed list credential last published for each list: a cache, rebuilt when its
-- version is behind the list's, when it nears its validUntil, or when the signing key
-- or public URL changed.
CREATE TABLE status_list_publications (
    list_id         INTEGER NOT NULL PRIMARY KEY REFERENCES status_lists (list_id),
    version         INTEGER NOT NULL,
    issuer          TEXT NOT NULL,
    list_url        TEXT NOT NULL,
    credential_json TEXT NOT NULL,
    etag            TEXT NOT NULL,
    valid_until     TEXT NOT NULL,
    published_at    TEXT NOT NULL
) STRICT;

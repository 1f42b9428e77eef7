-- Revocation and suspension: W3C Bitstring Status Lists (PostgreSQL).
--
-- The published lists are always derived from these tables: a list credential is
-- built from `status_entries` and cached in `status_list_publications` under the
-- list's `version`, which every status change increments in the same transaction
-- as the change itself. A crash between a change and its publication loses nothing.

-- One row per bitstring, served at `GET /status/{list_id}`. Allocations lock the
-- row (`FOR UPDATE`), which serialises them per list.
CREATE TABLE status_lists (
    list_id         BIGINT NOT NULL,
    purpose         TEXT NOT NULL,
    -- Length of the bitstring; at least 131072 for herd privacy.
    size_bits       BIGINT NOT NULL,
    -- How many entries may be handed out before a new list is started.
    max_allocations BIGINT NOT NULL,
    allocated       BIGINT NOT NULL DEFAULT 0,
    -- Incremented by every change to a bit of this list.
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT status_lists_pkey PRIMARY KEY (list_id),
    CONSTRAINT status_lists_purpose_check CHECK (purpose IN ('revocation', 'suspension')),
    CONSTRAINT status_lists_size_check CHECK (size_bits >= 131072),
    CONSTRAINT status_lists_max_allocations_check CHECK (max_allocations > 0 AND max_allocations <= size_bits),
    CONSTRAINT status_lists_allocated_check CHECK (allocated >= 0 AND allocated <= max_allocations)
);

CREATE INDEX status_lists_purpose_idx ON status_lists (purpose, list_id);

-- One row per allocated index. Allocated before the credential is signed (the entry
-- is part of the signed credential), so there is no foreign key to `credentials`.
-- The primary key is what makes an index impossible to hand out twice.
CREATE TABLE status_entries (
    list_id       BIGINT NOT NULL,
    status_index  BIGINT NOT NULL,
    credential_id TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    -- The bit: true = revoked (revocation list) or suspended (suspension list).
    is_set        BOOLEAN NOT NULL DEFAULT FALSE,
    allocated_at  TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ,
    CONSTRAINT status_entries_pkey PRIMARY KEY (list_id, status_index),
    CONSTRAINT status_entries_credential_purpose_key UNIQUE (credential_id, purpose),
    CONSTRAINT status_entries_list_id_fkey FOREIGN KEY (list_id) REFERENCES status_lists (list_id),
    CONSTRAINT status_entries_index_check CHECK (status_index >= 0),
    CONSTRAINT status_entries_purpose_check CHECK (purpose IN ('revocation', 'suspension'))
);

CREATE INDEX status_entries_set_idx ON status_entries (list_id, status_index) WHERE is_set;

-- The audit trail: one row per status change, written in the change's transaction.
CREATE TABLE status_events (
    event_id       BIGINT GENERATED ALWAYS AS IDENTITY,
    credential_id  TEXT NOT NULL,
    action         TEXT NOT NULL,
    previous_state TEXT NOT NULL,
    new_state      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT status_events_pkey PRIMARY KEY (event_id),
    CONSTRAINT status_events_action_check CHECK (action IN ('revoke', 'suspend', 'reinstate')),
    CONSTRAINT status_events_previous_state_check CHECK (previous_state IN ('active', 'suspended', 'revoked')),
    CONSTRAINT status_events_new_state_check CHECK (new_state IN ('active', 'suspended', 'revoked'))
);

CREATE INDEX status_events_credential_idx ON status_events (credential_id, event_id);

-- The signed list credential last published for each list: a cache, rebuilt when its
-- version is behind the list's, when it nears its validUntil, or when the signing key
-- or public URL changed.
CREATE TABLE status_list_publications (
    list_id         BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    issuer          TEXT NOT NULL,
    list_url        TEXT NOT NULL,
    -- TEXT, not JSONB: the signed document is served byte for byte.
    credential_json TEXT NOT NULL,
    etag            TEXT NOT NULL,
    valid_until     TIMESTAMPTZ NOT NULL,
    published_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT status_list_publications_pkey PRIMARY KEY (list_id),
    CONSTRAINT status_list_publications_list_id_fkey FOREIGN KEY (list_id) REFERENCES status_lists (list_id)
);

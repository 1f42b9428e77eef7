-- Blockchain anchoring queue (PostgreSQL): one row per signed checkpoint size to anchor.
--
-- state: 'pending' (to send; next_attempt_at is the earliest retry, unix seconds),
-- 'sent' (tx_hash recorded; next_attempt_at is when the tx is resent if it has no
-- receipt), 'confirmed' (block_number/block_time set; never sent again).
-- Times are unix seconds.
CREATE TABLE anchors (
    tree_size       BIGINT NOT NULL PRIMARY KEY CHECK (tree_size >= 0),
    root            BYTEA NOT NULL CHECK (octet_length(root) = 32),
    note_digest     BYTEA NOT NULL CHECK (octet_length(note_digest) = 32),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'confirmed')),
    tx_hash         TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at BIGINT NOT NULL,
    block_number    BIGINT,
    block_time      BIGINT,
    chain_id        BIGINT,
    updated_at      BIGINT NOT NULL
);

CREATE INDEX anchors_state_idx ON anchors (state, next_attempt_at);

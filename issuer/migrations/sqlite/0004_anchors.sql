-- Blockchain anchoring queue (SQLite): one row per signed checkpoint size to anchor.
--
-- state: 'pending' (to send; next_attempt_at is the earliest retry, unix seconds),
-- 'sent' (tx_hash recorded; next_attempt_at is when the tx is resent if it has no
-- receipt), 'confirmed' (block_number/block_time set; never sent again).
-- Times are unix seconds.
CREATE TABLE anchors (
    tree_size       INTEGER NOT NULL PRIMARY KEY CHECK (tree_size >= 0),
    root            BLOB NOT NULL CHECK (length(root) = 32),
    note_digest     BLOB NOT NULL CHECK (length(note_digest) = 32),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'confirmed')),
    tx_hash         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    block_number    INTEGER,
    block_time      INTEGER,
    chain_id        INTEGER,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX anchors_state_idx ON anchors (state, next_attempt_at);

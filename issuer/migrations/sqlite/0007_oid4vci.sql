-- OpenID4VCI pre-authorized code flow (issue #8). Self-contained (0006 is
-- reserved for another branch). Times are unix seconds. Only hashes of the
-- pre-authorized code, the PIN (tx_code) and the access token are stored.
-- request_json (the domain request, personal data) is cleared once the offer
-- is used up, burned or expired.
CREATE TABLE oid4vci_offers (
    offer_id          TEXT NOT NULL PRIMARY KEY,
    code_hash         TEXT NOT NULL UNIQUE,
    tx_code_hash      TEXT,
    configuration_id  TEXT NOT NULL,
    request_json      TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    failed_attempts   INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    state             TEXT NOT NULL DEFAULT 'offered'
                      CHECK (state IN ('offered', 'token_issued', 'burned', 'credential_issued')),
    access_token_hash TEXT UNIQUE,
    token_expires_at  INTEGER,
    credential_id     TEXT
);

-- Key-proof nonces already used (single use), kept until they expire.
CREATE TABLE oid4vci_used_nonces (
    nonce_hash TEXT NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

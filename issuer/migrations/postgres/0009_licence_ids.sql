-- 证照标识 (GB/T 36904-2018, issue #17 item 1): the serial counter per issuing
-- authority (统一社会信用代码) and licence type code, and each credential's
-- identifier, unique, for the staff search.

-- One row per (authority, type code): the last serial handed out. A serial is
-- taken with one upsert (the row is created at 1 or incremented), so two
-- issuances never get the same one; a signing that fails afterwards leaves a gap.
CREATE TABLE licence_serials (
    authority   TEXT NOT NULL,
    type_code   TEXT NOT NULL,
    last_serial BIGINT NOT NULL CHECK (last_serial > 0),
    CONSTRAINT licence_serials_pkey PRIMARY KEY (authority, type_code)
);

-- The full identifier (root.type.authority.serial.version.check) of a credential
-- that carries one; NULL for credentials without.
ALTER TABLE credentials ADD COLUMN licence_id TEXT;
CREATE UNIQUE INDEX credentials_licence_id_idx ON credentials (licence_id) WHERE licence_id IS NOT NULL;

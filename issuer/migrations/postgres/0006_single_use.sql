-- Single-use credentials (e-invoices, medical bills): a third status purpose, `used`.
--
-- A credential of a single-use type gets a `used` entry next to its revocation and
-- suspension entries. Marking it used sets that bit once; the event records when,
-- by whom and where (`place`: the reimbursing office). The bit is never cleared.

ALTER TABLE status_lists DROP CONSTRAINT status_lists_purpose_check;
ALTER TABLE status_lists ADD CONSTRAINT status_lists_purpose_check
    CHECK (purpose IN ('revocation', 'suspension', 'used'));

ALTER TABLE status_entries DROP CONSTRAINT status_entries_purpose_check;
ALTER TABLE status_entries ADD CONSTRAINT status_entries_purpose_check
    CHECK (purpose IN ('revocation', 'suspension', 'used'));

ALTER TABLE status_events DROP CONSTRAINT status_events_action_check;
ALTER TABLE status_events ADD CONSTRAINT status_events_action_check
    CHECK (action IN ('revoke', 'suspend', 'reinstate', 'use'));
ALTER TABLE status_events DROP CONSTRAINT status_events_previous_state_check;
ALTER TABLE status_events ADD CONSTRAINT status_events_previous_state_check
    CHECK (previous_state IN ('active', 'suspended', 'revoked', 'used'));
ALTER TABLE status_events DROP CONSTRAINT status_events_new_state_check;
ALTER TABLE status_events ADD CONSTRAINT status_events_new_state_check
    CHECK (new_state IN ('active', 'suspended', 'revoked', 'used'));

-- Where the change happened: the office that marked a credential used (NULL for
-- revocations and suspensions, which happen at the issuer).
ALTER TABLE status_events ADD COLUMN place TEXT;

-- Token scope `notarize`: an archive's token notarises and reads receipts, and
-- issues or reads no credential.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scope_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scope_check
    CHECK (scope IN ('issue', 'status', 'notarize', 'all'));

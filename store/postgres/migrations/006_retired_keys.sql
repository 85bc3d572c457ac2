-- A key rotated out of signing an account's tokens, kept in the account's
-- JWK set until every token it signed has expired: when it may be deleted.
-- NULL: a key kept until someone deletes it.
ALTER TABLE streamtoken_keys ADD COLUMN IF NOT EXISTS retired timestamptz;

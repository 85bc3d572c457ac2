-- The state of streamtoken's token server, shared by its replicas.

-- Keys created through the keys API: their public halves alone. A key ID
-- names one key, in one account.
CREATE TABLE streamtoken_keys (
    key_id     text PRIMARY KEY,
    account_id text NOT NULL,
    public_jwk text NOT NULL,
    created    timestamptz NOT NULL
);
CREATE INDEX streamtoken_keys_by_account ON streamtoken_keys (account_id, created, key_id);

-- Each account's signing key, generated on its first token: its private
-- half sealed with AES-256-GCM under the key-encryption key, bound to the
-- account and key IDs.
CREATE TABLE streamtoken_account_keys (
    account_id text PRIMARY KEY,
    key_id     text NOT NULL UNIQUE,
    sealed     bytea NOT NULL,
    created    timestamptz NOT NULL
);

-- The details of videos and live inputs changed through the API.
CREATE TABLE streamtoken_media (
    kind       text NOT NULL CHECK (kind IN ('video', 'live_input')),
    account_id text NOT NULL,
    id         text NOT NULL,
    details    jsonb NOT NULL,
    modified   timestamptz NOT NULL,
    PRIMARY KEY (kind, account_id, id)
);

-- What the store itself keeps: a value sealed under the key-encryption
-- key, so that a wrong one is known at start.
CREATE TABLE streamtoken_settings (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

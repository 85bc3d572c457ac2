-- Each account's webhook (the stand-in's): its URL, and its secret sealed
-- under the key-encryption key (AES-256-GCM, bound to the account).
CREATE TABLE IF NOT EXISTS streamtoken_webhooks (
    account_id text PRIMARY KEY,
    url        text NOT NULL,
    secret     bytea NOT NULL,
    modified   timestamptz NOT NULL
);

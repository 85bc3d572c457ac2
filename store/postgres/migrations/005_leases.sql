-- Leases: a name held by one holder until a time, so that of replicas
-- sharing the database one does a periodic job at a time (a gateway's
-- sync of an account's keys at its upstream).
CREATE TABLE IF NOT EXISTS streamtoken_leases (
    name   text PRIMARY KEY,
    holder text NOT NULL,
    until  timestamptz NOT NULL
);

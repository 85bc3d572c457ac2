-- Budgets of requests shared by replicas: a bucket per name, the requests
-- it held at a time (refilled since at the budget's rate).
CREATE TABLE IF NOT EXISTS streamtoken_budgets (
    name text PRIMARY KEY,
    held double precision NOT NULL,
    at   timestamptz NOT NULL
);

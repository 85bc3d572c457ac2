-- What a listing filters media by (and each medium's size, for the
-- bytes each account may keep), read from their details once when they
-- are kept (store.FieldsOf, in Go, so that every store folds names alike;
-- the rows kept before are filled in by the migration's Go step): a
-- filtered listing is a query on indexed columns, not a read of every
-- medium of the account.
ALTER TABLE streamtoken_media
    ADD COLUMN creator    text,
    ADD COLUMN name       text NOT NULL DEFAULT '',
    ADD COLUMN name_fold  text NOT NULL DEFAULT '',
    ADD COLUMN state      text NOT NULL DEFAULT 'ready',
    ADD COLUMN live_input text NOT NULL DEFAULT '',
    ADD COLUMN bytes      integer NOT NULL DEFAULT 0; -- the details' length, for the account's quota
CREATE INDEX streamtoken_media_by_creator ON streamtoken_media (kind, account_id, creator, created, id);
CREATE INDEX streamtoken_media_by_name ON streamtoken_media (kind, account_id, name, created, id);
CREATE INDEX streamtoken_media_by_live_input ON streamtoken_media (kind, account_id, live_input, created, id);
-- A search (a substring of the folded name) is served by a trigram index
-- where pg_trgm can be had (Debian's PostgreSQL has it; it is a trusted
-- extension, which a database's owner may create); without it, a search
-- reads the account's rows, at most 10,000.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available: searches read the account''s rows';
END $$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX streamtoken_media_name_search ON streamtoken_media USING gin (name_fold gin_trgm_ops);
    END IF;
END $$;

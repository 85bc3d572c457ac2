-- When each medium was created, as its details say: the order of a
-- listing. The media kept before this migration were all written with
-- the epoch as their creation time, which the default gives them.
ALTER TABLE streamtoken_media ADD COLUMN created timestamptz NOT NULL DEFAULT 'epoch';
CREATE INDEX streamtoken_media_in_order ON streamtoken_media (kind, account_id, created, id);

-- The media kept before 002 were all given the epoch as their creation
-- time: more of them than a listing's page (1,000) stand at one instant,
-- which no listing can page past. Each is given the time of its last
-- change instead, in the column and in its details alike, so that what a
-- listing answers is what it orders by.
UPDATE streamtoken_media
SET created = modified,
    details = jsonb_set(details, '{created}',
        to_jsonb(to_char(modified AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
WHERE created = 'epoch' AND modified <> 'epoch';

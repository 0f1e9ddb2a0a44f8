-- +goose Up
-- A word's matches among an assistant's conversations, read through the GIN index.
--
-- The planner compares that bitmap scan with a sequential scan of conversation_search, and for
-- a word it expects in many documents it picks the sequential scan: its cost model does not
-- see that each row's tsvector must then be read from TOAST and decompressed (1.9 s for a word
-- in 200,000 of a million conversations, against 0.2 s through the index). A bitmap that does
-- not fit work_mem turns lossy, and every row of a lossy page is checked the same slow way.
-- This function runs its one query with the sequential scan off and room for an exact bitmap
-- (a million documents: about 8 MB). SET clauses hold for the function's call only.
--
-- It answers the number of matches and, when there are at most lim, their row ids
-- (comma-separated): one read of the index gives a search's exact count and the ids its page
-- is read from. Above lim the ids are dropped (collecting them costs about 0.1 µs a match, less
-- than reading the matches a second time to count them; an array costs less than a string).
-- +goose StatementBegin
CREATE FUNCTION search_ids(a uuid, q tsquery, lim bigint, OUT n bigint, OUT ids text)
LANGUAGE sql STABLE
SET enable_seqscan = off SET work_mem = '32MB' SET search_path FROM CURRENT
AS $$
SELECT count(*), CASE WHEN count(*) <= lim THEN coalesce(array_to_string(array_agg(conversation_rid), ','), '') END
FROM conversation_search WHERE assistant_id = a AND tsv @@ q
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION search_ids(uuid, tsquery, bigint);

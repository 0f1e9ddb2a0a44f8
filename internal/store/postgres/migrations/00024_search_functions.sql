-- +goose Up
-- A word's matches among an assistant's conversations, read through the GIN index.
--
-- The planner compares that bitmap scan with a sequential scan of conversation_search, and for
-- a word it expects in many documents it picks the sequential scan: its cost model does not
-- see that each row's tsvector must then be read from TOAST and decompressed (1.9 s for a word
-- in 200,000 of a million conversations, against 0.2 s through the index). A bitmap that does
-- not fit work_mem turns lossy, and every row of a lossy page is checked the same slow way.
-- These functions run their one query with the sequential scan off and room for an exact
-- bitmap (a million documents: about 8 MB). SET clauses hold for the function's call only.

-- +goose StatementBegin
CREATE FUNCTION search_count(a uuid, q tsquery) RETURNS bigint
LANGUAGE sql STABLE
SET enable_seqscan = off SET work_mem = '32MB' SET search_path FROM CURRENT
AS $$ SELECT count(*) FROM conversation_search WHERE assistant_id = a AND tsv @@ q $$;
-- +goose StatementEnd

-- The row ids of the matches, at most lim of them (the caller asks for one more than it will
-- use, to know whether there were more).
-- +goose StatementBegin
CREATE FUNCTION search_rids(a uuid, q tsquery, lim bigint) RETURNS SETOF bigint
LANGUAGE sql STABLE ROWS 1000
SET enable_seqscan = off SET work_mem = '32MB' SET search_path FROM CURRENT
AS $$ SELECT conversation_rid FROM conversation_search WHERE assistant_id = a AND tsv @@ q LIMIT lim $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION search_rids(uuid, tsquery, bigint);
DROP FUNCTION search_count(uuid, tsquery);

-- +goose Up
-- The search document's tsvector was a generated column: every update of the row (a message's
-- text appended, a title set by the analysis) parsed the whole document again, and the new
-- tsvector made the update non-HOT, so every lexeme went into the GIN index again. It is now a
-- plain column that the store's statements keep equal to to_tsvector('simple', meta || ' ' ||
-- body): an appended message adds its own tsvector (tsvector concatenation offsets positions as
-- the parse of the whole would), and new conversation fields whose words are already in the
-- body, in the same order, leave it as it is (postgres.go, searchMetaTSV). Rows keep 10% of each
-- new page free so that such an update can stay on its page (HOT: no index entries).
ALTER TABLE conversation_search ALTER COLUMN tsv DROP EXPRESSION;
ALTER TABLE conversation_search SET (fillfactor = 90);

-- +goose Down
ALTER TABLE conversation_search RESET (fillfactor);
ALTER TABLE conversation_search DROP COLUMN tsv;
ALTER TABLE conversation_search ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', meta || ' ' || body)) STORED;
CREATE INDEX conversation_search_tsv ON conversation_search USING gin (tsv);
ALTER INDEX conversation_search_tsv SET (gin_pending_list_limit = 256);

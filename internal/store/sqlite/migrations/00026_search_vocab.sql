-- +goose Up
-- The words of the search index, for restating a prefix as the words it starts (a common
-- word's page checks conversations one by one, and FTS5 would merge every word a prefix
-- starts for each). A view of the index: it stores nothing.
CREATE VIRTUAL TABLE conversation_search_vocab USING fts5vocab(conversation_search, 'row');

-- +goose Down
DROP TABLE conversation_search_vocab;

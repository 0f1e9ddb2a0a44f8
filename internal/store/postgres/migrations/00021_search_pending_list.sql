-- +goose Up
-- Every search scans the GIN index's pending list (recent insertions kept unsorted until a
-- vacuum or a full list merges them in). At the default 4 MB a search can read 500 pages of
-- it; 256 kB bounds that to 32, at the cost of merging more often while writing.
ALTER INDEX conversation_search_tsv SET (gin_pending_list_limit = 256);

-- +goose Down
ALTER INDEX conversation_search_tsv RESET (gin_pending_list_limit);

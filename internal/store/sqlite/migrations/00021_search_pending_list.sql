-- +goose Up
-- PostgreSQL bounds its search index's pending list in this version; SQLite's FTS5 index has
-- nothing like it.
SELECT 1;

-- +goose Down
SELECT 1;

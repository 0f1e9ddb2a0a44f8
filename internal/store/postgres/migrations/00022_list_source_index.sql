-- +goose Up
-- SQLite adds an index for a channel with a date range in this version; PostgreSQL's
-- index-only scan of the date-led index (00020) answers that in a few milliseconds.
SELECT 1;

-- +goose Down
SELECT 1;

-- +goose Up
-- A channel and a creation date range, the inbox's most common filters, read from an index
-- range of that channel alone (with the date-led index the range holds every channel, which
-- SQLite reads at about 1 µs an entry).
CREATE INDEX conversations_source_created ON conversations (assistant_id, source, created_at, resolution_status,
    assignee_type, sentiment, most_frequent_language, last_message_at);

-- +goose Down
DROP INDEX conversations_source_created;

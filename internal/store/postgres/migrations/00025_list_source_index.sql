-- +goose Up
-- A channel and a creation date range, the inbox's most common filters, from an index range
-- of that channel alone. The date-led index (00020) holds every channel in the range: at a
-- million conversations a 30-day range is about 40,000 entries, read twice (the exact count,
-- then the page), 24 ms; this range holds that channel's fifth of them. The same columns as
-- the date-led index's, so that the count and the page of such a filter stay index-only.
CREATE INDEX conversations_source_created ON conversations (assistant_id, source, created_at, rid)
    INCLUDE (resolution_status, assignee_type, sentiment, most_frequent_language, is_flagged,
             has_unread_messages, terminated, last_message_at);

-- +goose Down
DROP INDEX conversations_source_created;

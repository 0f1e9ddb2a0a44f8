-- +goose Up
-- The inbox's topic filter. No index had topic: counting one topic's conversations read the
-- whole table (3.7 s at 1M conversations on SQLite, for a topic with none), and so did the
-- list when few matched. Topic and status change with analyses and resolutions, not with each
-- message, so this index costs little to keep.
CREATE INDEX conversations_topic ON conversations (assistant_id, topic, resolution_status);

-- +goose Down
DROP INDEX conversations_topic;

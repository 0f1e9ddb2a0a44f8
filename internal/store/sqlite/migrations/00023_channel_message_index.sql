-- +goose Up
-- Channels find a message by its platform id (an edit or a deletion names only that) among an
-- assistant's conversations. 00010 indexed every event with an external id by assistant, so
-- each imported message was an insert at a random place of a large index (a page written per
-- message on a bulk import). Only messages that came in from a platform need it: they are
-- marked, and the index holds them alone.
ALTER TABLE events ADD COLUMN from_channel INTEGER NOT NULL DEFAULT 0;
UPDATE events SET from_channel = 1
WHERE external_id IS NOT NULL AND type = 'message'
  AND conversation_rid IN (SELECT rid FROM conversations WHERE source IN ('telegram', 'slack', 'whatsapp'));
DROP INDEX events_assistant_external;
CREATE INDEX events_channel_external ON events (assistant_id, external_id) WHERE from_channel = 1;

-- +goose Down
DROP INDEX events_channel_external;
CREATE INDEX events_assistant_external ON events (assistant_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE events DROP COLUMN from_channel;

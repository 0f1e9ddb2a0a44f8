-- +goose Up
-- Channels find a message by the platform's id (an edit or a deletion names it) among all of
-- an assistant's conversations of one source, not only the one that holds the chat now.
CREATE INDEX events_assistant_external ON events (assistant_id, external_id) WHERE external_id IS NOT NULL;

-- +goose Down
DROP INDEX events_assistant_external;

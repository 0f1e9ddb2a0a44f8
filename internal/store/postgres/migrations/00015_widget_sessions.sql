-- +goose Up
-- Web widget visitors: one session per visitor and conversation. The browser keeps the secret,
-- this table only its SHA-256 hash. A session goes with its conversation.
CREATE TABLE widget_sessions (
    id               uuid PRIMARY KEY,
    assistant_id     uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    conversation_rid bigint NOT NULL REFERENCES conversations (rid) ON DELETE CASCADE,
    token_hash       bytea NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL
);
CREATE INDEX widget_sessions_conversation ON widget_sessions (conversation_rid);

-- +goose Down
DROP TABLE widget_sessions;

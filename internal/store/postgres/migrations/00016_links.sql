-- +goose Up
-- Tracked links: a URL of an assistant's or operator's message, served as /l/{id}. The id is a
-- random token (128 bits, base64url); only URLs stored here are ever redirected to. A link goes
-- with its conversation.
CREATE TABLE links (
    id               text PRIMARY KEY,
    assistant_id     uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    conversation_rid bigint NOT NULL REFERENCES conversations (rid) ON DELETE CASCADE,
    message_id       uuid NOT NULL,
    url              text NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX links_conversation ON links (conversation_rid);

-- +goose Down
DROP TABLE links;

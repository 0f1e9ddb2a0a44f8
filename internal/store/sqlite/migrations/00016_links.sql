-- +goose Up
-- Tracked links: a URL of an assistant's or operator's message, served as /l/{id}. The id is a
-- random token (128 bits, base64url); only URLs stored here are ever redirected to. A link goes
-- with its conversation.
CREATE TABLE links (
    id               TEXT PRIMARY KEY,
    assistant_id     TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    conversation_rid INTEGER NOT NULL REFERENCES conversations (rid) ON DELETE CASCADE,
    message_id       TEXT NOT NULL,
    url              TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX links_conversation ON links (conversation_rid);

-- +goose Down
DROP TABLE links;

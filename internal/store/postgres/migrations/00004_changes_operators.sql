-- +goose Up
-- The change log: one row per change, written in the change's transaction; webhooks and the
-- live stream read it in seq order.
CREATE TABLE changes (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistant_id    uuid NOT NULL,
    conversation_id uuid NOT NULL,
    type            text NOT NULL,
    actor           jsonb NOT NULL,
    event_id        uuid,
    fields          jsonb,
    created_at      timestamptz NOT NULL
);
CREATE INDEX changes_assistant ON changes (assistant_id, seq);
CREATE INDEX changes_created ON changes (created_at);

ALTER TABLE conversations ADD COLUMN rating jsonb;

-- Operators are people: they sign in once and belong to one or more assistants.
CREATE TABLE operators (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    email         text NOT NULL UNIQUE,
    password_hash text,
    created_at    timestamptz NOT NULL
);
CREATE TABLE operator_assistants (
    operator_id  uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    assistant_id uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    role         text NOT NULL DEFAULT 'operator',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (operator_id, assistant_id)
);
CREATE INDEX operator_assistants_assistant ON operator_assistants (assistant_id);
CREATE INDEX conversations_assignee ON conversations (assistant_id, assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX conversations_open_idle ON conversations (resolution_status, last_message_at);

-- +goose Down
DROP INDEX conversations_open_idle;
DROP INDEX conversations_assignee;
DROP TABLE operator_assistants;
DROP TABLE operators;
ALTER TABLE conversations DROP COLUMN rating;
DROP TABLE changes;

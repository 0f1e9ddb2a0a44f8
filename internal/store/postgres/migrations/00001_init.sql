-- +goose Up
CREATE TABLE assistants (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    next_ord   bigint NOT NULL DEFAULT 0,
    settings   jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE tokens (
    id           uuid PRIMARY KEY,
    assistant_id uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    name         text NOT NULL,
    scope        text NOT NULL,
    hash         bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX tokens_assistant ON tokens (assistant_id, created_at);

CREATE TABLE conversations (
    rid                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                      uuid NOT NULL UNIQUE,
    assistant_id            uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    ord                     bigint NOT NULL,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    last_message_at         timestamptz NOT NULL,
    title                   text,
    source                  text NOT NULL,
    terminated              boolean NOT NULL DEFAULT false,
    resolution_status       text NOT NULL,
    has_unread_messages     boolean NOT NULL DEFAULT false,
    last_message_content    text NOT NULL DEFAULT '',
    most_frequent_language  text,
    assignee_type           text NOT NULL,
    assignee_id             text,
    assignee_name           text,
    visitor_name            text,
    visitor_email           text,
    visitor_phone_number    text,
    visitor_label           text,
    url                     text,
    client_metadata         jsonb,
    last_visitor_message_at timestamptz,
    unified_analysis        jsonb,
    sentiment               text,
    topic                   text,
    is_flagged              boolean NOT NULL DEFAULT false,
    external_id             text,
    version                 bigint NOT NULL,
    event_count             bigint NOT NULL DEFAULT 0,
    message_count           bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX conversations_ord ON conversations (assistant_id, ord);
CREATE UNIQUE INDEX conversations_external ON conversations (assistant_id, source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX conversations_last ON conversations (assistant_id, last_message_at, rid);
CREATE INDEX conversations_created ON conversations (assistant_id, created_at, rid);

CREATE TABLE events (
    rid              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               uuid NOT NULL UNIQUE,
    conversation_rid bigint NOT NULL REFERENCES conversations (rid) ON DELETE CASCADE,
    assistant_id     uuid NOT NULL,
    ord              bigint NOT NULL,
    type             text NOT NULL,
    created_at       timestamptz NOT NULL,
    external_id      text,
    data             jsonb NOT NULL
);
CREATE UNIQUE INDEX events_ord ON events (conversation_rid, ord);
CREATE UNIQUE INDEX events_external ON events (conversation_rid, external_id) WHERE external_id IS NOT NULL;

-- One search document per conversation, holding text that Go has already normalized (lower
-- case, accents folded, punctuation split), so that both engines index the same tokens.
CREATE TABLE conversation_search (
    conversation_rid bigint PRIMARY KEY REFERENCES conversations (rid) ON DELETE CASCADE,
    assistant_id     uuid NOT NULL,
    meta             text NOT NULL DEFAULT '',
    body             text NOT NULL DEFAULT '',
    tsv              tsvector GENERATED ALWAYS AS (to_tsvector('simple', meta || ' ' || body)) STORED
);
CREATE INDEX conversation_search_tsv ON conversation_search USING gin (tsv);

-- +goose Down
DROP TABLE conversation_search;
DROP TABLE events;
DROP TABLE conversations;
DROP TABLE tokens;
DROP TABLE assistants;

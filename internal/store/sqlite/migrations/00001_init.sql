-- +goose Up
-- Times are integer microseconds since the Unix epoch (UTC). JSON columns hold text.
CREATE TABLE assistants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    next_ord   INTEGER NOT NULL DEFAULT 0,
    settings   TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    assistant_id TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX tokens_assistant ON tokens (assistant_id, created_at);

CREATE TABLE conversations (
    rid                     INTEGER PRIMARY KEY,
    id                      TEXT NOT NULL UNIQUE,
    assistant_id            TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    ord                     INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    last_message_at         INTEGER NOT NULL,
    title                   TEXT,
    source                  TEXT NOT NULL,
    terminated              INTEGER NOT NULL DEFAULT 0,
    resolution_status       TEXT NOT NULL,
    has_unread_messages     INTEGER NOT NULL DEFAULT 0,
    last_message_content    TEXT NOT NULL DEFAULT '',
    most_frequent_language  TEXT,
    assignee_type           TEXT NOT NULL,
    assignee_id             TEXT,
    assignee_name           TEXT,
    visitor_name            TEXT,
    visitor_email           TEXT,
    visitor_phone_number    TEXT,
    visitor_label           TEXT,
    url                     TEXT,
    client_metadata         TEXT,
    last_visitor_message_at INTEGER,
    unified_analysis        TEXT,
    sentiment               TEXT,
    topic                   TEXT,
    is_flagged              INTEGER NOT NULL DEFAULT 0,
    external_id             TEXT,
    version                 INTEGER NOT NULL,
    event_count             INTEGER NOT NULL DEFAULT 0,
    message_count           INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX conversations_ord ON conversations (assistant_id, ord);
CREATE UNIQUE INDEX conversations_external ON conversations (assistant_id, source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX conversations_last ON conversations (assistant_id, last_message_at, rid);
CREATE INDEX conversations_created ON conversations (assistant_id, created_at, rid);

CREATE TABLE events (
    rid              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    conversation_rid INTEGER NOT NULL REFERENCES conversations (rid) ON DELETE CASCADE,
    assistant_id     TEXT NOT NULL,
    ord              INTEGER NOT NULL,
    type             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    external_id      TEXT,
    data             TEXT NOT NULL
);
CREATE UNIQUE INDEX events_ord ON events (conversation_rid, ord);
CREATE UNIQUE INDEX events_external ON events (conversation_rid, external_id) WHERE external_id IS NOT NULL;

-- One search document per conversation (rowid = conversations.rid), holding text that Go has
-- already normalized (lower case, accents folded, punctuation split), so that both engines
-- index the same tokens.
CREATE VIRTUAL TABLE conversation_search USING fts5 (meta, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 4');

-- +goose Down
DROP TABLE conversation_search;
DROP TABLE events;
DROP TABLE conversations;
DROP TABLE tokens;
DROP TABLE assistants;

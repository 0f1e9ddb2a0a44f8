-- +goose Up
-- Outbound webhooks. An endpoint reads its assistant's change log from `change_cursor` (the last seq
-- it has queued) and queues one delivery per change it wants; the deliveries table is the
-- outbox the dispatcher claims from, and the record of every endpoint's deliveries.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    assistant_id    TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    event_types     TEXT NOT NULL DEFAULT '[]',
    secret          TEXT NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    disabled_at     INTEGER,
    change_cursor   INTEGER NOT NULL DEFAULT 0,
    last_success_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_assistant ON webhook_endpoints (assistant_id, created_at);

-- One row per (endpoint, change): a copy of the change (the log is pruned), the state of its
-- delivery and the body as first sent (retries send the same bytes).
CREATE TABLE webhook_deliveries (
    rid              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    assistant_id     TEXT NOT NULL,
    change_seq       INTEGER NOT NULL,
    conversation_id  TEXT NOT NULL,
    type             TEXT NOT NULL,
    actor            TEXT NOT NULL,
    event_id         TEXT,
    fields           TEXT,
    change_at        INTEGER NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    first_attempt_at INTEGER,
    last_attempt_at  INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    body             TEXT,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER,
    UNIQUE (endpoint_id, change_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, change_seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_head ON webhook_deliveries (endpoint_id, conversation_id, change_seq) WHERE state = 'pending';
-- Deliveries in flight (leased), counted per endpoint to cap its share of the senders.
CREATE INDEX webhook_deliveries_inflight ON webhook_deliveries (endpoint_id, locked_until) WHERE state = 'pending' AND locked_until IS NOT NULL;
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (completed_at) WHERE state <> 'pending';

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;

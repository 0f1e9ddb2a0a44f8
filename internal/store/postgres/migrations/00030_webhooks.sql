-- +goose Up
-- Outbound webhooks. An endpoint reads its assistant's change log from `change_cursor` (the last seq
-- it has queued) and queues one delivery per change it wants; the deliveries table is the
-- outbox the dispatcher claims from, and the record of every endpoint's deliveries.
CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    assistant_id    uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    url             text NOT NULL,
    description     text NOT NULL DEFAULT '',
    event_types     jsonb NOT NULL DEFAULT '[]',
    secret          text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    disabled_at     timestamptz,
    change_cursor   bigint NOT NULL DEFAULT 0,
    last_success_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_assistant ON webhook_endpoints (assistant_id, created_at);

-- One row per (endpoint, change): a copy of the change (the log is pruned), the state of its
-- delivery and the body as first sent (retries send the same bytes).
CREATE TABLE webhook_deliveries (
    rid              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               uuid NOT NULL UNIQUE,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    assistant_id     uuid NOT NULL,
    change_seq       bigint NOT NULL,
    conversation_id  uuid NOT NULL,
    type             text NOT NULL,
    actor            jsonb NOT NULL,
    event_id         uuid,
    fields           jsonb,
    change_at        timestamptz NOT NULL,
    state            text NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    locked_until     timestamptz,
    first_attempt_at timestamptz,
    last_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    body             text,
    created_at       timestamptz NOT NULL,
    completed_at     timestamptz,
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

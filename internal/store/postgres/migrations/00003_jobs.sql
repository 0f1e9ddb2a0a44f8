-- +goose Up
-- Durable background work. A job with a key is coalesced: while one is pending for (kind, key),
-- enqueueing again only moves its run time (never past its deadline).
CREATE TABLE jobs (
    rid          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL,
    key          text NOT NULL,
    assistant_id uuid NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    state        text NOT NULL DEFAULT 'pending',
    run_at       timestamptz NOT NULL,
    deadline     timestamptz NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX jobs_pending_key ON jobs (kind, key) WHERE state = 'pending';
CREATE INDEX jobs_due ON jobs (state, run_at);

-- +goose Down
DROP TABLE jobs;

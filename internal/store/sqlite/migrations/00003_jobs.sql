-- +goose Up
-- Durable background work. A job with a key is coalesced: while one is pending for (kind, key),
-- enqueueing again only moves its run time (never past its deadline).
CREATE TABLE jobs (
    rid          INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    assistant_id TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'pending', -- pending, running, failed
    run_at       INTEGER NOT NULL,
    deadline     INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_pending_key ON jobs (kind, key) WHERE state = 'pending';
CREATE INDEX jobs_due ON jobs (state, run_at);

-- +goose Down
DROP TABLE jobs;

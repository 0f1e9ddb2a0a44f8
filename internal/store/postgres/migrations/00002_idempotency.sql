-- +goose Up
-- Responses of writes sent with an Idempotency-Key, replayed to retries for 24 hours.
CREATE TABLE idempotency_keys (
    assistant_id uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    status       integer NOT NULL,
    body         bytea,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (assistant_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;

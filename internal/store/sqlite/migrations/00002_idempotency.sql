-- +goose Up
-- Responses of writes sent with an Idempotency-Key, replayed to retries for 24 hours.
CREATE TABLE idempotency_keys (
    assistant_id TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (assistant_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;

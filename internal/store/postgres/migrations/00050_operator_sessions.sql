-- +goose Up
-- Dashboard sign-ins: one row per signed-in browser. The browser keeps the secret (a cookie),
-- this table only its SHA-256 hash. A session ends when idle too long (last_seen_at), at its
-- absolute expiry (expires_at), on sign-out, or with its operator.
CREATE TABLE operator_sessions (
    id           uuid PRIMARY KEY,
    operator_id  uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);
CREATE INDEX operator_sessions_expires ON operator_sessions (expires_at);

-- The inbox's Open and Closed views: newest message first within one status.
CREATE INDEX conversations_status_last ON conversations (assistant_id, resolution_status, last_message_at, rid);

-- +goose Down
DROP INDEX conversations_status_last;
DROP TABLE operator_sessions;

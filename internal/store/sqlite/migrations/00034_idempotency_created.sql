-- +goose Up
-- Keys are pruned by age (PruneIdempotencyKeys): by claim time, without reading the others.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP INDEX idempotency_keys_created;

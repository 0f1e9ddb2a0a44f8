-- +goose Up
-- Delivery claims read the due deliveries of the endpoints that can take one, endpoint by
-- endpoint (Dialect.EndpointDue). By due time alone a claim walked past every due delivery
-- of a disabled endpoint, or of one at its in-flight cap, each time: with 250,000 of them,
-- 943 ms a claim.
CREATE INDEX webhook_deliveries_endpoint_due ON webhook_deliveries (endpoint_id, next_attempt_at, change_seq) WHERE state = 'pending';
DROP INDEX webhook_deliveries_due;

-- +goose Down
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, change_seq) WHERE state = 'pending';
DROP INDEX webhook_deliveries_endpoint_due;

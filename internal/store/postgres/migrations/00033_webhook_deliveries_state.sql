-- +goose Up
-- An endpoint's finished deliveries by state (the failed ones, the succeeded ones), newest
-- first, and their count. By (endpoint_id, change_seq) alone both read every delivery the
-- endpoint kept (30 days by default): 37 ms to count the failed ones among 200,000 on SQLite,
-- growing with the endpoint's traffic. Partial: with pending rows in it, SQLite took it for the
-- claims' look-ups of an (endpoint, conversation)'s pending head and read every pending
-- delivery of the endpoint instead. WebhookDeliveries says "state <> 'pending'" to use it.
CREATE INDEX webhook_deliveries_state ON webhook_deliveries (endpoint_id, state, change_seq) WHERE state <> 'pending';

-- +goose Down
DROP INDEX webhook_deliveries_state;

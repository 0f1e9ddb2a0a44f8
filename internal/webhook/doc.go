// Package webhook delivers an assistant's changes to the HTTP endpoints it registered: signed,
// at least once, in order per conversation, retried with backoff for a day, from a durable
// outbox. It also renders the event body that webhooks and the live stream share.
//
// Design: a per-endpoint cursor on the change log, materialized into a deliveries outbox.
//
//   - The change log is written in the same transaction as every change, and its seq order is
//     the commit order per assistant (sqlstore.flushChanges), so following it by seq never
//     steps over a change that commits late.
//   - Each endpoint keeps a cursor on its assistant's log. The dispatcher moves the cursors
//     forward (the endpoint row locked, SKIP LOCKED on PostgreSQL) and inserts one delivery
//     row per (endpoint, change) the endpoint wants, unique on (endpoint, change): that table
//     is the outbox, the retry state and the deliveries list in one. The log is pruned only
//     behind every enabled endpoint's cursor.
//   - Order: only the oldest pending delivery of a conversation for an endpoint (its head) is
//     ever due. Later ones are queued "parked" and made due when the head succeeds or fails
//     for good, so a failing delivery holds back its conversation only, and claims scan heads,
//     not backlogs.
//   - Claims take due heads with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one
//     writer), so several processes never send one delivery at once; a sender that dies
//     leaves its lease to run out. Each attempt is recorded on the delivery (attempts, last
//     status and error, times); the first attempt's body is kept, so retries and manual
//     redeliveries send the same bytes.
package webhook

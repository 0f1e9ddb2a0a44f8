-- +goose Up
-- The inbox's Unassigned view (open and unassigned, newest message first) and the assignee
-- filter. No index had assignee_type near its front: SQLite walked every conversation of the
-- assistant and sorted what matched (170 ms at 1M conversations with none unassigned, on each
-- load of the tab). By (assignee type, status) the view reads only its own rows, in order.
CREATE INDEX conversations_assignee_type ON conversations (assistant_id, assignee_type, resolution_status, last_message_at, rid);

-- +goose Down
DROP INDEX conversations_assignee_type;

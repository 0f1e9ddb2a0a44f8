-- +goose Up
-- Analytics (GET /v1/api_core/analytics) without reading events, or every conversation, at
-- query time.
--
-- 1. Counters on each conversation, kept by the store in the transaction that adds the event:
--    handoff_count: events that show a human was asked for or took part: handoff log events
--      towards a human (handoff_state requested or accepted), messages whose handoff_state is
--      requested or accepted, and messages by a human operator;
--    link_clicks: tracked_link events.
ALTER TABLE conversations ADD COLUMN handoff_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN link_clicks INTEGER NOT NULL DEFAULT 0;

UPDATE conversations SET
    handoff_count = (SELECT count(*) FROM events e WHERE e.conversation_rid = conversations.rid AND (
        (e.type = 'log' AND json_extract(e.data, '$.kind') = 'handoff'
            AND json_extract(e.data, '$.details.handoff_state') IN ('requested', 'accepted'))
        OR (e.type = 'message' AND (json_extract(e.data, '$.author') = 'human_operator'
            OR json_extract(e.data, '$.handoff_state') IN ('requested', 'accepted'))))),
    link_clicks = (SELECT count(*) FROM events e WHERE e.conversation_rid = conversations.rid AND e.type = 'tracked_link');

-- 2. Rollups: the counts of an assistant's conversations by UTC creation day and by the
--    dimensions analytics group and filter by: conversation_rollups by every dimension but the
--    topic (whose values may be many: labels derived from the text), topic_rollups by the
--    topic. Missing values are '' (so that the keys are unique). Triggers keep them, whatever
--    code changes a conversation; analytics read them when the query's filters and dimensions
--    are all in one's key, and the conversations otherwise.
--    handed_off: handoff_count > 0, or a human operator holds the conversation.
CREATE TABLE conversation_rollups (
    assistant_id      TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    day               INTEGER NOT NULL, -- days since 1970-01-01, UTC
    source            TEXT NOT NULL,
    sentiment         TEXT NOT NULL,
    language          TEXT NOT NULL,
    assignee_type     TEXT NOT NULL,
    resolution_status TEXT NOT NULL,
    is_flagged        INTEGER NOT NULL,
    conversations     INTEGER NOT NULL,
    messages          INTEGER NOT NULL,
    handed_off        INTEGER NOT NULL,
    link_clicks       INTEGER NOT NULL,
    PRIMARY KEY (assistant_id, day, source, sentiment, language, assignee_type, resolution_status, is_flagged)
) WITHOUT ROWID;

CREATE TABLE topic_rollups (
    assistant_id  TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    day           INTEGER NOT NULL,
    topic         TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    messages      INTEGER NOT NULL,
    handed_off    INTEGER NOT NULL,
    flagged       INTEGER NOT NULL,
    link_clicks   INTEGER NOT NULL,
    PRIMARY KEY (assistant_id, day, topic)
) WITHOUT ROWID;

INSERT INTO conversation_rollups
SELECT c.assistant_id, (c.created_at + 86400000000000000) / 86400000000 - 1000000, c.source, COALESCE(c.sentiment, ''), COALESCE(c.most_frequent_language, ''), c.assignee_type, c.resolution_status, c.is_flagged, count(*), sum(c.message_count), sum(CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), sum(c.link_clicks)
FROM conversations c GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO topic_rollups
SELECT c.assistant_id, (c.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(c.topic, ''), count(*), sum(c.message_count), sum(CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), sum(CASE WHEN c.is_flagged THEN 1 ELSE 0 END), sum(c.link_clicks)
FROM conversations c GROUP BY 1, 2, 3;

-- +goose StatementBegin
CREATE TRIGGER conversation_rollups_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversation_rollups VALUES (NEW.assistant_id, (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.source, COALESCE(NEW.sentiment, ''), COALESCE(NEW.most_frequent_language, ''), NEW.assignee_type, NEW.resolution_status, NEW.is_flagged,
        1, NEW.message_count, CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END, NEW.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, link_clicks = link_clicks + excluded.link_clicks;
    INSERT INTO topic_rollups VALUES (NEW.assistant_id, (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.topic, ''),
        1, NEW.message_count, CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END, CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END, NEW.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, flagged = flagged + excluded.flagged, link_clicks = link_clicks + excluded.link_clicks;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER conversation_rollups_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversation_rollups VALUES (OLD.assistant_id, (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.source, COALESCE(OLD.sentiment, ''), COALESCE(OLD.most_frequent_language, ''), OLD.assignee_type, OLD.resolution_status, OLD.is_flagged,
        -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -OLD.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, link_clicks = link_clicks + excluded.link_clicks;
    INSERT INTO topic_rollups VALUES (OLD.assistant_id, (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(OLD.topic, ''),
        -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, flagged = flagged + excluded.flagged, link_clicks = link_clicks + excluded.link_clicks;
END;
-- +goose StatementEnd

-- An update that keeps a rollup's key only moves the counters of its row: one upsert; one that
-- changes the key moves the conversation from one row to another.
-- +goose StatementBegin
CREATE TRIGGER conversation_rollups_update_counts AFTER UPDATE ON conversations
WHEN OLD.assistant_id IS NEW.assistant_id AND OLD.created_at IS NEW.created_at AND OLD.source IS NEW.source AND OLD.sentiment IS NEW.sentiment AND OLD.most_frequent_language IS NEW.most_frequent_language AND OLD.assignee_type IS NEW.assignee_type AND OLD.resolution_status IS NEW.resolution_status AND OLD.is_flagged IS NEW.is_flagged
    AND (OLD.message_count IS NOT NEW.message_count OR OLD.link_clicks IS NOT NEW.link_clicks
        OR (OLD.handoff_count > 0) IS NOT (NEW.handoff_count > 0))
BEGIN
    INSERT INTO conversation_rollups VALUES (NEW.assistant_id, (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.source, COALESCE(NEW.sentiment, ''), COALESCE(NEW.most_frequent_language, ''), NEW.assignee_type, NEW.resolution_status, NEW.is_flagged,
        0, NEW.message_count - OLD.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), NEW.link_clicks - OLD.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, link_clicks = link_clicks + excluded.link_clicks;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER conversation_rollups_update_key AFTER UPDATE ON conversations
WHEN OLD.assistant_id IS NOT NEW.assistant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.source IS NOT NEW.source OR OLD.sentiment IS NOT NEW.sentiment OR OLD.most_frequent_language IS NOT NEW.most_frequent_language OR OLD.assignee_type IS NOT NEW.assignee_type OR OLD.resolution_status IS NOT NEW.resolution_status OR OLD.is_flagged IS NOT NEW.is_flagged
BEGIN
    INSERT INTO conversation_rollups VALUES (OLD.assistant_id, (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.source, COALESCE(OLD.sentiment, ''), COALESCE(OLD.most_frequent_language, ''), OLD.assignee_type, OLD.resolution_status, OLD.is_flagged,
        -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -OLD.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, link_clicks = link_clicks + excluded.link_clicks;
    INSERT INTO conversation_rollups VALUES (NEW.assistant_id, (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.source, COALESCE(NEW.sentiment, ''), COALESCE(NEW.most_frequent_language, ''), NEW.assignee_type, NEW.resolution_status, NEW.is_flagged,
        1, NEW.message_count, CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END, NEW.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, link_clicks = link_clicks + excluded.link_clicks;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER topic_rollups_update_counts AFTER UPDATE ON conversations
WHEN OLD.assistant_id IS NEW.assistant_id AND OLD.created_at IS NEW.created_at AND OLD.topic IS NEW.topic
    AND (OLD.message_count IS NOT NEW.message_count OR OLD.link_clicks IS NOT NEW.link_clicks OR OLD.is_flagged IS NOT NEW.is_flagged
        OR (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END) IS NOT (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END))
BEGIN
    INSERT INTO topic_rollups VALUES (NEW.assistant_id, (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.topic, ''),
        0, NEW.message_count - OLD.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END),
        (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END) - (CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks - OLD.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, flagged = flagged + excluded.flagged, link_clicks = link_clicks + excluded.link_clicks;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER topic_rollups_update_key AFTER UPDATE ON conversations
WHEN OLD.assistant_id IS NOT NEW.assistant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.topic IS NOT NEW.topic
BEGIN
    INSERT INTO topic_rollups VALUES (OLD.assistant_id, (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(OLD.topic, ''),
        -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, flagged = flagged + excluded.flagged, link_clicks = link_clicks + excluded.link_clicks;
    INSERT INTO topic_rollups VALUES (NEW.assistant_id, (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.topic, ''),
        1, NEW.message_count, CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END, CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END, NEW.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, flagged = flagged + excluded.flagged, link_clicks = link_clicks + excluded.link_clicks;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER topic_rollups_update_key;
DROP TRIGGER topic_rollups_update_counts;
DROP TRIGGER conversation_rollups_update_key;
DROP TRIGGER conversation_rollups_update_counts;
DROP TRIGGER conversation_rollups_delete;
DROP TRIGGER conversation_rollups_insert;
DROP TABLE topic_rollups;
DROP TABLE conversation_rollups;
ALTER TABLE conversations DROP COLUMN link_clicks;
ALTER TABLE conversations DROP COLUMN handoff_count;

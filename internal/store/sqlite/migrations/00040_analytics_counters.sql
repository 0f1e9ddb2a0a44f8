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

-- 2. Rollups: counts of an assistant's conversations by UTC creation day (days since
--    1970-01-01), kept by triggers whatever code changes a conversation. Analytics read them
--    when they can answer a query exactly (see sqlstore/analytics.go), and the conversations
--    otherwise. Missing values are '' so that keys are unique; handed_off counts conversations
--    with handoff_count > 0 or a human operator as assignee.
--
--    conversation_rollups: by every dimension but the topic (whose values may be many), for
--    queries that filter on some dimensions and group by others.
CREATE TABLE conversation_rollups (
    assistant_id      TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    day               INTEGER NOT NULL,
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

--    dimension_rollups: by one dimension at a time (dimension, value), a few rows a day, for
--    queries about a single dimension (the topic included) and time.
CREATE TABLE dimension_rollups (
    assistant_id  TEXT NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    dimension     TEXT NOT NULL,
    day           INTEGER NOT NULL,
    value         TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    messages      INTEGER NOT NULL,
    handed_off    INTEGER NOT NULL,
    flagged       INTEGER NOT NULL,
    link_clicks   INTEGER NOT NULL,
    PRIMARY KEY (assistant_id, dimension, day, value)
) WITHOUT ROWID;

INSERT INTO conversation_rollups
SELECT c.assistant_id, (c.created_at + 86400000000000000) / 86400000000 - 1000000, c.source, COALESCE(c.sentiment, ''), COALESCE(c.most_frequent_language, ''), c.assignee_type,
    c.resolution_status, c.is_flagged, count(*), sum(c.message_count), sum((CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END)), sum(c.link_clicks)
FROM conversations c GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO dimension_rollups
SELECT a, d, dy, v, count(*), sum(m), sum(h), sum(f), sum(l) FROM (
SELECT c.assistant_id AS a, 'source' AS d, (c.created_at + 86400000000000000) / 86400000000 - 1000000 AS dy, c.source AS v, c.message_count AS m, (CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END) AS h, (CASE WHEN c.is_flagged THEN 1 ELSE 0 END) AS f, c.link_clicks AS l FROM conversations c
UNION ALL SELECT c.assistant_id, 'sentiment', (c.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(c.sentiment, ''), c.message_count, (CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN c.is_flagged THEN 1 ELSE 0 END), c.link_clicks FROM conversations c
UNION ALL SELECT c.assistant_id, 'topic', (c.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(c.topic, ''), c.message_count, (CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN c.is_flagged THEN 1 ELSE 0 END), c.link_clicks FROM conversations c
UNION ALL SELECT c.assistant_id, 'language', (c.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(c.most_frequent_language, ''), c.message_count, (CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN c.is_flagged THEN 1 ELSE 0 END), c.link_clicks FROM conversations c
UNION ALL SELECT c.assistant_id, 'assignee_type', (c.created_at + 86400000000000000) / 86400000000 - 1000000, c.assignee_type, c.message_count, (CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN c.is_flagged THEN 1 ELSE 0 END), c.link_clicks FROM conversations c
UNION ALL SELECT c.assistant_id, 'resolution_status', (c.created_at + 86400000000000000) / 86400000000 - 1000000, c.resolution_status, c.message_count, (CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN c.is_flagged THEN 1 ELSE 0 END), c.link_clicks FROM conversations c
UNION ALL SELECT c.assistant_id, 'is_flagged', (c.created_at + 86400000000000000) / 86400000000 - 1000000, CASE WHEN c.is_flagged THEN 'true' ELSE 'false' END, c.message_count, (CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN c.is_flagged THEN 1 ELSE 0 END), c.link_clicks FROM conversations c
) GROUP BY 1, 2, 3, 4;

-- +goose StatementBegin
CREATE TRIGGER conversation_rollups_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversation_rollups VALUES (NEW.assistant_id, (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.source, COALESCE(NEW.sentiment, ''), COALESCE(NEW.most_frequent_language, ''), NEW.assignee_type, NEW.resolution_status, NEW.is_flagged,
            1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), NEW.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, link_clicks = link_clicks + excluded.link_clicks;
    INSERT INTO dimension_rollups VALUES (NEW.assistant_id, 'source', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.source, 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'sentiment', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.sentiment, ''), 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'topic', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.topic, ''), 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'language', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.most_frequent_language, ''), 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'assignee_type', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.assignee_type, 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'resolution_status', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.resolution_status, 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'is_flagged', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, CASE WHEN NEW.is_flagged THEN 'true' ELSE 'false' END, 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks)
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
    INSERT INTO dimension_rollups VALUES (OLD.assistant_id, 'source', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.source, -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'sentiment', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(OLD.sentiment, ''), -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'topic', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(OLD.topic, ''), -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'language', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(OLD.most_frequent_language, ''), -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'assignee_type', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.assignee_type, -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'resolution_status', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.resolution_status, -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'is_flagged', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, CASE WHEN OLD.is_flagged THEN 'true' ELSE 'false' END, -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, flagged = flagged + excluded.flagged, link_clicks = link_clicks + excluded.link_clicks;
END;
-- +goose StatementEnd

-- An update takes the conversation's old counts out and puts the new ones in (rows of one key
-- are met in order, so a key that stays only moves its counters).
-- +goose StatementBegin
CREATE TRIGGER conversation_rollups_update AFTER UPDATE ON conversations
WHEN OLD.assistant_id IS NOT NEW.assistant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.source IS NOT NEW.source OR OLD.sentiment IS NOT NEW.sentiment OR OLD.topic IS NOT NEW.topic OR OLD.most_frequent_language IS NOT NEW.most_frequent_language OR OLD.assignee_type IS NOT NEW.assignee_type OR OLD.resolution_status IS NOT NEW.resolution_status OR OLD.is_flagged IS NOT NEW.is_flagged OR OLD.message_count IS NOT NEW.message_count OR OLD.link_clicks IS NOT NEW.link_clicks
    OR (OLD.handoff_count > 0) IS NOT (NEW.handoff_count > 0)
BEGIN
    INSERT INTO conversation_rollups VALUES (OLD.assistant_id, (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.source, COALESCE(OLD.sentiment, ''), COALESCE(OLD.most_frequent_language, ''), OLD.assignee_type, OLD.resolution_status, OLD.is_flagged,
            -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -OLD.link_clicks),
        (NEW.assistant_id, (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.source, COALESCE(NEW.sentiment, ''), COALESCE(NEW.most_frequent_language, ''), NEW.assignee_type, NEW.resolution_status, NEW.is_flagged,
            1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), NEW.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, link_clicks = link_clicks + excluded.link_clicks;
    INSERT INTO dimension_rollups VALUES (OLD.assistant_id, 'source', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.source, -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'sentiment', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(OLD.sentiment, ''), -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'topic', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(OLD.topic, ''), -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'language', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(OLD.most_frequent_language, ''), -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'assignee_type', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.assignee_type, -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'resolution_status', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, OLD.resolution_status, -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (OLD.assistant_id, 'is_flagged', (OLD.created_at + 86400000000000000) / 86400000000 - 1000000, CASE WHEN OLD.is_flagged THEN 'true' ELSE 'false' END, -1, -OLD.message_count, -(CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END), -(CASE WHEN OLD.is_flagged THEN 1 ELSE 0 END), -OLD.link_clicks),
        (NEW.assistant_id, 'source', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.source, 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'sentiment', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.sentiment, ''), 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'topic', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.topic, ''), 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'language', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, COALESCE(NEW.most_frequent_language, ''), 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'assignee_type', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.assignee_type, 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'resolution_status', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, NEW.resolution_status, 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks),
        (NEW.assistant_id, 'is_flagged', (NEW.created_at + 86400000000000000) / 86400000000 - 1000000, CASE WHEN NEW.is_flagged THEN 'true' ELSE 'false' END, 1, NEW.message_count, (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END), (CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END), NEW.link_clicks)
    ON CONFLICT DO UPDATE SET conversations = conversations + excluded.conversations, messages = messages + excluded.messages,
        handed_off = handed_off + excluded.handed_off, flagged = flagged + excluded.flagged, link_clicks = link_clicks + excluded.link_clicks;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER conversation_rollups_update;
DROP TRIGGER conversation_rollups_delete;
DROP TRIGGER conversation_rollups_insert;
DROP TABLE dimension_rollups;
DROP TABLE conversation_rollups;
ALTER TABLE conversations DROP COLUMN link_clicks;
ALTER TABLE conversations DROP COLUMN handoff_count;

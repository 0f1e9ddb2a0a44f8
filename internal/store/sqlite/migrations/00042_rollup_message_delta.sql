-- +goose Up
-- Rollup upkeep at the cost of a message. 00040's update trigger took a conversation's old
-- counts out of the rollups and put its new ones in: 16 upserts, for every message (its
-- message_count changes). When none of the rollups' keys changes (a message, a link click, a
-- first handoff), the counts' differences are added to the conversation's own rollup rows
-- instead: 8 updates by primary key. The old-out, new-in trigger stays for updates that move a
-- conversation to other keys; the two triggers never both act on one update.

DROP TRIGGER conversation_rollups_update;

-- +goose StatementBegin
CREATE TRIGGER conversation_rollups_update AFTER UPDATE ON conversations
WHEN OLD.assistant_id IS NOT NEW.assistant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.source IS NOT NEW.source
    OR OLD.sentiment IS NOT NEW.sentiment OR OLD.topic IS NOT NEW.topic OR OLD.most_frequent_language IS NOT NEW.most_frequent_language
    OR OLD.assignee_type IS NOT NEW.assignee_type OR OLD.resolution_status IS NOT NEW.resolution_status OR OLD.is_flagged IS NOT NEW.is_flagged
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

-- The conversation's rows exist: its insert (or the last update that moved it) counted it there.
-- +goose StatementBegin
CREATE TRIGGER conversation_rollups_counts AFTER UPDATE OF message_count, link_clicks, handoff_count ON conversations
WHEN NOT (OLD.assistant_id IS NOT NEW.assistant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.source IS NOT NEW.source
    OR OLD.sentiment IS NOT NEW.sentiment OR OLD.topic IS NOT NEW.topic OR OLD.most_frequent_language IS NOT NEW.most_frequent_language
    OR OLD.assignee_type IS NOT NEW.assignee_type OR OLD.resolution_status IS NOT NEW.resolution_status OR OLD.is_flagged IS NOT NEW.is_flagged)
    AND (OLD.message_count IS NOT NEW.message_count OR OLD.link_clicks IS NOT NEW.link_clicks OR (OLD.handoff_count > 0) IS NOT (NEW.handoff_count > 0))
BEGIN
    UPDATE conversation_rollups SET messages = messages + (NEW.message_count - OLD.message_count), handed_off = handed_off + ((CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END)),
        link_clicks = link_clicks + (NEW.link_clicks - OLD.link_clicks)
    WHERE assistant_id = NEW.assistant_id AND day = (NEW.created_at + 86400000000000000) / 86400000000 - 1000000 AND source = NEW.source
        AND sentiment = COALESCE(NEW.sentiment, '') AND language = COALESCE(NEW.most_frequent_language, '')
        AND assignee_type = NEW.assignee_type AND resolution_status = NEW.resolution_status AND is_flagged = NEW.is_flagged;
    UPDATE dimension_rollups SET messages = messages + (NEW.message_count - OLD.message_count), handed_off = handed_off + ((CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END)),
        link_clicks = link_clicks + (NEW.link_clicks - OLD.link_clicks)
    WHERE assistant_id = NEW.assistant_id AND dimension = 'source' AND day = (NEW.created_at + 86400000000000000) / 86400000000 - 1000000 AND value = NEW.source;
    UPDATE dimension_rollups SET messages = messages + (NEW.message_count - OLD.message_count), handed_off = handed_off + ((CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END)),
        link_clicks = link_clicks + (NEW.link_clicks - OLD.link_clicks)
    WHERE assistant_id = NEW.assistant_id AND dimension = 'sentiment' AND day = (NEW.created_at + 86400000000000000) / 86400000000 - 1000000 AND value = COALESCE(NEW.sentiment, '');
    UPDATE dimension_rollups SET messages = messages + (NEW.message_count - OLD.message_count), handed_off = handed_off + ((CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END)),
        link_clicks = link_clicks + (NEW.link_clicks - OLD.link_clicks)
    WHERE assistant_id = NEW.assistant_id AND dimension = 'topic' AND day = (NEW.created_at + 86400000000000000) / 86400000000 - 1000000 AND value = COALESCE(NEW.topic, '');
    UPDATE dimension_rollups SET messages = messages + (NEW.message_count - OLD.message_count), handed_off = handed_off + ((CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END)),
        link_clicks = link_clicks + (NEW.link_clicks - OLD.link_clicks)
    WHERE assistant_id = NEW.assistant_id AND dimension = 'language' AND day = (NEW.created_at + 86400000000000000) / 86400000000 - 1000000 AND value = COALESCE(NEW.most_frequent_language, '');
    UPDATE dimension_rollups SET messages = messages + (NEW.message_count - OLD.message_count), handed_off = handed_off + ((CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END)),
        link_clicks = link_clicks + (NEW.link_clicks - OLD.link_clicks)
    WHERE assistant_id = NEW.assistant_id AND dimension = 'assignee_type' AND day = (NEW.created_at + 86400000000000000) / 86400000000 - 1000000 AND value = NEW.assignee_type;
    UPDATE dimension_rollups SET messages = messages + (NEW.message_count - OLD.message_count), handed_off = handed_off + ((CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END)),
        link_clicks = link_clicks + (NEW.link_clicks - OLD.link_clicks)
    WHERE assistant_id = NEW.assistant_id AND dimension = 'resolution_status' AND day = (NEW.created_at + 86400000000000000) / 86400000000 - 1000000 AND value = NEW.resolution_status;
    UPDATE dimension_rollups SET messages = messages + (NEW.message_count - OLD.message_count), handed_off = handed_off + ((CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END) - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END)),
        link_clicks = link_clicks + (NEW.link_clicks - OLD.link_clicks)
    WHERE assistant_id = NEW.assistant_id AND dimension = 'is_flagged' AND day = (NEW.created_at + 86400000000000000) / 86400000000 - 1000000 AND value = CASE WHEN NEW.is_flagged THEN 'true' ELSE 'false' END;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER conversation_rollups_counts;
DROP TRIGGER conversation_rollups_update;

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

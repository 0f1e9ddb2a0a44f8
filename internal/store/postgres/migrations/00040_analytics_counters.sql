-- +goose Up
-- Analytics (GET /v1/api_core/analytics) without reading events, or every conversation, at
-- query time.
--
-- 1. Counters on each conversation, kept by the store in the transaction that adds the event:
--    handoff_count: events that show a human was asked for or took part: handoff log events
--      towards a human (handoff_state requested or accepted), messages whose handoff_state is
--      requested or accepted, and messages by a human operator;
--    link_clicks: tracked_link events.
ALTER TABLE conversations ADD COLUMN handoff_count bigint NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN link_clicks bigint NOT NULL DEFAULT 0;

UPDATE conversations c SET handoff_count = x.handoffs, link_clicks = x.clicks
FROM (
    SELECT e.conversation_rid,
        count(*) FILTER (WHERE (e.type = 'log' AND e.data ->> 'kind' = 'handoff'
                AND e.data #>> '{details,handoff_state}' IN ('requested', 'accepted'))
            OR (e.type = 'message' AND (e.data ->> 'author' = 'human_operator'
                OR e.data ->> 'handoff_state' IN ('requested', 'accepted')))) AS handoffs,
        count(*) FILTER (WHERE e.type = 'tracked_link') AS clicks
    FROM events e
    GROUP BY e.conversation_rid
) x
WHERE x.conversation_rid = c.rid AND (x.handoffs > 0 OR x.clicks > 0);

-- 2. Rollups: the counts of an assistant's conversations by UTC creation day and by the
--    dimensions analytics group and filter by: conversation_rollups by every dimension but the
--    topic (whose values may be many: labels derived from the text), topic_rollups by the
--    topic. Missing values are '' (so that the keys are unique). A trigger keeps them,
--    whatever code changes a conversation; analytics read them when the query's filters and
--    dimensions are all in one's key, and the conversations otherwise.
--    handed_off: handoff_count > 0, or a human operator holds the conversation.
CREATE TABLE conversation_rollups (
    assistant_id      uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    day               bigint NOT NULL, -- days since 1970-01-01, UTC
    source            text NOT NULL,
    sentiment         text NOT NULL,
    language          text NOT NULL,
    assignee_type     text NOT NULL,
    resolution_status text NOT NULL,
    is_flagged        boolean NOT NULL,
    conversations     bigint NOT NULL,
    messages          bigint NOT NULL,
    handed_off        bigint NOT NULL,
    link_clicks       bigint NOT NULL,
    PRIMARY KEY (assistant_id, day, source, sentiment, language, assignee_type, resolution_status, is_flagged)
);

CREATE TABLE topic_rollups (
    assistant_id  uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    day           bigint NOT NULL,
    topic         text NOT NULL,
    conversations bigint NOT NULL,
    messages      bigint NOT NULL,
    handed_off    bigint NOT NULL,
    flagged       bigint NOT NULL,
    link_clicks   bigint NOT NULL,
    PRIMARY KEY (assistant_id, day, topic)
);

INSERT INTO conversation_rollups
SELECT assistant_id, floor(extract(epoch FROM created_at) / 86400)::bigint, source, COALESCE(sentiment, ''),
    COALESCE(most_frequent_language, ''), assignee_type, resolution_status, is_flagged, count(*), sum(message_count),
    count(*) FILTER (WHERE handoff_count > 0 OR assignee_type = 'human_operator'), sum(link_clicks)
FROM conversations GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO topic_rollups
SELECT assistant_id, floor(extract(epoch FROM created_at) / 86400)::bigint, COALESCE(topic, ''), count(*), sum(message_count),
    count(*) FILTER (WHERE handoff_count > 0 OR assignee_type = 'human_operator'), count(*) FILTER (WHERE is_flagged),
    sum(link_clicks)
FROM conversations GROUP BY 1, 2, 3;

-- conversation_rollup_add adds n times conversation c to its rows.
-- +goose StatementBegin
CREATE FUNCTION conversation_rollup_add(c conversations, n bigint, main boolean, topics boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d bigint := floor(extract(epoch FROM c.created_at) / 86400)::bigint;
    handed bigint := CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN n ELSE 0 END;
BEGIN
    IF main THEN
        INSERT INTO conversation_rollups VALUES (c.assistant_id, d, c.source, COALESCE(c.sentiment, ''),
            COALESCE(c.most_frequent_language, ''), c.assignee_type, c.resolution_status, c.is_flagged,
            n, n * c.message_count, handed, n * c.link_clicks)
        ON CONFLICT (assistant_id, day, source, sentiment, language, assignee_type, resolution_status, is_flagged) DO UPDATE SET
            conversations = conversation_rollups.conversations + excluded.conversations,
            messages = conversation_rollups.messages + excluded.messages,
            handed_off = conversation_rollups.handed_off + excluded.handed_off,
            link_clicks = conversation_rollups.link_clicks + excluded.link_clicks;
    END IF;
    IF topics THEN
        INSERT INTO topic_rollups VALUES (c.assistant_id, d, COALESCE(c.topic, ''),
            n, n * c.message_count, handed, CASE WHEN c.is_flagged THEN n ELSE 0 END, n * c.link_clicks)
        ON CONFLICT (assistant_id, day, topic) DO UPDATE SET
            conversations = topic_rollups.conversations + excluded.conversations,
            messages = topic_rollups.messages + excluded.messages,
            handed_off = topic_rollups.handed_off + excluded.handed_off,
            flagged = topic_rollups.flagged + excluded.flagged,
            link_clicks = topic_rollups.link_clicks + excluded.link_clicks;
    END IF;
END;
$$;
-- +goose StatementEnd

-- An update moves a conversation's counts only in the rollups whose key or counters it changed.
-- +goose StatementBegin
CREATE FUNCTION conversation_rollups_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    main boolean := true;
    topics boolean := true;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        main := (OLD.assistant_id, OLD.created_at, OLD.source, OLD.sentiment, OLD.most_frequent_language, OLD.assignee_type,
                OLD.resolution_status, OLD.is_flagged, OLD.message_count, OLD.handoff_count > 0, OLD.link_clicks)
            IS DISTINCT FROM (NEW.assistant_id, NEW.created_at, NEW.source, NEW.sentiment, NEW.most_frequent_language, NEW.assignee_type,
                NEW.resolution_status, NEW.is_flagged, NEW.message_count, NEW.handoff_count > 0, NEW.link_clicks);
        topics := (OLD.assistant_id, OLD.created_at, OLD.topic, OLD.message_count, OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator',
                OLD.is_flagged, OLD.link_clicks)
            IS DISTINCT FROM (NEW.assistant_id, NEW.created_at, NEW.topic, NEW.message_count, NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator',
                NEW.is_flagged, NEW.link_clicks);
        IF NOT main AND NOT topics THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM conversation_rollup_add(OLD, -1, main, topics);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM conversation_rollup_add(NEW, 1, main, topics);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER conversation_rollups AFTER INSERT OR UPDATE OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversation_rollups_trigger();

-- +goose Down
DROP TRIGGER conversation_rollups ON conversations;
DROP FUNCTION conversation_rollups_trigger();
DROP FUNCTION conversation_rollup_add(conversations, bigint, boolean, boolean);
DROP TABLE topic_rollups;
DROP TABLE conversation_rollups;
ALTER TABLE conversations DROP COLUMN link_clicks;
ALTER TABLE conversations DROP COLUMN handoff_count;

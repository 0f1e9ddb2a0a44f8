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

-- 2. Rollups: counts of an assistant's conversations by UTC creation day (days since
--    1970-01-01), kept by a trigger whatever code changes a conversation. Analytics read them
--    when they can answer a query exactly (see sqlstore/analytics.go), and the conversations
--    otherwise. Missing values are '' so that keys are unique; handed_off counts conversations
--    with handoff_count > 0 or a human operator as assignee.
--
--    conversation_rollups: by every dimension but the topic (whose values may be many), for
--    queries that filter on some dimensions and group by others.
CREATE TABLE conversation_rollups (
    assistant_id      uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    day               bigint NOT NULL,
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

--    dimension_rollups: by one dimension at a time (dimension, value), a few rows a day, for
--    queries about a single dimension (the topic included) and time.
CREATE TABLE dimension_rollups (
    assistant_id  uuid NOT NULL REFERENCES assistants (id) ON DELETE CASCADE,
    dimension     text NOT NULL,
    day           bigint NOT NULL,
    value         text NOT NULL,
    conversations bigint NOT NULL,
    messages      bigint NOT NULL,
    handed_off    bigint NOT NULL,
    flagged       bigint NOT NULL,
    link_clicks   bigint NOT NULL,
    PRIMARY KEY (assistant_id, dimension, day, value)
);

INSERT INTO conversation_rollups
SELECT assistant_id, floor(extract(epoch FROM created_at) / 86400)::bigint, source, COALESCE(sentiment, ''),
    COALESCE(most_frequent_language, ''), assignee_type, resolution_status, is_flagged, count(*), sum(message_count),
    count(*) FILTER (WHERE handoff_count > 0 OR assignee_type = 'human_operator'), sum(link_clicks)
FROM conversations GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO dimension_rollups
SELECT c.assistant_id, d.dimension, floor(extract(epoch FROM c.created_at) / 86400)::bigint, d.value, count(*), sum(c.message_count),
    count(*) FILTER (WHERE c.handoff_count > 0 OR c.assignee_type = 'human_operator'), count(*) FILTER (WHERE c.is_flagged),
    sum(c.link_clicks)
FROM conversations c CROSS JOIN LATERAL (VALUES ('source', c.source), ('sentiment', COALESCE(c.sentiment, '')),
    ('topic', COALESCE(c.topic, '')), ('language', COALESCE(c.most_frequent_language, '')), ('assignee_type', c.assignee_type),
    ('resolution_status', c.resolution_status), ('is_flagged', c.is_flagged::text)) AS d(dimension, value)
GROUP BY 1, 2, 3, 4;

-- conversation_rollup_add adds n times conversation c to the rollups.
-- +goose StatementBegin
CREATE FUNCTION conversation_rollup_add(c conversations, n bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d bigint := floor(extract(epoch FROM c.created_at) / 86400)::bigint;
    h bigint := CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN n ELSE 0 END;
    f bigint := CASE WHEN c.is_flagged THEN n ELSE 0 END;
BEGIN
    INSERT INTO conversation_rollups VALUES (c.assistant_id, d, c.source, COALESCE(c.sentiment, ''),
        COALESCE(c.most_frequent_language, ''), c.assignee_type, c.resolution_status, c.is_flagged,
        n, n * c.message_count, h, n * c.link_clicks)
    ON CONFLICT (assistant_id, day, source, sentiment, language, assignee_type, resolution_status, is_flagged) DO UPDATE SET
        conversations = conversation_rollups.conversations + excluded.conversations,
        messages = conversation_rollups.messages + excluded.messages,
        handed_off = conversation_rollups.handed_off + excluded.handed_off,
        link_clicks = conversation_rollups.link_clicks + excluded.link_clicks;
    INSERT INTO dimension_rollups
    SELECT c.assistant_id, v.dimension, d, v.value, n, n * c.message_count, h, f, n * c.link_clicks
    FROM (VALUES ('source', c.source), ('sentiment', COALESCE(c.sentiment, '')), ('topic', COALESCE(c.topic, '')),
        ('language', COALESCE(c.most_frequent_language, '')), ('assignee_type', c.assignee_type),
        ('resolution_status', c.resolution_status), ('is_flagged', c.is_flagged::text)) AS v(dimension, value)
    ON CONFLICT (assistant_id, dimension, day, value) DO UPDATE SET
        conversations = dimension_rollups.conversations + excluded.conversations,
        messages = dimension_rollups.messages + excluded.messages,
        handed_off = dimension_rollups.handed_off + excluded.handed_off,
        flagged = dimension_rollups.flagged + excluded.flagged,
        link_clicks = dimension_rollups.link_clicks + excluded.link_clicks;
END;
$$;
-- +goose StatementEnd

-- An update takes the conversation's old counts out and puts the new ones in.
-- +goose StatementBegin
CREATE FUNCTION conversation_rollups_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.assistant_id, OLD.created_at, OLD.source, OLD.sentiment, OLD.topic, OLD.most_frequent_language,
            OLD.assignee_type, OLD.resolution_status, OLD.is_flagged, OLD.message_count, OLD.handoff_count > 0, OLD.link_clicks)
        IS NOT DISTINCT FROM (NEW.assistant_id, NEW.created_at, NEW.source, NEW.sentiment, NEW.topic, NEW.most_frequent_language,
            NEW.assignee_type, NEW.resolution_status, NEW.is_flagged, NEW.message_count, NEW.handoff_count > 0, NEW.link_clicks) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM conversation_rollup_add(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM conversation_rollup_add(NEW, 1);
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
DROP FUNCTION conversation_rollup_add(conversations, bigint);
DROP TABLE dimension_rollups;
DROP TABLE conversation_rollups;
ALTER TABLE conversations DROP COLUMN link_clicks;
ALTER TABLE conversations DROP COLUMN handoff_count;

-- +goose Up
-- The rollup trigger of 00040 ran one statement per rollup row and key; this one nets a
-- conversation's old and new counts per key and writes each rollup with one statement, and the
-- rollups lose their foreign keys (checked on every write; a deleted assistant's conversations
-- are deleted row by row, which nets its rollups to zero).
ALTER TABLE conversation_rollups DROP CONSTRAINT conversation_rollups_assistant_id_fkey;
ALTER TABLE dimension_rollups DROP CONSTRAINT dimension_rollups_assistant_id_fkey;

-- The trigger takes a conversation's old counts out of the rollups and puts its new ones in,
-- netted per key: one statement per rollup. On INSERT the OLD fields are null, on DELETE the
-- NEW ones.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION conversation_rollups_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o boolean := TG_OP <> 'INSERT';
    n boolean := TG_OP <> 'DELETE';
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.assistant_id, OLD.created_at, OLD.source, OLD.sentiment, OLD.topic, OLD.most_frequent_language,
            OLD.assignee_type, OLD.resolution_status, OLD.is_flagged, OLD.message_count, OLD.handoff_count > 0, OLD.link_clicks)
        IS NOT DISTINCT FROM (NEW.assistant_id, NEW.created_at, NEW.source, NEW.sentiment, NEW.topic, NEW.most_frequent_language,
            NEW.assignee_type, NEW.resolution_status, NEW.is_flagged, NEW.message_count, NEW.handoff_count > 0, NEW.link_clicks) THEN
        RETURN NULL;
    END IF;
    INSERT INTO conversation_rollups
    SELECT k.a, k.d, k.source, k.sentiment, k.language, k.assignee_type, k.resolution_status, k.is_flagged,
        sum(k.c), sum(k.m), sum(k.h), sum(k.l)
    FROM (VALUES (o, OLD.assistant_id, floor(extract(epoch FROM OLD.created_at) / 86400)::bigint, OLD.source, COALESCE(OLD.sentiment, ''), COALESCE(OLD.most_frequent_language, ''),
                OLD.assignee_type, OLD.resolution_status, OLD.is_flagged, -1, -OLD.message_count,
                CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN -1 ELSE 0 END, -OLD.link_clicks),
            (n, NEW.assistant_id, floor(extract(epoch FROM NEW.created_at) / 86400)::bigint, NEW.source, COALESCE(NEW.sentiment, ''), COALESCE(NEW.most_frequent_language, ''),
                NEW.assignee_type, NEW.resolution_status, NEW.is_flagged, 1, NEW.message_count,
                CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END, NEW.link_clicks))
        AS k(p, a, d, source, sentiment, language, assignee_type, resolution_status, is_flagged, c, m, h, l)
    WHERE k.p
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(k.c) <> 0 OR sum(k.m) <> 0 OR sum(k.h) <> 0 OR sum(k.l) <> 0
    ON CONFLICT (assistant_id, day, source, sentiment, language, assignee_type, resolution_status, is_flagged) DO UPDATE SET
        conversations = conversation_rollups.conversations + excluded.conversations,
        messages = conversation_rollups.messages + excluded.messages,
        handed_off = conversation_rollups.handed_off + excluded.handed_off,
        link_clicks = conversation_rollups.link_clicks + excluded.link_clicks;
    INSERT INTO dimension_rollups
    SELECT x.a, k.dimension, x.d, k.value, sum(x.c), sum(x.m), sum(x.h), sum(x.f), sum(x.l)
    FROM (VALUES (true, OLD.assistant_id, floor(extract(epoch FROM OLD.created_at) / 86400)::bigint, -1, -OLD.message_count, CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN -1 ELSE 0 END,
            CASE WHEN OLD.is_flagged THEN -1 ELSE 0 END, -OLD.link_clicks),
            (false, NEW.assistant_id, floor(extract(epoch FROM NEW.created_at) / 86400)::bigint, 1, NEW.message_count, CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END,
            CASE WHEN NEW.is_flagged THEN 1 ELSE 0 END, NEW.link_clicks))
        AS x(old, a, d, c, m, h, f, l)
    JOIN (VALUES (true, 'source', OLD.source),
                (true, 'sentiment', COALESCE(OLD.sentiment, '')),
                (true, 'topic', COALESCE(OLD.topic, '')),
                (true, 'language', COALESCE(OLD.most_frequent_language, '')),
                (true, 'assignee_type', OLD.assignee_type),
                (true, 'resolution_status', OLD.resolution_status),
                (true, 'is_flagged', OLD.is_flagged::text),
                (false, 'source', NEW.source),
                (false, 'sentiment', COALESCE(NEW.sentiment, '')),
                (false, 'topic', COALESCE(NEW.topic, '')),
                (false, 'language', COALESCE(NEW.most_frequent_language, '')),
                (false, 'assignee_type', NEW.assignee_type),
                (false, 'resolution_status', NEW.resolution_status),
                (false, 'is_flagged', NEW.is_flagged::text))
        AS k(old, dimension, value) ON k.old = x.old
    WHERE (x.old AND o) OR (NOT x.old AND n)
    GROUP BY 1, 2, 3, 4
    HAVING sum(x.c) <> 0 OR sum(x.m) <> 0 OR sum(x.h) <> 0 OR sum(x.f) <> 0 OR sum(x.l) <> 0
    ON CONFLICT (assistant_id, dimension, day, value) DO UPDATE SET
        conversations = dimension_rollups.conversations + excluded.conversations,
        messages = dimension_rollups.messages + excluded.messages,
        handed_off = dimension_rollups.handed_off + excluded.handed_off,
        flagged = dimension_rollups.flagged + excluded.flagged,
        link_clicks = dimension_rollups.link_clicks + excluded.link_clicks;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

DROP FUNCTION conversation_rollup_add(conversations, bigint);

-- +goose Down
-- Back to the trigger of 00040.
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
CREATE OR REPLACE FUNCTION conversation_rollups_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
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

ALTER TABLE conversation_rollups ADD CONSTRAINT conversation_rollups_assistant_id_fkey
    FOREIGN KEY (assistant_id) REFERENCES assistants (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE dimension_rollups ADD CONSTRAINT dimension_rollups_assistant_id_fkey
    FOREIGN KEY (assistant_id) REFERENCES assistants (id) ON DELETE CASCADE NOT VALID;

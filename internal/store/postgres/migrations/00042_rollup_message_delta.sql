-- +goose Up
-- Rollup upkeep at the cost of a message. An update that leaves every rollup key of a
-- conversation as it was (a message, a link click, a first handoff: only counts change) adds
-- the counts' differences to the conversation's own rollup rows, two updates by primary key,
-- instead of 00041's netting of old and new counts with GROUP BY and upserts. The rows exist:
-- the conversation's insert (or the last update that moved it) counted it there.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION conversation_rollups_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o boolean := TG_OP <> 'INSERT';
    n boolean := TG_OP <> 'DELETE';
    dd bigint;
    dm bigint;
    dh bigint;
    dl bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.assistant_id, OLD.created_at, OLD.source, OLD.sentiment, OLD.topic, OLD.most_frequent_language,
            OLD.assignee_type, OLD.resolution_status, OLD.is_flagged)
        IS NOT DISTINCT FROM (NEW.assistant_id, NEW.created_at, NEW.source, NEW.sentiment, NEW.topic, NEW.most_frequent_language,
            NEW.assignee_type, NEW.resolution_status, NEW.is_flagged) THEN
        -- The same keys: add the counts' differences to the conversation's own rows.
        dm := NEW.message_count - OLD.message_count;
        dh := (CASE WHEN NEW.handoff_count > 0 OR NEW.assignee_type = 'human_operator' THEN 1 ELSE 0 END)
            - (CASE WHEN OLD.handoff_count > 0 OR OLD.assignee_type = 'human_operator' THEN 1 ELSE 0 END);
        dl := NEW.link_clicks - OLD.link_clicks;
        IF dm = 0 AND dh = 0 AND dl = 0 THEN
            RETURN NULL;
        END IF;
        dd := floor(extract(epoch FROM NEW.created_at) / 86400)::bigint;
        UPDATE conversation_rollups r SET messages = r.messages + dm, handed_off = r.handed_off + dh, link_clicks = r.link_clicks + dl
        WHERE r.assistant_id = NEW.assistant_id AND r.day = dd AND r.source = NEW.source AND r.sentiment = COALESCE(NEW.sentiment, '')
            AND r.language = COALESCE(NEW.most_frequent_language, '') AND r.assignee_type = NEW.assignee_type
            AND r.resolution_status = NEW.resolution_status AND r.is_flagged = NEW.is_flagged;
        UPDATE dimension_rollups r SET messages = r.messages + dm, handed_off = r.handed_off + dh, link_clicks = r.link_clicks + dl
        FROM (VALUES ('source', NEW.source), ('sentiment', COALESCE(NEW.sentiment, '')), ('topic', COALESCE(NEW.topic, '')),
                ('language', COALESCE(NEW.most_frequent_language, '')), ('assignee_type', NEW.assignee_type),
                ('resolution_status', NEW.resolution_status), ('is_flagged', NEW.is_flagged::text)) AS v(dimension, value)
        WHERE r.assistant_id = NEW.assistant_id AND r.dimension = v.dimension AND r.day = dd AND r.value = v.value;
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

-- +goose Down
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

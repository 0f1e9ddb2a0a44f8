-- +goose Up
-- Performance of the conversation list at millions of conversations (docs/performance.md).

-- The number of conversations of each assistant, kept by a trigger in the transaction that
-- adds or removes one: the unfiltered list's exact count without counting.
ALTER TABLE assistants ADD COLUMN conversation_count bigint NOT NULL DEFAULT 0;
UPDATE assistants a SET conversation_count = (SELECT count(*) FROM conversations c WHERE c.assistant_id = a.id);
-- +goose StatementBegin
CREATE FUNCTION count_conversations() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE assistants SET conversation_count = conversation_count + 1 WHERE id = NEW.assistant_id;
    ELSE
        UPDATE assistants SET conversation_count = conversation_count - 1 WHERE id = OLD.assistant_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER conversations_counted AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION count_conversations();

-- Keep the search table's rows narrow (text and tsvector out of line, in TOAST), so that
-- counting the matches of a common word visits few heap pages.
ALTER TABLE conversation_search SET (toast_tuple_target = 128);

-- Filters with a creation date range are answered by an index-only scan.
DROP INDEX conversations_created;
CREATE INDEX conversations_created ON conversations (assistant_id, created_at, rid)
    INCLUDE (source, resolution_status, assignee_type, sentiment, most_frequent_language, is_flagged,
             has_unread_messages, terminated, last_message_at);

-- +goose Down
DROP INDEX conversations_created;
CREATE INDEX conversations_created ON conversations (assistant_id, created_at, rid);
ALTER TABLE conversation_search RESET (toast_tuple_target);
DROP TRIGGER conversations_counted ON conversations;
DROP FUNCTION count_conversations();
ALTER TABLE assistants DROP COLUMN conversation_count;

-- +goose Up
-- Performance of the conversation list at millions of conversations (docs/performance.md).

-- The number of conversations of each assistant, kept by triggers in the transaction that
-- adds or removes one: the unfiltered list's exact count without counting.
ALTER TABLE assistants ADD COLUMN conversation_count INTEGER NOT NULL DEFAULT 0;
UPDATE assistants SET conversation_count = (SELECT count(*) FROM conversations c WHERE c.assistant_id = assistants.id);
-- +goose StatementBegin
CREATE TRIGGER conversations_counted AFTER INSERT ON conversations BEGIN
    UPDATE assistants SET conversation_count = conversation_count + 1 WHERE id = NEW.assistant_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_uncounted AFTER DELETE ON conversations BEGIN
    UPDATE assistants SET conversation_count = conversation_count - 1 WHERE id = OLD.assistant_id;
END;
-- +goose StatementEnd

-- The search document gets its assistant's token (aid), so that a search counts the
-- assistant's matches in the index alone instead of looking up every match's conversation.
CREATE VIRTUAL TABLE conversation_search_new USING fts5 (meta, body, aid, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 4');
INSERT INTO conversation_search_new (rowid, meta, body, aid)
    SELECT s.rowid, s.meta, s.body, 'a' || replace(c.assistant_id, '-', '')
    FROM conversation_search s JOIN conversations c ON c.rid = s.rowid;
DROP TABLE conversation_search;
ALTER TABLE conversation_search_new RENAME TO conversation_search;

-- Filters with a creation date range are answered from the index alone: it holds the
-- columns the list filters on most.
DROP INDEX conversations_created;
CREATE INDEX conversations_created ON conversations (assistant_id, created_at, source, resolution_status, assignee_type,
    sentiment, most_frequent_language, is_flagged, has_unread_messages, terminated, last_message_at);

-- +goose Down
DROP INDEX conversations_created;
CREATE INDEX conversations_created ON conversations (assistant_id, created_at, rid);
CREATE VIRTUAL TABLE conversation_search_old USING fts5 (meta, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 4');
INSERT INTO conversation_search_old (rowid, meta, body) SELECT rowid, meta, body FROM conversation_search;
DROP TABLE conversation_search;
ALTER TABLE conversation_search_old RENAME TO conversation_search;
DROP TRIGGER conversations_uncounted;
DROP TRIGGER conversations_counted;
ALTER TABLE assistants DROP COLUMN conversation_count;

package sqlstore

import (
	"context"
	"database/sql"
	"maps"
	"slices"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// SaveAnalysis stores a conversation's analysis without a new version.
func (s *Store) SaveAnalysis(ctx context.Context, assistantID, id string, a cv.Analysis) (cv.Conversation, error) {
	var out cv.Conversation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := s.conversationTx(ctx, tx, assistantID, id)
		if err != nil {
			return err
		}
		title := c.Title
		if a.Title != nil && (c.Title == nil || (a.PreviousTitle != nil && *c.Title == *a.PreviousTitle)) {
			title = a.Title
		}
		var unified any
		if len(a.Unified) > 0 {
			unified = string(a.Unified)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE conversations SET unified_analysis = $2, sentiment = $3, topic = $4,
 is_flagged = $5, most_frequent_language = $6, title = $7 WHERE rid = $1`),
			c.RowID, unified, a.Sentiment, a.Topic, a.IsFlagged, a.Language, title); err != nil {
			return err
		}
		if !sameStr(title, c.Title) {
			c.Title = title
			if _, err := tx.ExecContext(ctx, s.q(s.d.UpdateSearchMeta()), c.RowID, searchMeta(&c)); err != nil {
				return err
			}
		}
		for _, eventID := range slices.Sorted(maps.Keys(a.MessageInsights)) {
			if !validID(eventID) {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q(s.d.SetMessageField("message_insights")), c.RowID, eventID, string(a.MessageInsights[eventID])); err != nil {
				return err
			}
		}
		wasFlagged := c.IsFlagged
		c.UnifiedAnalysis, c.Sentiment, c.Topic, c.IsFlagged, c.MostFrequentLanguage, c.Title = a.Unified, a.Sentiment, a.Topic, a.IsFlagged, a.Language, title
		out = c
		if err := s.logChange(ctx, tx, &c, cv.ChangeConversationAnalyzed, nil, nil); err != nil {
			return err
		}
		if c.IsFlagged && !wasFlagged {
			return s.logChange(ctx, tx, &c, cv.ChangeConversationFlagged, nil, nil)
		}
		return nil
	})
	return out, err
}

func sameStr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

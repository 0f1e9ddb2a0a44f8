package store

import "time"

// WidgetSession is a web widget visitor's hold on one conversation. The visitor's browser keeps
// the secret; the store keeps only its hash.
type WidgetSession struct {
	ID             string
	AssistantID    string
	ConversationID string
	CreatedAt      time.Time
}

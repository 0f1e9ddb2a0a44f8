package conversation

import "time"

// Link is a tracked link: a URL in an assistant's or operator's message, rewritten to a
// redirect on this server so that clicks are recorded. ID is an unguessable random token.
type Link struct {
	ID             string
	AssistantID    string
	ConversationID string
	MessageID      string // the event id of the message the link is in
	URL            string // the target, exactly as it was in the message
	CreatedAt      time.Time
}

// NewLink is a tracked link to store together with the message it was cut from: the store
// writes it in the message's transaction, naming the message's event id, or not at all when
// the message is not created (a retry of a known external_id).
type NewLink struct {
	ID  string
	URL string
}

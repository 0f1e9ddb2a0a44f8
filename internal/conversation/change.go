package conversation

import (
	"context"
	"time"
)

// Change types: what the change log records, and what webhooks and the live stream carry.
const (
	ChangeConversationCreated  = "conversation.created"
	ChangeConversationUpdated  = "conversation.updated"
	ChangeConversationResolved = "conversation.resolved"
	ChangeConversationFlagged  = "conversation.flagged"
	ChangeConversationAnalyzed = "conversation.analyzed"
	ChangeConversationDeleted  = "conversation.deleted"
	ChangeMessageCreated       = "message.created"
	ChangeTrackedLinkClicked   = "tracked_link.clicked"
	ChangeMetadataUpdated      = "metadata.updated"
)

// ChangeTypes lists every change type.
var ChangeTypes = []string{
	ChangeConversationCreated, ChangeConversationUpdated, ChangeConversationResolved, ChangeConversationFlagged,
	ChangeConversationAnalyzed, ChangeConversationDeleted, ChangeMessageCreated, ChangeTrackedLinkClicked,
	ChangeMetadataUpdated,
}

// Change is one entry of the durable change log, written in the same transaction as the change
// itself. It is small: consumers read the conversation (and event) it names.
type Change struct {
	Seq            int64     `json:"seq"`
	AssistantID    string    `json:"assistant_id"`
	ConversationID string    `json:"conversation_id"`
	Type           string    `json:"type"`
	Actor          Actor     `json:"actor"`
	EventID        *string   `json:"event_id,omitempty"`
	Fields         []string  `json:"fields,omitempty"` // what changed, for conversation.updated
	CreatedAt      time.Time `json:"created_at"`
}

type actorKey struct{}

// WithActor returns a context that attributes the changes made under it to a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx, or the system.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Type: "system"}
}

// ChangedFields names the fields that differ between two states of a conversation, in the
// wire names.
func ChangedFields(a, b *Conversation) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("title", !strEq(a.Title, b.Title))
	add("resolution_status", a.ResolutionStatus != b.ResolutionStatus)
	add("terminated", a.Terminated != b.Terminated)
	add("assignee", !sameAssignee(a.Assignee, b.Assignee) || !strEq(a.Assignee.Name, b.Assignee.Name))
	add("has_unread_messages", a.HasUnreadMessages != b.HasUnreadMessages)
	add("visitor_name", !strEq(a.VisitorName, b.VisitorName))
	add("visitor_email", !strEq(a.VisitorEmail, b.VisitorEmail))
	add("visitor_phone_number", !strEq(a.VisitorPhoneNumber, b.VisitorPhoneNumber))
	add("visitor_label", !strEq(a.VisitorLabel, b.VisitorLabel))
	add("client_metadata", len(ChangedKeys(a.ClientMetadata, b.ClientMetadata)) > 0)
	add("rating", !jsonEqual(a.Rating, b.Rating))
	return out
}

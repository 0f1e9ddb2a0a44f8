package conversation

import (
	"fmt"
	"strings"
)

// Patch is a change to a conversation through PATCH /conversations/{id}/. Nil fields are left
// alone. Visitor fields and the title are double pointers so that an explicit null clears them.
type Patch struct {
	ResolutionStatus   *string
	Assignee           *Assignee
	Terminated         *bool
	Title              **string
	VisitorName        **string
	VisitorEmail       **string
	VisitorPhoneNumber **string
	VisitorLabel       **string
	HasUnreadMessages  *bool
}

// Validate checks the values of a patch.
func (p *Patch) Validate() error {
	if p.ResolutionStatus != nil && !Contains(Statuses, *p.ResolutionStatus) {
		return Invalid("resolution_status", "must be one of %s", strings.Join(Statuses, ", "))
	}
	if p.Assignee != nil {
		if !Contains(AssigneeTypes, p.Assignee.Type) {
			return Invalid("assignee.type", "must be one of %s", strings.Join(AssigneeTypes, ", "))
		}
		if p.Assignee.Type != AssigneeOperator && p.Assignee.ID != nil {
			return Invalid("assignee.id", "only a human_operator assignee has an id")
		}
		if err := checkShort("assignee.id", p.Assignee.ID); err != nil {
			return err
		}
		if err := checkShort("assignee.name", p.Assignee.Name); err != nil {
			return err
		}
	}
	for name, v := range map[string]**string{"title": p.Title, "visitor_name": p.VisitorName, "visitor_email": p.VisitorEmail, "visitor_phone_number": p.VisitorPhoneNumber, "visitor_label": p.VisitorLabel} {
		if v != nil {
			if err := checkShort(name, *v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Apply changes c as p says and returns the log events that record the changes of assignee,
// resolution and termination, attributed to actor.
func (p *Patch) Apply(c *Conversation, actor Actor) []Log {
	var logs []Log
	if p.Assignee != nil && !sameAssignee(c.Assignee, *p.Assignee) {
		from := c.Assignee
		c.Assignee = *p.Assignee
		if c.Assignee.Type != AssigneeOperator {
			c.Assignee.ID, c.Assignee.Name = nil, nil
		}
		l := Log{
			Kind:    LogAssignment,
			Actor:   actor,
			Content: fmt.Sprintf("Assigned to %s (was %s)", describeAssignee(c.Assignee), describeAssignee(from)),
			Details: map[string]any{"from": from, "to": c.Assignee},
		}
		switch {
		case c.Assignee.Type == AssigneeOperator && from.Type != AssigneeOperator:
			l.Kind, l.Content = LogHandoff, fmt.Sprintf("%s took over from %s", describeAssignee(c.Assignee), describeAssignee(from))
			l.Details["handoff_state"] = HandoffAccepted
		case c.Assignee.Type == AssigneeAI && from.Type != AssigneeAI:
			l.Kind, l.Content = LogHandoff, fmt.Sprintf("Given back to the AI assistant (was %s)", describeAssignee(from))
			l.Details["handoff_state"] = HandoffReturned
		}
		logs = append(logs, l)
	}
	if p.ResolutionStatus != nil && *p.ResolutionStatus != c.ResolutionStatus {
		from := c.ResolutionStatus
		c.ResolutionStatus = *p.ResolutionStatus
		verb := "Resolved"
		if c.ResolutionStatus == StatusOpen {
			verb = "Reopened"
		}
		logs = append(logs, Log{
			Kind: LogResolution, Actor: actor, Content: verb,
			Details: map[string]any{"from": from, "to": c.ResolutionStatus, "assumed": false},
		})
	}
	if p.Terminated != nil && *p.Terminated != c.Terminated {
		c.Terminated = *p.Terminated
		content := "Conversation ended"
		if !c.Terminated {
			content = "Conversation resumed"
		}
		logs = append(logs, Log{
			Kind: LogTermination, Actor: actor, Content: content,
			Details: map[string]any{"from": !c.Terminated, "to": c.Terminated},
		})
	}
	set := func(dst **string, v **string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Title, p.Title)
	set(&c.VisitorName, p.VisitorName)
	set(&c.VisitorEmail, p.VisitorEmail)
	set(&c.VisitorPhoneNumber, p.VisitorPhoneNumber)
	set(&c.VisitorLabel, p.VisitorLabel)
	if p.HasUnreadMessages != nil {
		c.HasUnreadMessages = *p.HasUnreadMessages
	}
	return logs
}

func sameAssignee(a, b Assignee) bool {
	return a.Type == b.Type && strEq(a.ID, b.ID)
}

func strEq(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func describeAssignee(a Assignee) string {
	switch {
	case a.Type == AssigneeOperator && a.Name != nil:
		return *a.Name
	case a.Type == AssigneeOperator && a.ID != nil:
		return "operator " + *a.ID
	case a.Type == AssigneeAI:
		return "the AI assistant"
	case a.Type == AssigneeUnassigned:
		return "the queue"
	}
	return a.Type
}

// MetadataLog records a metadata change of the given keys.
func MetadataLog(actor Actor, changed []string) Log {
	return Log{
		Kind: LogMetadata, Actor: actor,
		Content: "Metadata updated: " + strings.Join(changed, ", "),
		Details: map[string]any{"keys": changed},
	}
}

package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/settings"
	"github.com/parleyhq/parley/internal/wire"
)

// feedbackBody is a visitor's judgement of one message.
type feedbackBody struct {
	Rating  string  `json:"rating"`
	Comment *string `json:"comment"`
}

// putFeedback fills a message's feedback: {"rating": "positive"|"negative", "comment"}.
func (s *Server) putFeedback(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := conversationID(r)
	if err != nil {
		return err
	}
	mq := search.Parse(r.PathValue("message_id"))
	if mq.UUID == "" || len(r.PathValue("message_id")) != 36 {
		return errNotFound
	}
	var b feedbackBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.Rating != "positive" && b.Rating != "negative" {
		return invalid("rating", "must be positive or negative")
	}
	if b.Comment != nil && (len(*b.Comment) > 2000 || !utf8.ValidString(*b.Comment)) {
		return invalid("comment", "at most 2000 bytes of UTF-8")
	}
	fb, _ := json.Marshal(map[string]any{"rating": b.Rating, "comment": b.Comment, "created_at": wire.At(s.now())})
	ev, err := s.store.SetMessageFeedback(r.Context(), p.assistantID(), id, mq.UUID, fb)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.NewEvent(&ev).Data)
	return nil
}

// ratingBody is a visitor's rating of a whole conversation.
type ratingBody struct {
	Score   *int    `json:"score"`
	Comment *string `json:"comment"`
}

// postRating stores the conversation's rating (when the assistant collects ratings) and logs it.
func (s *Server) postRating(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := conversationID(r)
	if err != nil {
		return err
	}
	var b ratingBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.Score == nil || *b.Score < 1 || *b.Score > 5 {
		return invalid("score", "must be a whole number from 1 to 5")
	}
	if b.Comment != nil && (len(*b.Comment) > 2000 || !utf8.ValidString(*b.Comment)) {
		return invalid("comment", "at most 2000 bytes of UTF-8")
	}
	if st, err := s.settingsFor(r, p); err != nil {
		return err
	} else if !*st.RatingActive {
		return errorf(http.StatusConflict, CodeConflict, "", "This assistant does not collect ratings (settings.rating_active is false).")
	}
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	c, err := s.store.UpdateConversation(r.Context(), p.assistantID(), id, version, func(c *cv.Conversation) ([]cv.Log, error) {
		c.Rating = &cv.Rating{Score: *b.Score, Comment: b.Comment, CreatedAt: now}
		return []cv.Log{{Kind: cv.LogRating, Actor: p.actor(), Content: ratingText(*b.Score),
			Details: map[string]any{"score": *b.Score, "comment": b.Comment}}}, nil
	})
	if err != nil {
		return err
	}
	writeDetail(w, http.StatusOK, &c)
	return nil
}

func ratingText(score int) string {
	return "Rated " + strings.Repeat("★", score) + strings.Repeat("☆", 5-score) + " (" + string(rune('0'+score)) + "/5)"
}

// operatorView is an operator as the API shows it.
type operatorView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

func (s *Server) listOperators(w http.ResponseWriter, r *http.Request, p principal) error {
	ops, err := s.store.Operators(r.Context(), p.assistantID())
	if err != nil {
		return err
	}
	out := make([]operatorView, len(ops))
	for i, o := range ops {
		out[i] = operatorView{o.ID, o.Name, o.Email, o.Role}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out, "count": len(out)})
	return nil
}

// resolveAssignee fills in the name of a human_operator assignee whose id is one of the
// assistant's operators. Other ids are kept as given: teams that run their inbox elsewhere
// assign by that system's ids.
func (s *Server) resolveAssignee(r *http.Request, p principal, a *cv.Assignee) error {
	if a == nil || a.Type != cv.AssigneeOperator || a.ID == nil {
		return nil
	}
	op, err := s.store.Operator(r.Context(), p.assistantID(), *a.ID)
	if errors.Is(err, cv.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	a.Name = &op.Name
	return nil
}

// markHandoffs sets RequestsHuman on the visitor messages that ask for a human.
func (s *Server) markHandoffs(r *http.Request, p principal, msgs []cv.NewMessage) error {
	if s.cfg.RequestsHuman == nil {
		return nil
	}
	for i := range msgs {
		if msgs[i].Author != cv.AuthorVisitor {
			continue
		}
		st, err := s.settingsFor(r, p)
		if err != nil {
			return err
		}
		msgs[i].RequestsHuman = s.cfg.RequestsHuman(msgs[i].Content, st.HandoffKeywords)
	}
	return nil
}

type settingsMemoKey struct{}

// settingsMemo holds the assistant's settings for the length of one request (an import checks
// thousands of lines against them).
type settingsMemo struct {
	st     settings.Settings
	loaded bool
}

// settingsFor returns the caller's assistant settings, read once per request.
func (s *Server) settingsFor(r *http.Request, p principal) (settings.Settings, error) {
	memo, _ := r.Context().Value(settingsMemoKey{}).(*settingsMemo)
	if memo != nil && memo.loaded {
		return memo.st, nil
	}
	doc, err := s.store.Settings(r.Context(), p.assistantID())
	if err != nil {
		return settings.Settings{}, err
	}
	st, err := settings.Parse(doc)
	if err != nil {
		return st, err
	}
	if memo != nil {
		memo.st, memo.loaded = st, true
	}
	return st, nil
}

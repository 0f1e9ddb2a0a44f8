package web

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/links"
	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/settings"
)

// maxTimeline bounds the events one conversation page shows (the newest are kept).
const maxTimeline = 2000

// convData is the conversation page.
type convData struct {
	AID      string
	C        *cv.Conversation
	Visitor  string
	Known    bool
	Assignee string
	Mine     bool
	Events   []eventView
	LastOrd  int64
	Skipped  int64
	Insights insights
	Version  int64
	Delivers bool
	// What the person typed, kept when their change was not applied.
	Draft       string
	Meta        string
	MetaError   string
	Fields      map[string]string // visitor field -> value shown in the form
	FieldErrors map[string]string
	Conflict    string
	Done        string
	CSRF        string
}

type eventView struct {
	ID, Type    string
	Ord         int64
	At          time.Time
	Author      string
	AuthorLabel string
	Content     string
	Attachments []attachment
	Sources     []source
	Feedback    *feedback
	Handoff     string
	Welcome     bool
	LogKind     string
	Actor       string
	URL         string
}

type attachment struct{ Type, Name, URL string }
type source struct{ Title, URL string }
type feedback struct{ Rating, Comment string }

type insights struct {
	Analysed   bool
	Title      string
	Sentiment  string
	Topic      string
	Resolution string
	Flagged    bool
	FlagReason string
	Language   string
	Rating     *cv.Rating
	Stars      string
}

// conversationID reads {id}: anything but a UUID cannot exist.
func conversationID(r *http.Request) (string, bool) {
	v := r.PathValue("id")
	q := search.Parse(v)
	return q.UUID, q.UUID != "" && len(v) == 36
}

func (h *Handler) conversation(w http.ResponseWriter, r *http.Request, u *who) {
	id, ok := conversationID(r)
	if !ok {
		h.notFound(w, r, u)
		return
	}
	d, err := h.convData(r.Context(), u, id)
	if err != nil {
		h.convFail(w, r, u, err)
		return
	}
	d.Done = doneMessage(r.URL.Query().Get("done"))
	h.renderConversation(w, r, u, http.StatusOK, d)
}

func (h *Handler) renderConversation(w http.ResponseWriter, r *http.Request, u *who, status int, d *convData) {
	h.render(w, r, status, "conversation", &view{Title: d.Visitor + " · Conversation", Who: u, Nav: "inbox", Data: d, Live: "conversation"})
}

func (h *Handler) convFail(w http.ResponseWriter, r *http.Request, u *who, err error) {
	if errors.Is(err, cv.ErrNotFound) {
		h.notFound(w, r, u)
		return
	}
	h.fail(w, r, err)
}

func (h *Handler) convData(ctx context.Context, u *who, id string) (*convData, error) {
	aid := u.assistant.ID
	c, err := h.store.Conversation(ctx, aid, id)
	if err != nil {
		return nil, err
	}
	d := &convData{AID: aid, C: &c, Version: c.Version, Delivers: cv.SupportsInboxControl(c.Source),
		Assignee: assigneeName(c.Assignee), Mine: c.Assignee.ID != nil && *c.Assignee.ID == u.operator.ID,
		Fields: visitorFields(&c), FieldErrors: map[string]string{}, CSRF: u.csrf}
	d.Visitor = visitorName(&c)
	d.Known = d.Visitor != ""
	if !d.Known {
		d.Visitor = "Unknown visitor"
	}
	d.Insights = newInsights(&c)
	d.Meta = prettyJSON(c.ClientMetadata)
	evs, skipped, err := h.timeline(ctx, aid, id, c.EventCount, 0)
	if err != nil {
		return nil, err
	}
	d.Events, d.Skipped = evs, skipped
	d.LastOrd = c.EventCount
	if n := len(evs); n > 0 && evs[n-1].Ord > d.LastOrd {
		d.LastOrd = evs[n-1].Ord
	}
	return d, nil
}

// timeline reads a conversation's events after ord `after`, the newest maxTimeline of them.
func (h *Handler) timeline(ctx context.Context, aid, id string, last, after int64) ([]eventView, int64, error) {
	var skipped int64
	if last-after > maxTimeline {
		skipped = last - after - maxTimeline
		after = last - maxTimeline
	}
	var out []eventView
	f := cv.EventFilter{Limit: cv.MaxLimit}
	if after > 0 {
		f.AfterOrd = &after
	}
	for {
		page, err := h.store.Events(ctx, aid, id, f)
		if err != nil {
			return nil, 0, err
		}
		for i := range page.Items {
			out = append(out, newEventView(&page.Items[i]))
		}
		if len(page.Items) < f.Limit || len(out) >= maxTimeline {
			break
		}
		o := page.Items[len(page.Items)-1].Ord
		f.AfterOrd = &o
	}
	return out, skipped, nil
}

func newEventView(e *cv.Event) eventView {
	v := eventView{ID: e.ID, Type: e.Type, Ord: e.Ord, At: e.CreatedAt}
	switch {
	case e.Message != nil:
		m := e.Message
		v.Author, v.Content, v.Welcome = m.Author, m.Content, m.IsWelcome
		v.AuthorLabel = map[string]string{cv.AuthorVisitor: "Visitor", cv.AuthorAI: "AI assistant", cv.AuthorOperator: "Operator"}[m.Author]
		if m.HandoffState != nil {
			v.Handoff = *m.HandoffState
		}
		var atts []map[string]any
		_ = json.Unmarshal(m.Attachments, &atts)
		for _, a := range atts {
			at := attachment{Type: str(a["type"]), Name: str(a["name"]), URL: safeURL(str(a["url"]))}
			if at.Name == "" {
				at.Name = label(orDefault(at.Type, "attachment"))
			}
			v.Attachments = append(v.Attachments, at)
		}
		var srcs []map[string]any
		_ = json.Unmarshal(m.SourcesGenerated, &srcs)
		for _, s := range srcs {
			src := source{Title: str(s["title"]), URL: safeURL(str(s["url"]))}
			if src.Title == "" {
				src.Title = orDefault(src.URL, "source")
			}
			v.Sources = append(v.Sources, src)
		}
		var fb map[string]any
		if json.Unmarshal(m.Feedback, &fb) == nil && fb != nil {
			v.Feedback = &feedback{Rating: str(fb["rating"]), Comment: str(fb["comment"])}
		}
	case e.Log != nil:
		v.LogKind, v.Content = e.Log.Kind, e.Log.Content
		v.Actor = actorName(e.Log.Actor)
	case e.TrackedLink != nil:
		v.URL = safeURL(e.TrackedLink.URL)
		if v.URL == "" {
			v.URL = e.TrackedLink.URL
		}
	}
	return v
}

func actorName(a cv.Actor) string {
	if a.Name != nil && *a.Name != "" {
		return *a.Name
	}
	switch a.Type {
	case "api_token":
		return "API token"
	case "system":
		return "Parley"
	}
	return label(a.Type)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// safeURL keeps http(s) URLs only, so that a javascript: URL in data never becomes a link.
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

func newInsights(c *cv.Conversation) insights {
	in := insights{Rating: c.Rating}
	if c.Title != nil {
		in.Title = *c.Title
	}
	if c.MostFrequentLanguage != nil {
		in.Language = *c.MostFrequentLanguage
	}
	if c.Rating != nil {
		in.Stars = strings.Repeat("★", c.Rating.Score) + strings.Repeat("☆", 5-c.Rating.Score)
	}
	var ua map[string]any
	if json.Unmarshal(c.UnifiedAnalysis, &ua) == nil && ua != nil {
		in.Analysed = true
		in.Sentiment, in.Topic, in.Resolution, in.FlagReason = str(ua["sentiment"]), str(ua["topic"]), str(ua["resolution_status"]), str(ua["flag_reason"])
		in.Flagged, _ = ua["is_flagged"].(bool)
	}
	return in
}

func visitorFields(c *cv.Conversation) map[string]string {
	get := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return map[string]string{"visitor_name": get(c.VisitorName), "visitor_email": get(c.VisitorEmail),
		"visitor_phone_number": get(c.VisitorPhoneNumber), "visitor_label": get(c.VisitorLabel)}
}

func prettyJSON(m map[string]any) string {
	if m == nil {
		m = map[string]any{}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return string(b)
}

// conversationFragment answers a live page: the events after ord `after`, and the panel and
// header as they are now, as HTML fragments in JSON.
func (h *Handler) conversationFragment(w http.ResponseWriter, r *http.Request, u *who) {
	id, ok := conversationID(r)
	if !ok {
		h.notFound(w, r, u)
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	c, err := h.store.Conversation(r.Context(), u.assistant.ID, id)
	if err != nil {
		h.convFail(w, r, u, err)
		return
	}
	d, err := h.convData(r.Context(), u, id)
	if err != nil {
		h.convFail(w, r, u, err)
		return
	}
	evs, _, err := h.timeline(r.Context(), u.assistant.ID, id, c.EventCount, max(after, 0))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Events = evs
	out := map[string]any{"version": d.Version, "last_ord": d.LastOrd}
	for _, part := range []string{"events", "panel", "head"} {
		var html template.HTML
		if html, err = h.fragment("conversation", part, d); err != nil {
			h.fail(w, r, err)
			return
		}
		out[part] = html
	}
	out["count"] = len(evs)
	writeJSON(w, out)
}

// ---- actions ----

func doneMessage(action string) string {
	return map[string]string{
		"assign": "You took over this conversation.", "release": "Given back to the AI assistant.",
		"queue": "Moved to the unassigned queue.", "resolve": "Resolved.", "reopen": "Reopened.",
		"read": "Marked as read.", "unread": "Marked as unread.", "reply": "Reply sent.",
		"visitor": "Visitor details saved.", "metadata": "Metadata saved.",
	}[action]
}

// conversationAction changes a conversation from one of the page's forms. Every form carries
// the version the person saw: a change by someone else since then is a conflict, shown with
// the conversation as it is now, and what the person typed is kept.
func (h *Handler) conversationAction(w http.ResponseWriter, r *http.Request, u *who) {
	id, ok := conversationID(r)
	if !ok {
		h.notFound(w, r, u)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, u, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || version <= 0 {
		h.errorPage(w, r, u, http.StatusBadRequest, "Bad request", "The form did not say which version of the conversation it changes.")
		return
	}
	ctx := cv.WithActor(r.Context(), u.actor())
	action := r.PathValue("action")
	aid := u.assistant.ID
	var fail func(d *convData) // keeps what the person typed in a re-rendered page
	switch action {
	case "assign", "release", "queue", "resolve", "reopen", "read", "unread", "visitor":
		var p cv.Patch
		switch action {
		case "assign":
			me, name := u.operator.ID, u.operator.Name
			p.Assignee = &cv.Assignee{Type: cv.AssigneeOperator, ID: &me, Name: &name}
		case "release":
			p.Assignee = &cv.Assignee{Type: cv.AssigneeAI}
		case "queue":
			p.Assignee = &cv.Assignee{Type: cv.AssigneeUnassigned}
		case "resolve", "reopen":
			s := cv.StatusResolved
			if action == "reopen" {
				s = cv.StatusOpen
			}
			p.ResolutionStatus = &s
		case "read", "unread":
			b := action == "unread"
			p.HasUnreadMessages = &b
		case "visitor":
			field := func(name string) **string {
				v := strings.TrimSpace(r.PostFormValue(name))
				var s *string
				if v != "" {
					s = &v
				}
				return &s
			}
			p.VisitorName, p.VisitorEmail = field("visitor_name"), field("visitor_email")
			p.VisitorPhoneNumber, p.VisitorLabel = field("visitor_phone_number"), field("visitor_label")
			fail = func(d *convData) {
				for k := range d.Fields {
					d.Fields[k] = r.PostFormValue(k)
				}
			}
		}
		if err = p.Validate(); err == nil {
			_, err = h.store.UpdateConversation(ctx, aid, id, version, func(c *cv.Conversation) ([]cv.Log, error) {
				return p.Apply(c, u.actor()), nil
			})
		}
	case "metadata":
		text := r.PostFormValue("metadata")
		fail = func(d *convData) { d.Meta = text }
		err = h.saveMetadata(ctx, u, id, version, text)
	case "reply":
		text := strings.TrimSpace(r.PostFormValue("content"))
		fail = func(d *convData) { d.Draft = r.PostFormValue("content") }
		err = h.reply(ctx, r, u, id, version, text)
	default:
		h.notFound(w, r, u)
		return
	}
	if err != nil {
		h.actionFailed(w, r, u, id, err, fail)
		return
	}
	http.Redirect(w, r, "/a/"+aid+"/c/"+id+"?done="+action+"#"+anchorFor(action), http.StatusSeeOther)
}

func anchorFor(action string) string {
	switch action {
	case "reply":
		return "reply"
	case "visitor", "metadata":
		return action
	}
	return "main"
}

// errConflict is a change by someone else since the person's page was rendered.
var errConflict = errors.New("conflict")

func (h *Handler) actionFailed(w http.ResponseWriter, r *http.Request, u *who, id string, err error, keep func(*convData)) {
	var ve *cv.ValidationError
	status := http.StatusUnprocessableEntity
	conflict := ""
	switch {
	case errors.Is(err, cv.ErrPreconditionFailed), errors.Is(err, errConflict):
		status = http.StatusConflict
		conflict = "Someone else changed this conversation while you had it open, so your change was not applied. Here it is as it is now: check it, then try again."
	case errors.As(err, &ve):
	default:
		h.convFail(w, r, u, err)
		return
	}
	d, derr := h.convData(r.Context(), u, id)
	if derr != nil {
		h.convFail(w, r, u, derr)
		return
	}
	d.Conflict = conflict
	if keep != nil {
		keep(d)
	}
	if ve != nil {
		if strings.HasPrefix(ve.Field, "visitor_") {
			d.FieldErrors[ve.Field] = ve.Message
		} else if r.PathValue("action") == "reply" {
			d.FieldErrors["content"] = ve.Message
		} else {
			d.MetaError = metaFieldError(ve)
		}
	}
	h.renderConversation(w, r, u, status, d)
}

func metaFieldError(ve *cv.ValidationError) string {
	if ve.Field == "metadata" || ve.Field == "" {
		return ve.Message
	}
	return ve.Field + ": " + ve.Message
}

// saveMetadata replaces the conversation's metadata with the JSON object the person wrote,
// checked against the limits and the assistant's schema, as PUT .../metadata does.
func (h *Handler) saveMetadata(ctx context.Context, u *who, id string, version int64, text string) error {
	var body map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&body); err != nil || dec.More() || body == nil {
		return cv.Invalid("metadata", "must be one JSON object, such as {\"plan\": \"pro\"}")
	}
	st, err := h.settings(ctx, u.assistant.ID)
	if err != nil {
		return err
	}
	var schema *jsonschema.Schema
	if len(st.MetadataSchema) > 0 {
		if schema, err = settings.CompileSchema(st.MetadataSchema); err != nil {
			return err
		}
	}
	_, err = h.store.UpdateConversation(ctx, u.assistant.ID, id, version, func(c *cv.Conversation) ([]cv.Log, error) {
		next, err := cv.ApplyMetadata(c.ClientMetadata, cv.MetadataReplace, body)
		if err != nil {
			return nil, err
		}
		if err := settings.CheckMetadata(schema, next); err != nil {
			return nil, err
		}
		changed := cv.ChangedKeys(c.ClientMetadata, next)
		c.ClientMetadata = next
		if len(changed) == 0 {
			return nil, nil
		}
		return []cv.Log{cv.MetadataLog(u.actor(), changed)}, nil
	})
	return err
}

// reply appends the operator's message; the store queues its delivery on the channel.
func (h *Handler) reply(ctx context.Context, r *http.Request, u *who, id string, version int64, text string) error {
	if text == "" {
		return cv.Invalid("content", "write a reply first")
	}
	c, err := h.store.Conversation(ctx, u.assistant.ID, id)
	if err != nil {
		return err
	}
	if c.Version != version {
		return errConflict
	}
	m := cv.NewMessage{Author: cv.AuthorOperator, Content: text}
	if err := m.Validate(""); err != nil {
		return err
	}
	st, err := h.settings(ctx, u.assistant.ID)
	if err != nil {
		return err
	}
	links.Track(st.LinkTracking, h.publicURL(r), &m)
	_, _, err = h.store.AppendMessage(ctx, u.assistant.ID, id, m)
	return err
}

// publicURL is the address the outside world reaches this server on.
func (h *Handler) publicURL(r *http.Request) string {
	if h.opt.PublicURL != "" {
		return h.opt.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

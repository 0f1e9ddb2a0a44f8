package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/channel/widget"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/webhook"
)

// settingsData is the settings page (admins only).
type settingsData struct {
	AID        string
	Me         string
	S          settings.Settings
	Topics     []settings.Topic // the assistant's topics and an empty one to add
	Keywords   string
	AutoAfter  string
	Schema     string
	Errors     map[string]string
	Channels   []channelView
	Snippet    string
	Origins    string
	Webhooks   []webhookView
	EventTypes []string
	Tokens     []cv.Token
	Operators  []cv.Operator
	// Secret is a token or webhook secret just created: shown on this page once.
	Secret      string
	SecretWhat  string
	Saved       string
	ChannelForm map[string]map[string]bool // channel -> secret field -> set
}

type channelView struct {
	Name, Label, WebhookURL string
	Configured              bool
	Help                    string
}

type webhookView struct {
	store.Webhook
	Deliveries []store.Delivery
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, u *who) {
	d, err := h.settingsData(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Saved = savedMessage(r.URL.Query().Get("saved"))
	h.renderSettings(w, r, u, http.StatusOK, d)
}

func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, u *who, status int, d *settingsData) {
	h.render(w, r, status, "settings", &view{Title: "Settings", Who: u, Nav: "settings", Data: d})
}

func savedMessage(k string) string {
	return map[string]string{
		"general": "Settings saved.", "channels": "Channel settings saved.", "webhook-toggle": "Webhook updated.",
		"webhook-delete": "Webhook deleted.", "webhook-redeliver": "The delivery will be sent again.",
		"token-revoke": "Token revoked.", "operator-add": "Operator added.", "operator-role": "Role changed.",
		"operator-remove": "Operator removed from this assistant.",
	}[k]
}

func (h *Handler) settingsData(r *http.Request, u *who) (*settingsData, error) {
	ctx := r.Context()
	aid := u.assistant.ID
	st, err := h.settings(ctx, aid)
	if err != nil {
		return nil, err
	}
	d := &settingsData{AID: aid, Me: u.operator.ID, S: st, Errors: map[string]string{}, EventTypes: cv.ChangeTypes}
	d.Topics = append(append([]settings.Topic(nil), st.Topics...), settings.Topic{})
	d.Keywords = strings.Join(st.HandoffKeywords, "\n")
	if st.AutoResolveAfter != nil {
		b, _ := json.Marshal(st.AutoResolveAfter)
		_ = json.Unmarshal(b, &d.AutoAfter)
	}
	if len(st.MetadataSchema) > 0 {
		var v any
		_ = json.Unmarshal(st.MetadataSchema, &v)
		b, _ := json.MarshalIndent(v, "", "  ")
		d.Schema = string(b)
	}
	base := h.publicURL(r)
	ch := st.Channels
	d.Channels = []channelView{
		{Name: "telegram", Label: "Telegram", WebhookURL: base + "/channels/telegram/" + aid, Configured: ch.Telegram != nil && ch.Telegram.BotToken != "",
			Help: "Set it with the Bot API's setWebhook (url and secret_token)."},
		{Name: "slack", Label: "Slack", WebhookURL: base + "/channels/slack/" + aid, Configured: ch.Slack != nil && ch.Slack.BotToken != "",
			Help: "Paste it as the Request URL of your Slack app's Event Subscriptions."},
		{Name: "whatsapp", Label: "WhatsApp", WebhookURL: base + "/channels/whatsapp/" + aid, Configured: ch.WhatsApp != nil && ch.WhatsApp.AccessToken != "",
			Help: "Paste it as the Callback URL of your WhatsApp Cloud API app, with the verify token below."},
	}
	d.Snippet = widget.Snippet(base, aid)
	if ch.Widget != nil {
		d.Origins = strings.Join(ch.Widget.AllowedOrigins, "\n")
	}
	d.ChannelForm = map[string]map[string]bool{
		"telegram": {"bot_token": ch.Telegram != nil && ch.Telegram.BotToken != "", "secret_token": ch.Telegram != nil && ch.Telegram.SecretToken != ""},
		"slack":    {"signing_secret": ch.Slack != nil && ch.Slack.SigningSecret != "", "bot_token": ch.Slack != nil && ch.Slack.BotToken != ""},
		"whatsapp": {"app_secret": ch.WhatsApp != nil && ch.WhatsApp.AppSecret != "", "verify_token": ch.WhatsApp != nil && ch.WhatsApp.VerifyToken != "",
			"access_token": ch.WhatsApp != nil && ch.WhatsApp.AccessToken != ""},
	}
	hooks, err := h.store.Webhooks(ctx, aid)
	if err != nil {
		return nil, err
	}
	for _, wh := range hooks {
		page, err := h.store.WebhookDeliveries(ctx, aid, wh.ID, store.DeliveryFilter{Limit: 10})
		if err != nil {
			return nil, err
		}
		d.Webhooks = append(d.Webhooks, webhookView{Webhook: wh, Deliveries: page.Items})
	}
	if d.Tokens, err = h.store.Tokens(ctx, aid); err != nil {
		return nil, err
	}
	slices.Reverse(d.Tokens)
	if d.Operators, err = h.store.Operators(ctx, aid); err != nil {
		return nil, err
	}
	return d, nil
}

// settingsAction saves one section of the settings page.
func (h *Handler) settingsAction(w http.ResponseWriter, r *http.Request, u *who) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, u, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	ctx := cv.WithActor(r.Context(), u.actor())
	aid := u.assistant.ID
	section := r.PathValue("section")
	var err error
	var keep func(*settingsData)
	var secret, secretWhat string
	switch section {
	case "general":
		var patch map[string]any
		patch, keep, err = generalPatch(r)
		if err == nil {
			err = h.patchSettings(ctx, aid, patch)
		}
	case "channels":
		err = h.patchSettings(ctx, aid, channelsPatch(r))
		keep = func(d *settingsData) { d.Origins = r.PostFormValue("allowed_origins") }
	case "webhook-create":
		secret, err = h.createWebhook(ctx, aid, r)
		secretWhat = "webhook signing secret"
	case "webhook-toggle", "webhook-delete":
		id := r.PostFormValue("id")
		if section == "webhook-delete" {
			err = h.store.DeleteWebhook(ctx, aid, id)
		} else {
			enable := r.PostFormValue("enabled") == "true"
			now := h.now().UTC()
			_, err = h.store.UpdateWebhook(ctx, aid, id, func(wh *store.Webhook) error {
				if enable != wh.Enabled {
					wh.Enabled = enable
					if enable {
						wh.DisabledReason, wh.DisabledAt = nil, nil
					} else {
						reason := "Disabled by " + u.operator.Name + " in the dashboard."
						wh.DisabledReason, wh.DisabledAt = &reason, &now
					}
				}
				return nil
			})
		}
	case "webhook-redeliver":
		_, err = h.store.RedeliverWebhookDelivery(ctx, aid, r.PostFormValue("id"), r.PostFormValue("delivery"))
	case "token-create":
		secret, err = h.createToken(ctx, aid, r)
		secretWhat = "API token"
	case "token-revoke":
		err = h.revokeToken(ctx, aid, r.PostFormValue("id"))
	case "operator-add", "operator-role", "operator-remove":
		err = h.operatorAction(ctx, u, section, r)
	default:
		h.notFound(w, r, u)
		return
	}
	if err != nil {
		var ve *cv.ValidationError
		switch {
		case errors.As(err, &ve):
		case errors.Is(err, cv.ErrNotFound):
			h.notFound(w, r, u)
			return
		case errors.Is(err, cv.ErrConflict):
			ve = &cv.ValidationError{Field: "root", Message: err.Error()}
		default:
			h.fail(w, r, err)
			return
		}
		d, derr := h.settingsData(r, u)
		if derr != nil {
			h.fail(w, r, derr)
			return
		}
		if keep != nil {
			keep(d)
		}
		d.Errors[section+":"+ve.Field] = ve.Message
		d.Errors[section] = ve.Field + ": " + ve.Message
		h.renderSettings(w, r, u, http.StatusUnprocessableEntity, d)
		return
	}
	if secret != "" {
		// Shown once, on this answer: never in a URL, never stored in the clear.
		d, derr := h.settingsData(r, u)
		if derr != nil {
			h.fail(w, r, derr)
			return
		}
		d.Secret, d.SecretWhat = secret, secretWhat
		h.renderSettings(w, r, u, http.StatusOK, d)
		return
	}
	http.Redirect(w, r, "/a/"+aid+"/settings?saved="+section+"#"+strings.SplitN(section, "-", 2)[0], http.StatusSeeOther)
}

func (h *Handler) patchSettings(ctx context.Context, aid string, patch map[string]any) error {
	b, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	doc, err := h.store.Settings(ctx, aid)
	if err != nil {
		return err
	}
	st, err := settings.Patch(doc, b)
	if err != nil {
		return err
	}
	return h.store.SaveSettings(ctx, aid, st.Marshal())
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// generalPatch reads the general settings form into a merge patch.
func generalPatch(r *http.Request) (map[string]any, func(*settingsData), error) {
	f := r.PostForm
	var topics []settings.Topic
	names, descs, examples, removes := f["topic_name"], f["topic_description"], f["topic_examples"], f["topic_remove"]
	for i := range names {
		name := strings.TrimSpace(names[i])
		if name == "" || slices.Contains(removes, itoa(i)) {
			continue
		}
		t := settings.Topic{Name: name, Examples: []string{}}
		if i < len(descs) {
			t.Description = strings.TrimSpace(descs[i])
		}
		if i < len(examples) {
			t.Examples = lines(examples[i])
		}
		topics = append(topics, t)
	}
	if topics == nil {
		topics = []settings.Topic{}
	}
	patch := map[string]any{
		"topics": topics, "handoff_keywords": lines(f.Get("handoff_keywords")),
		"link_tracking": f.Get("link_tracking") == "on", "rating_active": f.Get("rating_active") == "on",
	}
	if a := strings.TrimSpace(f.Get("auto_resolve_after")); a != "" {
		patch["auto_resolve_after"] = a
	} else {
		patch["auto_resolve_after"] = nil
	}
	schema := strings.TrimSpace(f.Get("metadata_schema"))
	keep := func(d *settingsData) {
		d.Topics = append(topics, settings.Topic{})
		d.Keywords, d.AutoAfter, d.Schema = f.Get("handoff_keywords"), f.Get("auto_resolve_after"), f.Get("metadata_schema")
	}
	if schema == "" {
		patch["metadata_schema"] = nil
	} else {
		var v any
		if err := json.Unmarshal([]byte(schema), &v); err != nil {
			return nil, keep, cv.Invalid("metadata_schema", "is not valid JSON: %v", err)
		}
		// A merge patch would merge the old schema into the new one: clear it first.
		patch["metadata_schema"] = v
	}
	return patch, keep, nil
}

// channelsPatch reads the channels form: secrets left empty keep their stored value.
func channelsPatch(r *http.Request) map[string]any {
	f := r.PostForm
	ch := map[string]any{}
	for name, fields := range map[string][]string{
		"telegram": {"bot_token", "secret_token", "api_base_url"},
		"slack":    {"signing_secret", "bot_token", "api_base_url"},
		"whatsapp": {"app_secret", "verify_token", "access_token", "phone_number_id", "api_base_url"},
	} {
		part := map[string]any{}
		for _, k := range fields {
			if v := strings.TrimSpace(f.Get(name + "." + k)); v != "" {
				part[k] = v
			}
		}
		if f.Get(name+".remove") == "on" {
			ch[name] = nil
		} else if len(part) > 0 {
			ch[name] = part
		}
	}
	ch["widget"] = map[string]any{"allowed_origins": lines(f.Get("allowed_origins"))}
	return map[string]any{"channels": ch}
}

func (h *Handler) createWebhook(ctx context.Context, aid string, r *http.Request) (string, error) {
	u := strings.TrimSpace(r.PostFormValue("url"))
	if err := webhook.CheckURL("url", u); err != nil {
		return "", err
	}
	desc := strings.TrimSpace(r.PostFormValue("description"))
	if err := webhook.CheckDescription("description", desc); err != nil {
		return "", err
	}
	types, err := webhook.CheckEventTypes("event_types", r.PostForm["event_types"])
	if err != nil {
		return "", err
	}
	n := store.NewWebhook{URL: u, Description: desc, EventTypes: types, Secret: webhook.NewSecret()}
	if _, err := h.store.CreateWebhook(ctx, aid, n); err != nil {
		return "", err
	}
	return n.Secret, nil
}

func (h *Handler) createToken(ctx context.Context, aid string, r *http.Request) (string, error) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 100 {
		return "", cv.Invalid("name", "give the token a name of at most 100 characters")
	}
	scope := cv.Scope(r.PostFormValue("scope"))
	if !scope.Valid() {
		return "", cv.Invalid("scope", "must be read_all or write_all")
	}
	secret, t := auth.NewToken(aid, scope, name, auth.DefaultTTL, h.now())
	return secret, h.store.CreateToken(ctx, t)
}

func (h *Handler) revokeToken(ctx context.Context, aid, id string) error {
	list, err := h.store.Tokens(ctx, aid)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(list, func(t cv.Token) bool { return t.ID == id }) {
		return cv.ErrNotFound
	}
	return h.store.RevokeToken(ctx, id, h.now())
}

func (h *Handler) operatorAction(ctx context.Context, u *who, section string, r *http.Request) error {
	aid := u.assistant.ID
	role := r.PostFormValue("role")
	if section != "operator-remove" && role != cv.RoleOperator && role != cv.RoleAdmin {
		return cv.Invalid("role", "must be operator or admin")
	}
	if section == "operator-add" {
		name, email := strings.TrimSpace(r.PostFormValue("name")), strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
		if name == "" || len(name) > 200 {
			return cv.Invalid("name", "is required")
		}
		if !strings.Contains(email, "@") || len(email) > 254 {
			return cv.Invalid("email", "must be an email address")
		}
		op, err := h.store.OperatorByEmail(ctx, email)
		if errors.Is(err, cv.ErrNotFound) {
			// A new person: the admin sets a first password. (An existing person keeps theirs:
			// an admin of one assistant never changes the password of a member of another.)
			hash, herr := auth.HashPassword(r.PostFormValue("password"))
			if herr != nil {
				return cv.Invalid("password", "%v", herr)
			}
			op, err = h.store.CreateOperator(ctx, name, email, hash)
		}
		if err != nil {
			return err
		}
		return h.store.AddMembership(ctx, op.ID, aid, role)
	}
	id := r.PostFormValue("id")
	op, err := h.store.Operator(ctx, aid, id)
	if err != nil {
		return err
	}
	if op.ID == u.operator.ID {
		return cv.Invalid("id", "you cannot change your own role or remove yourself; ask another admin")
	}
	if section == "operator-remove" {
		return h.store.RemoveMembership(ctx, op.ID, aid)
	}
	return h.store.AddMembership(ctx, op.ID, aid, role)
}

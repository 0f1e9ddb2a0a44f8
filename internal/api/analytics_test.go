package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
)

const analyticsP = "/v1/api_core/analytics"

// seedAnalytics imports demo conversations through the API and then gives them analyses,
// operators, requests for a human, metadata and tracked-link clicks.
func seedAnalytics(t *testing.T, e *apitest.Env, n int) {
	t.Helper()
	ctx := t.Context()
	c := clientOf(t, e, e.A.Write)
	var nd bytes.Buffer
	for _, conv := range demo.Generate(11, n, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), 45*24*time.Hour) {
		b, err := json.Marshal(conv)
		if err != nil {
			t.Fatal(err)
		}
		nd.Write(append(b, '\n'))
	}
	res, err := c.Conversations.Import(ctx, &nd)
	if err != nil || res.Imported != n {
		t.Fatalf("import: %+v %v", res, err)
	}
	i := 0
	for conv, err := range c.Conversations.All(ctx, client.ListOptions{Sort: client.SortOrd}) {
		if err != nil {
			t.Fatal(err)
		}
		i++
		if i%3 != 0 {
			sentiment := cv.Sentiments[i%3]
			topic := []string{"Returns", "Shipping", "Billing", "Returns, refunds"}[i%4]
			lang := []string{"en", "de", "fr"}[i%3]
			flagged := i%7 == 0
			ua := fmt.Sprintf(`{"sentiment":%q,"topic":%q,"is_flagged":%v,"flag_reason":null,"resolution_status":"open"}`, sentiment, topic, flagged)
			if _, err := e.Store.SaveAnalysis(ctx, e.A.ID, conv.ID, cv.Analysis{Unified: json.RawMessage(ua),
				Sentiment: &sentiment, Topic: &topic, Language: &lang, IsFlagged: flagged}); err != nil {
				t.Fatal(err)
			}
		}
		if i%10 == 0 {
			if _, err := c.Conversations.Update(ctx, conv.ID, client.ConversationPatch{Assignee: &client.Assignee{Type: client.AssigneeOperator, ID: client.Ptr("op-1")}}); err != nil {
				t.Fatal(err)
			}
		}
		if i%13 == 0 {
			if _, _, err := c.Conversations.AppendMessage(ctx, conv.ID, client.NewMessage{Author: client.AuthorVisitor, Content: "a person please", HandoffState: client.Ptr("requested")}); err != nil {
				t.Fatal(err)
			}
		}
		if i%4 == 0 {
			if _, err := c.Conversations.SetMetadata(ctx, conv.ID, map[string]any{"plan": "pro"}); err != nil {
				t.Fatal(err)
			}
		}
		if i%11 == 0 {
			link := cv.NewLink{ID: fmt.Sprintf("Lanalytics%012d", i), URL: "https://shop.example/a"}
			if _, _, err := e.Store.AppendMessage(ctx, e.A.ID, conv.ID, cv.NewMessage{Author: cv.AuthorAI, Content: "see the link", Links: []cv.NewLink{link}}); err != nil {
				t.Fatal(err)
			}
			for range i%3 + 1 {
				if _, err := e.Store.ClickLink(ctx, link.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// oracle answers what the analytics should say from the list, detail and events endpoints.
type oracle struct {
	t       *testing.T
	e       *apitest.Env
	details map[string]map[string]any
	tl      map[string][]any
}

func (o *oracle) detail(id string) map[string]any {
	if o.details[id] == nil {
		o.details[id] = detail(o.t, o.e, o.e.A.Read, id)
	}
	return o.details[id]
}

func (o *oracle) timeline(id string) []any {
	if o.tl[id] == nil {
		o.tl[id] = wholeTimeline(o.t, o.e, o.e.A.Read, id)
	}
	return o.tl[id]
}

// counts computes a group's numbers from its conversations' detail objects and timelines.
func (o *oracle) counts(ids []string) client.Counts {
	var n client.Counts
	for _, id := range ids {
		n.Conversations++
		d := o.detail(id)
		handed := d["assignee"].(map[string]any)["type"] == "human_operator"
		for _, ev := range o.timeline(id) {
			ev := ev.(map[string]any)
			data := ev["data"].(map[string]any)
			switch ev["type"] {
			case "message":
				n.Messages++
				state, _ := data["handoff_state"].(string)
				handed = handed || data["author"] == "human_operator" || state == "requested" || state == "accepted"
			case "tracked_link":
				n.TrackedLinkClicks++
			case "log":
				details, _ := data["details"].(map[string]any)
				state, _ := details["handoff_state"].(string)
				handed = handed || data["kind"] == "handoff" && (state == "requested" || state == "accepted")
			}
		}
		if handed {
			n.HandedOff++
		}
		if ua, _ := d["unified_analysis"].(map[string]any); ua != nil && ua["is_flagged"] == true {
			n.Flagged++
		}
	}
	return n
}

// groupQuery adds a group's key to a list query; it reports false for keys the list cannot
// filter by (no value, or a comma in a comma-list filter), whose conversations the caller
// picks from the detail objects.
func groupQuery(base url.Values, dim string, key *string) (url.Values, bool) {
	v := url.Values{}
	for k, vs := range base {
		v[k] = slices.Clone(vs)
	}
	if key == nil || strings.Contains(*key, ",") {
		return v, false
	}
	day, _ := time.Parse(time.DateOnly, *key)
	switch dim {
	case "day":
		v.Set("created_timestamp_start_date", *key)
		v.Set("created_timestamp_end_date", *key)
	case "week":
		v.Set("created_timestamp_start_date", *key)
		v.Set("created_timestamp_end_date", day.AddDate(0, 0, 6).Format(time.DateOnly))
	case "month":
		first, _ := time.Parse("2006-01", *key)
		v.Set("created_timestamp_start_date", first.Format(time.DateOnly))
		v.Set("created_timestamp_end_date", first.AddDate(0, 1, -1).Format(time.DateOnly))
	case "language":
		v.Set("most_frequent_language", *key)
	default:
		v.Set(dim, *key)
	}
	return v, true
}

var detailField = map[string]func(d map[string]any) any{
	"sentiment": func(d map[string]any) any { return analysisField(d, "sentiment") },
	"topic":     func(d map[string]any) any { return analysisField(d, "topic") },
	"language": func(d map[string]any) any {
		if s, _ := d["most_frequent_language"].(string); s != "" {
			return s
		}
		return nil
	},
}

func analysisField(d map[string]any, k string) any {
	if ua, _ := d["unified_analysis"].(map[string]any); ua != nil {
		return ua[k]
	}
	return nil
}

// check compares one analytics answer with the oracle.
func (o *oracle) check(base url.Values, groupBy ...string) {
	t := o.t
	t.Helper()
	query := url.Values{}
	for k, vs := range base {
		query[k] = vs
	}
	if len(groupBy) > 0 {
		query.Set("group_by", strings.Join(groupBy, ","))
	}
	what := "analytics?" + query.Encode()
	var a client.Analytics
	getRaw(t, o.e, o.e.A.Read, analyticsP+"?"+query.Encode(), 200).JSON(t, &a)
	all := listAll(t, o.e, o.e.A.Read, base)
	var allIDs []string
	for _, it := range all {
		allIDs = append(allIDs, it["id"].(string))
	}
	sameCounts(t, what+" total", a.Total, o.counts(allIDs))
	var sum int64
	for _, g := range a.Groups {
		sum += g.Conversations
		v := base
		members := map[string]bool{}
		filterable := true
		var inexact []string
		for _, dim := range groupBy {
			var ok bool
			if v, ok = groupQuery(v, dim, g.Key[dim]); !ok {
				filterable = false
				inexact = append(inexact, dim)
			}
		}
		for _, it := range listAll(t, o.e, o.e.A.Read, v) {
			id := it["id"].(string)
			keep := true
			for _, dim := range inexact {
				var want any
				if k := g.Key[dim]; k != nil {
					want = *k
				}
				keep = keep && detailField[dim](o.detail(id)) == want
			}
			if keep {
				members[id] = true
			}
		}
		ids := slices.Sorted(func(yield func(string) bool) {
			for id := range members {
				if !yield(id) {
					return
				}
			}
		})
		gw := fmt.Sprintf("%s group %v", what, g.Key)
		sameCounts(t, gw, g.Counts, o.counts(ids))
		if filterable {
			// The list's own is_flagged filter agrees too.
			v.Set("is_flagged", "true")
			var p page
			getRaw(t, o.e, o.e.A.Read, convs+"?"+v.Encode(), 200).JSON(t, &p)
			if int64(p.Count) != g.Flagged {
				t.Errorf("%s: flagged %d, the list with is_flagged=true %d", gw, g.Flagged, p.Count)
			}
		}
		if len(g.Key) != len(groupBy) {
			t.Errorf("%s: key %v", gw, g.Key)
		}
	}
	if len(groupBy) > 0 && sum != int64(len(allIDs)) {
		t.Errorf("%s: the groups hold %d conversations, the list %d", what, sum, len(allIDs))
	}
}

func sameCounts(t *testing.T, what string, got client.Counts, want client.Counts) {
	t.Helper()
	n := float64(want.Conversations)
	if n > 0 {
		want.MessagesPerConversation = float64(want.Messages) / n
		want.HandoffShare = float64(want.HandedOff) / n
		want.FlaggedShare = float64(want.Flagged) / n
	}
	close := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if got.Conversations != want.Conversations || got.Messages != want.Messages || got.HandedOff != want.HandedOff ||
		got.Flagged != want.Flagged || got.TrackedLinkClicks != want.TrackedLinkClicks ||
		!close(got.MessagesPerConversation, want.MessagesPerConversation) || !close(got.HandoffShare, want.HandoffShare) || !close(got.FlaggedShare, want.FlaggedShare) {
		t.Errorf("%s:\n got  %+v\n want %+v (from the list, detail and events endpoints)", what, got, want)
	}
}

// TestAnalyticsAgreesWithTheList checks the aggregates against counts computed from the list
// endpoint (and the detail and events of the conversations it lists), for several filters
// and groupings, on both engines.
func TestAnalyticsAgreesWithTheList(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		seedAnalytics(t, e, 120)
		o := &oracle{t: t, e: e, details: map[string]map[string]any{}, tl: map[string][]any{}}
		filters := []url.Values{
			{},
			q("source", "widget"),
			q("resolution_status", "open", "sentiment", "negative,neutral"),
			q("metadata.plan", "pro"),
			q("last_message_at_start_date", "2026-01-01", "last_message_at_end_date", "2026-01-20"),
			q("is_flagged", "true"),
			q("assignee_type", "human_operator,unassigned"),
			q("topic", "Returns, refunds"),
		}
		for _, f := range filters {
			o.check(f)
			for _, g := range cv.GroupBys {
				o.check(f, g)
			}
		}
		o.check(url.Values{}, "day", "source")
		o.check(url.Values{}, "sentiment", "assignee_type")
		o.check(q("source", "widget,whatsapp"), "week", "topic")
		o.check(url.Values{}, "month", "language")
		o.check(url.Values{}, "resolution_status", "sentiment")
		// sort means nothing to counts and is accepted; repeated group_by works like a list.
		var a, b client.Analytics
		getRaw(t, e, e.A.Read, analyticsP+"?group_by=source&group_by=day&sort=-ord", 200).JSON(t, &a)
		getRaw(t, e, e.A.Read, analyticsP+"?group_by=source,day", 200).JSON(t, &b)
		if !slices.Equal(a.GroupBy, []string{"source", "day"}) || len(a.Groups) != len(b.Groups) || a.Total != b.Total {
			t.Errorf("repeated group_by: %v %d groups, comma list %d groups", a.GroupBy, len(a.Groups), len(b.Groups))
		}
	})
}

func TestAnalyticsShape(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		// No conversations: zero counts, no groups, no division by zero.
		r := obj(t, getRaw(t, e, e.A.Read, analyticsP+"?group_by=day", 200))
		keysAre(t, "analytics", r, "group_by", "tz", "groups", "total")
		equalJSON(t, "empty analytics", r, map[string]any{"group_by": []any{"day"}, "tz": "UTC", "groups": []any{},
			"total": map[string]any{"conversations": 0, "messages": 0, "messages_per_conversation": 0, "handed_off": 0, "handoff_share": 0,
				"flagged": 0, "flagged_share": 0, "tracked_link_clicks": 0}})
		r = obj(t, getRaw(t, e, e.A.Read, analyticsP, 200))
		equalJSON(t, "no group_by", r["group_by"], []any{})

		c := clientOf(t, e, e.A.Write)
		at := func(s string) *time.Time { v, _ := time.Parse(time.RFC3339, s); return &v }
		for _, n := range []client.NewConversation{
			{Source: client.SourceWidget, CreatedAt: at("2026-03-01T23:30:00Z"), Messages: []client.NewMessage{{Author: client.AuthorVisitor, Content: "a", CreatedAt: at("2026-03-01T23:30:00Z")}}},
			{Source: client.SourceWidget, CreatedAt: at("2026-03-02T08:00:00Z"), Messages: []client.NewMessage{
				{Author: client.AuthorVisitor, Content: "b", CreatedAt: at("2026-03-02T08:00:00Z")}, {Author: client.AuthorOperator, Content: "c", CreatedAt: at("2026-03-02T08:01:00Z")}}},
			{Source: client.SourceSlack, CreatedAt: at("2026-02-27T10:00:00Z")},
		} {
			if _, _, err := c.Conversations.Create(t.Context(), n); err != nil {
				t.Fatal(err)
			}
		}
		r = obj(t, getRaw(t, e, e.A.Read, analyticsP+"?group_by=week,source", 200))
		equalJSON(t, "week x source", r, map[string]any{"group_by": []any{"week", "source"}, "tz": "UTC",
			"groups": []any{
				map[string]any{"key": map[string]any{"week": "2026-02-23", "source": "slack"}, "conversations": 1, "messages": 0, "messages_per_conversation": 0,
					"handed_off": 0, "handoff_share": 0, "flagged": 0, "flagged_share": 0, "tracked_link_clicks": 0},
				map[string]any{"key": map[string]any{"week": "2026-02-23", "source": "widget"}, "conversations": 1, "messages": 1, "messages_per_conversation": 1,
					"handed_off": 0, "handoff_share": 0, "flagged": 0, "flagged_share": 0, "tracked_link_clicks": 0},
				map[string]any{"key": map[string]any{"week": "2026-03-02", "source": "widget"}, "conversations": 1, "messages": 2, "messages_per_conversation": 2,
					"handed_off": 1, "handoff_share": 1, "flagged": 0, "flagged_share": 0, "tracked_link_clicks": 0},
			},
			"total": map[string]any{"conversations": 3, "messages": 3, "messages_per_conversation": 1, "handed_off": 1, "handoff_share": 1.0 / 3,
				"flagged": 0, "flagged_share": 0, "tracked_link_clicks": 0}})
		// In Tokyo, 23:30 UTC on Sunday the 1st is Monday the 2nd: a week later.
		var tokyo client.Analytics
		getRaw(t, e, e.A.Read, analyticsP+"?group_by=day&tz=Asia/Tokyo", 200).JSON(t, &tokyo)
		var days []string
		for _, g := range tokyo.Groups {
			days = append(days, g.KeyOf("day")+fmt.Sprint("=", g.Conversations))
		}
		if tokyo.TZ != "Asia/Tokyo" || !slices.Equal(days, []string{"2026-02-27=1", "2026-03-02=2"}) {
			t.Errorf("Tokyo days: %v (%s)", days, tokyo.TZ)
		}
		// A name of UTC is UTC.
		var etc client.Analytics
		getRaw(t, e, e.A.Read, analyticsP+"?group_by=day&tz=Etc/UTC", 200).JSON(t, &etc)
		if etc.TZ != "UTC" || len(etc.Groups) != 3 || etc.Groups[0].KeyOf("day") != "2026-02-27" {
			t.Errorf("tz=Etc/UTC: %+v", etc)
		}
		// A sentiment key is null before the analysis.
		var sent client.Analytics
		getRaw(t, e, e.A.Read, analyticsP+"?group_by=sentiment", 200).JSON(t, &sent)
		if len(sent.Groups) != 1 || sent.Groups[0].Key["sentiment"] != nil || sent.Groups[0].Conversations != 3 {
			t.Errorf("sentiment before any analysis: %+v", sent.Groups)
		}
		// Tenancy.
		var other client.Analytics
		getRaw(t, e, e.B.Read, analyticsP, 200).JSON(t, &other)
		if other.Total.Conversations != 0 {
			t.Errorf("B counts A's conversations: %+v", other.Total)
		}
	})
}

func TestAnalyticsBadParams(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		for _, tc := range []struct{ q, key string }{
			{"group_by=hour", "group_by"},
			{"group_by=day,source,topic", "group_by"},
			{"group_by=day&group_by=day", "group_by"},
			{"tz=Mars/Olympus", "tz"},
			{"tz=Local", "tz"},
			{"limit=5", "limit"},
			{"offset=1", "offset"},
			{"cursor=x", "cursor"},
			{"source=fax", "source"},
			{"is_flagged=maybe", "is_flagged"},
			{"sort=best", "sort"},
		} {
			wantError(t, e.Do("GET", analyticsP+"?"+tc.q, e.A.Read, nil), 400, tc.key, "BAD_REQUEST")
		}
		wantError(t, e.Do("GET", analyticsP, "", nil), 401, "root", "PERMISSION_DENIED")
		wantError(t, e.Do("POST", analyticsP, e.A.Write, map[string]any{}), 405, "root", "METHOD_NOT_ALLOWED")
	})
}

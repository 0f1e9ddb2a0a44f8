package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/store"
)

// signIn signs the target's operator in to the dashboard as a browser does (the sign-in page's
// form token and cookie, then the form) and returns the session cookie ("name=value").
func signIn(ctx context.Context, c *client, op *Operator) (string, error) {
	hc := &http.Client{Transport: c.hc.Transport, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/signin", nil)
	if err != nil {
		return "", err
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindSubmatch(body)
	if m == nil || res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("dashboard sign-in page: status %d without a form token", res.StatusCode)
	}
	form := url.Values{"email": {op.Email}, "password": {op.Password}, "token": {html.UnescapeString(string(m[1]))}}
	req, err = http.NewRequestWithContext(ctx, "POST", c.base+"/signin", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	for _, ck := range res.Cookies() {
		req.AddCookie(ck)
	}
	res, err = hc.Do(req)
	if err != nil {
		return "", err
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Value != "" && ck.MaxAge >= 0 && strings.Contains(ck.Name, "session") {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", errors.New("dashboard sign-in: no session cookie (status " + res.Status + ")")
}

// analyticsRequest is one of the dashboard's aggregate queries, in turn: conversations per day
// by sentiment over the last 30 days, the topics, the sources by month, and the languages of
// one source. Each answer's total must be the data set's count of what it covers.
func (w *world) analyticsRequest(i int) request {
	end := w.facts.End.Truncate(24 * time.Hour).Add(24 * time.Hour)
	var q url.Values
	want := w.total
	switch i % 4 {
	case 0:
		from := end.AddDate(0, 0, -30)
		q = url.Values{"group_by": {"day,sentiment"}, "created_timestamp_start_date": {from.Format(time.DateOnly)},
			"created_timestamp_end_date": {end.AddDate(0, 0, -1).Format(time.DateOnly)}}
		want = 0
		for src := range w.facts.CreatedBySource {
			want += w.facts.CountCreated(src, from, end)
		}
	case 1:
		q = url.Values{"group_by": {"topic"}}
	case 2:
		q = url.Values{"group_by": {"source,month"}}
	default:
		q = url.Values{"group_by": {"language"}, "source": {w.filterSrc}}
		want = w.facts.CountCreated(w.filterSrc, w.facts.Start.Add(-time.Hour), end)
	}
	aq, qerr := api.ParseAnalyticsQuery(q)
	check := func(total int64, groups int) error {
		if total != want {
			return fmt.Errorf("analytics %s: total %d, want %d", q.Encode(), total, want)
		}
		if groups == 0 && want > 0 {
			return fmt.Errorf("analytics %s: no groups", q.Encode())
		}
		return nil
	}
	return request{
		kind: KindAnalytics, path: "/v1/api_core/analytics?" + q.Encode(),
		check: func(status int, body []byte) error {
			var a struct {
				Total struct {
					Conversations int64 `json:"conversations"`
				} `json:"total"`
				Groups []json.RawMessage `json:"groups"`
			}
			if status != http.StatusOK {
				return fmt.Errorf("analytics %s: status %d: %s", q.Encode(), status, trimBody(body))
			}
			if err := json.Unmarshal(body, &a); err != nil {
				return err
			}
			return check(a.Total.Conversations, len(a.Groups))
		},
		floor: func(ctx context.Context, st store.Store, assistantID string) error {
			if qerr != nil {
				return qerr
			}
			a, err := st.Analytics(ctx, assistantID, aq)
			if err != nil {
				return err
			}
			return check(a.Total.Conversations, len(a.Groups))
		},
	}
}

// inboxRequest is the dashboard's inbox page (the All view, newest first), rendered by the
// server for a signed-in operator; the floor renders the same page on the store without HTTP
// and the session check.
func (w *world) inboxRequest() request {
	path := "/a/" + w.assistantID + "/inbox"
	check := func(body []byte) error {
		if !bytes.Contains(body, []byte("/a/"+w.assistantID+"/c/")) {
			return fmt.Errorf("inbox: the page lists no conversation (%d bytes)", len(body))
		}
		return nil
	}
	return request{
		kind: KindInbox, path: path, cookie: w.inboxCookie,
		check: func(status int, body []byte) error {
			if status != http.StatusOK {
				return fmt.Errorf("inbox: status %d", status)
			}
			return check(body)
		},
		floor: func(ctx context.Context, st store.Store, assistantID string) error {
			var b bytes.Buffer
			if err := w.dashboard.RenderInbox(ctx, &b, assistantID, w.operatorID, url.Values{}); err != nil {
				return err
			}
			return check(b.Bytes())
		},
	}
}

package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/webhook"
)

// spec is the OpenAPI document, parsed, with a validator of requests and responses.
type spec struct {
	model     *v3.Document
	validator validator.Validator
	envelope  *base.Schema
}

// loadSpec reads the document as served at GET /openapi.json, checks that it is a valid
// OpenAPI 3.1 document, and builds a validator that also asserts formats (uuid, date-time).
func loadSpec(t *testing.T, baseURL string) *spec {
	t.Helper()
	res, err := http.Get(baseURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !bytes.Equal(b, server.OpenAPI) {
		t.Fatal("GET /openapi.json does not serve the embedded document")
	}
	return parseSpec(t, b)
}

func parseSpec(t *testing.T, b []byte) *spec {
	t.Helper()
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("openapi.json is OpenAPI %q, want 3.1.0", v)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	// NDJSON is text to the document (one NewConversation a line, described in prose): the
	// validator would otherwise read it as one JSON value, since its media type says json.
	ndjson := content.DecoderFunc(func(in *content.DecodeInput) (any, error) {
		b, err := io.ReadAll(in.Body)
		return string(b), err
	})
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions(), config.WithBodyDecoder("application/x-ndjson", ndjson))
	if len(errs) > 0 {
		t.Fatalf("openapi.json: %v", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.1 document:\n%s", errText(verrs))
	}
	env := m.Model.Components.Schemas.GetOrZero("ErrorEnvelope")
	if env == nil {
		t.Fatal("openapi.json has no ErrorEnvelope schema")
	}
	return &spec{model: &m.Model, validator: v, envelope: env.Schema()}
}

func errText(errs []*verrors.ValidationError) string {
	var sb strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&sb, "  - %s: %s\n", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&sb, "      %s (at %s, %s)\n", se.Reason, se.FieldPath, se.KeywordLocation)
		}
	}
	return sb.String()
}

// call is one request of a scenario and what it should get.
type call struct {
	method, path, token string
	// body is nil, a string or []byte sent as is, or a value sent as JSON.
	body any
	// header holds name, value pairs (Content-Type defaults to application/json with a body).
	header []string
	want   int
	// offSpec says that the request deliberately breaks the document: request validation must
	// fail, with this text in its messages (case-insensitive). Empty: the request must conform.
	offSpec string
	// undocumented: no operation of the document matches (404 and 405 answers of the API's
	// catch-all); the body must still be an ErrorEnvelope.
	undocumented bool
	// stream: the response does not end (Server-Sent Events); a 200 is read up to its first
	// event with data, then the request is cancelled.
	stream bool
}

// conformance drives requests against a server and checks every request and response
// against the document.
type conformance struct {
	t      *testing.T
	spec   *spec
	url    string
	hits   map[string]bool // "METHOD /documented/path" answered as documented
	status map[int]bool
}

func newConformance(t *testing.T, s *spec, url string) *conformance {
	return &conformance{t: t, spec: s, url: url, hits: map[string]bool{}, status: map[int]bool{}}
}

// uuidAfter matches a UUID path segment and the segment before it.
var uuidAfter = regexp.MustCompile(`/(conversations|messages|webhooks|deliveries)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// pathParams names the parameter that follows each collection in the document's paths.
var pathParams = map[string]string{"conversations": "conversation_id", "messages": "message_id", "webhooks": "webhook_id", "deliveries": "delivery_id"}

// docPath is the document's path key for a request path: UUID segments become parameters.
func docPath(p string) string {
	p, _, _ = strings.Cut(p, "?")
	return uuidAfter.ReplaceAllStringFunc(p, func(m string) string {
		coll := strings.Split(m, "/")[1]
		return "/" + coll + "/{" + pathParams[coll] + "}"
	})
}

func (c *conformance) do(k call) apitest.Response {
	t := c.t
	t.Helper()
	var body []byte
	switch b := k.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = j
	}
	newReq := func() *http.Request {
		var rd io.Reader = http.NoBody
		if k.body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(k.method, c.url+k.path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if k.token != "" {
			req.Header.Set("Authorization", "Bearer "+k.token)
		}
		if k.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(k.header); i += 2 {
			req.Header.Set(k.header[i], k.header[i+1])
		}
		return req
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(newReq().WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", k.method, k.path, err)
	}
	var resBody []byte
	if k.stream && res.StatusCode == http.StatusOK {
		resBody = readFirstEvent(t, res.Body)
		cancel()
	} else if resBody, err = io.ReadAll(res.Body); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	name := fmt.Sprintf("%s %s -> %d", k.method, trim(k.path, 120), res.StatusCode)
	if res.StatusCode != k.want {
		t.Fatalf("%s: want %d: %s", name, k.want, trim(string(resBody), 500))
	}
	c.status[res.StatusCode] = true

	// The request, against the document.
	_, reqErrs := c.spec.validator.ValidateHttpRequestSync(newReq())
	switch {
	case k.offSpec == "" && len(reqErrs) > 0:
		t.Errorf("%s: the request does not conform to the document:\n%s", name, errText(reqErrs))
	case k.offSpec != "" && len(reqErrs) == 0:
		t.Errorf("%s: the request breaks the document deliberately (%s), but the document accepts it", name, k.offSpec)
	case k.offSpec != "" && !strings.Contains(strings.ToLower(errText(reqErrs)), strings.ToLower(k.offSpec)):
		t.Errorf("%s: the request should break the document on %q; the validator says:\n%s", name, k.offSpec, errText(reqErrs))
	}

	// The response, against the document.
	vreq := newReq()
	vres := &http.Response{
		StatusCode: res.StatusCode, Status: res.Status, Header: res.Header, Request: vreq,
		Body: io.NopCloser(bytes.NewReader(resBody)), ContentLength: int64(len(resBody)),
	}
	_, resErrs := c.spec.validator.ValidateHttpResponse(vreq, vres)
	if k.undocumented {
		missing := len(resErrs) > 0 && (resErrs[0].IsPathMissingError() || resErrs[0].IsOperationMissingError())
		if !missing {
			t.Errorf("%s: marked undocumented, but the document has it (%s)", name, errText(resErrs))
		}
		if ok, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytes(c.spec.envelope, resBody); !ok {
			t.Errorf("%s: the body is not an ErrorEnvelope:\n%s%s", name, errText(errs), trim(string(resBody), 500))
		}
		return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: resBody}
	}
	if len(resErrs) > 0 {
		t.Errorf("%s: the response does not conform to the document:\n%s  body: %s", name, errText(resErrs), trim(string(resBody), 1500))
	} else {
		c.hits[k.method+" "+docPath(k.path)] = true
	}
	if res.StatusCode == http.StatusNoContent && len(resBody) > 0 {
		t.Errorf("%s: a 204 with a body", name)
	}
	return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: resBody}
}

// readFirstEvent reads an event stream up to the end of its first event with data.
func readFirstEvent(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var out bytes.Buffer
	br := bufio.NewReader(r)
	data := false
	for {
		line, err := br.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			t.Fatalf("event stream ended before an event with data: %v\n%s", err, out.Bytes())
		}
		if strings.HasPrefix(line, "data: ") {
			data = true
		}
		if line == "\n" && data {
			return out.Bytes()
		}
	}
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ndjsonLines checks each line of an NDJSON export against ConversationDetail, and the events
// of each line (when there must be some) against Event.
func (c *conformance) ndjsonLines(body []byte, events bool) {
	t := c.t
	t.Helper()
	schema := func(name string) *base.Schema { return c.spec.model.Components.Schemas.GetOrZero(name).Schema() }
	sv := schema_validation.NewSchemaValidator(config.WithFormatAssertions())
	if len(body) == 0 {
		return
	}
	lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	for i, line := range lines {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Fatalf("export line %d is not a JSON object: %.300s", i+1, line)
		}
		evs, ok := obj["events"]
		if ok != events {
			t.Errorf("export line %d: events present %v, want %v", i+1, ok, events)
		}
		delete(obj, "events")
		b, _ := json.Marshal(obj)
		if ok, errs := sv.ValidateSchemaBytesWithVersion(schema("ConversationDetail"), b, 3.1); !ok {
			t.Errorf("export line %d is not a ConversationDetail:\n%s%.500s", i+1, errText(errs), line)
		}
		var list []json.RawMessage
		if events && json.Unmarshal(evs, &list) != nil {
			t.Errorf("export line %d: events is not an array", i+1)
		}
		for j, ev := range list {
			if ok, errs := sv.ValidateSchemaBytesWithVersion(schema("Event"), ev, 3.1); !ok {
				t.Errorf("export line %d, event %d is not an Event:\n%s%.500s", i+1, j, errText(errs), ev)
			}
		}
	}
}

// faultyStore fails on demand: Settings with an error (a 500) and Ping (readyz 503).
type faultyStore struct {
	store.Store
	failing atomic.Bool
}

var errInjected = errors.New("injected failure")

func (f *faultyStore) Settings(ctx context.Context, assistantID string) (json.RawMessage, error) {
	if f.failing.Load() {
		return nil, errInjected
	}
	return f.Store.Settings(ctx, assistantID)
}

// SetChangeNotify passes the change feed's hook through to the store, so that live streams and
// the webhook dispatcher are woken as on a real server.
func (f *faultyStore) SetChangeNotify(fn func(string)) {
	if cs, ok := f.Store.(interface{ SetChangeNotify(func(string)) }); ok {
		cs.SetChangeNotify(fn)
	}
}

func (f *faultyStore) Ping(ctx context.Context) error {
	if f.failing.Load() {
		return errInjected
	}
	return f.Store.Ping(ctx)
}

// TestOpenAPIConformance drives a realistic scenario over every route through real HTTP and
// checks every request and every response against the served document.
func TestOpenAPIConformance(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		var faulty *faultyStore
		recv := newReceiver(t)
		e := apitest.StartWith(t, func(t testing.TB) store.Store {
			faulty = &faultyStore{Store: open(t)}
			return faulty
		}, apitest.Config{Webhooks: &webhook.Options{Poll: 50 * time.Millisecond, Timeout: 5 * time.Second}})
		s := loadSpec(t, e.URL)
		c := newConformance(t, s, e.URL)
		hookID, secret := webhookSetup(t, c, e, recv.url)
		scenario(t, c, e)
		webhookScenario(t, c, e, recv, hookID, secret)

		// 500 and 503: the database fails.
		faulty.failing.Store(true)
		c.do(call{method: "GET", path: "/v1/api_core/settings", token: e.A.Read, want: 500})
		c.do(call{method: "GET", path: "/readyz", want: 503})
		faulty.failing.Store(false)

		// 429: a server with tight limits, one class at a time.
		limited := apitest.Start(t, open, &api.Config{RateLimits: api.RateLimits{2, 1, 1}})
		lc := newConformance(t, s, limited.URL)
		for range 2 {
			lc.do(call{method: "GET", path: "/v1/api_core/conversations", token: limited.A.Read, want: 200})
		}
		r := lc.do(call{method: "GET", path: "/v1/api_core/conversations", token: limited.A.Read, want: 429})
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("429 with Retry-After %q", r.Header.Get("Retry-After"))
		}
		lc.do(call{method: "POST", path: "/v1/api_core/conversations", token: limited.A.Write, body: map[string]any{"source": "api"}, want: 201})
		lc.do(call{method: "POST", path: "/v1/api_core/conversations", token: limited.A.Write, body: map[string]any{"source": "api"}, want: 429})
		lc.do(call{method: "POST", path: "/v1/api_core/import", token: limited.A.Write, body: `{"source":"api"}`, header: []string{"Content-Type", "application/x-ndjson"}, want: 200})
		lc.do(call{method: "POST", path: "/v1/api_core/import", token: limited.A.Write, body: `{"source":"api"}`, header: []string{"Content-Type", "application/x-ndjson"}, want: 429})
		// Another token of the same assistant has its own allowance.
		lc.do(call{method: "GET", path: "/v1/api_core/settings", token: limited.A.Write, want: 200})

		// Every documented operation was answered as documented, on every path spelling.
		for _, op := range sortedKeys(documentedOperations(s.model)) {
			if !c.hits[op] && !lc.hits[op] {
				t.Errorf("the scenario never got a documented answer from %s", op)
			}
		}
		for _, code := range []int{200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 412, 413, 422, 429, 500, 503} {
			if !c.status[code] && !lc.status[code] {
				t.Errorf("the scenario never got a %d", code)
			}
		}
	})
}

// receiver is a webhook endpoint on this machine that records the deliveries it gets.
type receiver struct {
	url string
	got chan delivery
}

type delivery struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: make(chan delivery, 1000)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		select {
		case r.got <- delivery{req.Header.Clone(), b}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hs.Close)
	r.url = hs.URL + "/hooks/parley"
	return r
}

// webhookSetup registers the receiver before anything happens, so that it gets every change.
func webhookSetup(t *testing.T, c *conformance, e *apitest.Env, url string) (id, secret string) {
	hooks := "/v1/api_core/webhooks"
	r := c.do(call{method: "POST", path: hooks, token: e.A.Write, want: 201, body: map[string]any{"url": url, "description": "CRM sync"}})
	w := r.Map(t)
	if w["secret"] == nil || r.Header.Get("Location") != hooks+"/"+w["id"].(string) {
		t.Errorf("webhook create: %v %s", r.Header, r.Body)
	}
	return w["id"].(string), w["secret"].(string)
}

// webhookScenario checks the deliveries the receiver got against the document's webhooks
// section, then manages endpoints and deliveries through the API.
func webhookScenario(t *testing.T, c *conformance, e *apitest.Env, recv *receiver, hookID, secret string) {
	hooks := "/v1/api_core/webhooks"
	A := e.A
	sv := schema_validation.NewSchemaValidator(config.WithFormatAssertions())
	eventSchema := c.spec.model.Components.Schemas.GetOrZero("WebhookEvent").Schema()
	types := map[string]bool{}
	check := func(d delivery) {
		t.Helper()
		if ok, errs := sv.ValidateSchemaBytesWithVersion(eventSchema, d.body, 3.1); !ok {
			t.Errorf("webhook body is not a WebhookEvent:\n%s%.800s", errText(errs), d.body)
		}
		var ev struct{ ID, Type string }
		_ = json.Unmarshal(d.body, &ev)
		types[ev.Type] = true
		if d.header.Get("Parley-Delivery") != ev.ID || d.header.Get("Parley-Event") != ev.Type {
			t.Errorf("webhook headers %v for %s %s", d.header, ev.ID, ev.Type)
		}
		ts, mac, _ := strings.Cut(strings.TrimPrefix(d.header.Get("Parley-Signature"), "t="), ",v1=")
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "."))
		m.Write(d.body)
		if want := hex.EncodeToString(m.Sum(nil)); mac != want {
			t.Errorf("webhook signature %q does not verify", d.header.Get("Parley-Signature"))
		}
	}
	// Wait for the deliveries of the scenario's changes: at least every type it caused.
	want := []string{"conversation.created", "conversation.updated", "conversation.resolved", "conversation.deleted", "message.created", "metadata.updated"}
	deadline := time.After(15 * time.Second)
	for !allIn(types, want) {
		select {
		case d := <-recv.got:
			check(d)
		case <-deadline:
			t.Fatalf("webhook deliveries: got types %v, want at least %v", sortedKeys(types), want)
		}
	}

	// Endpoints.
	c.do(call{method: "GET", path: hooks, token: A.Read, want: 200})
	c.do(call{method: "GET", path: hooks + "/", token: e.B.Read, want: 200})
	c.do(call{method: "GET", path: hooks + "/" + hookID, token: A.Read, want: 200})
	c.do(call{method: "GET", path: hooks + "/" + hookID + "/", token: e.B.Read, want: 404})
	c.do(call{method: "GET", path: hooks + "/not-a-uuid", token: A.Read, want: 404, offSpec: "webhook_id"})
	other := c.do(call{method: "POST", path: hooks + "/", token: A.Write, want: 201, body: map[string]any{
		"url": "http://127.0.0.1:9/closed", "event_types": []string{"message.created", "conversation.created"}, "secret": "a-long-enough-secret"}}).Map(t)["id"].(string)
	c.do(call{method: "POST", path: hooks, token: A.Write, body: map[string]any{"url": "ftp://127.0.0.1/x"}, want: 422})
	c.do(call{method: "POST", path: hooks, token: A.Write, body: map[string]any{"url": recv.url, "enabled": false}, want: 422})
	c.do(call{method: "POST", path: hooks, token: A.Write, body: map[string]any{"description": "no url"}, want: 422, offSpec: "url"})
	c.do(call{method: "POST", path: hooks, token: A.Write, body: map[string]any{"url": recv.url, "event_types": []string{"everything"}}, want: 422, offSpec: "event_types"})
	c.do(call{method: "POST", path: hooks, token: A.Write, body: map[string]any{"url": recv.url, "secret": "short"}, want: 422, offSpec: "secret"})
	c.do(call{method: "POST", path: hooks, token: A.Read, body: map[string]any{"url": recv.url}, want: 403})
	c.do(call{method: "PATCH", path: hooks + "/" + other, token: A.Write, body: map[string]any{"enabled": false, "description": "parked"}, want: 200})
	c.do(call{method: "PATCH", path: hooks + "/" + other + "/", token: A.Write, body: map[string]any{"event_types": []string{}, "url": nil}, want: 200})
	c.do(call{method: "PATCH", path: hooks + "/" + other, token: A.Write, body: map[string]any{"url": "http://user:pw@127.0.0.1/"}, want: 422})
	c.do(call{method: "PATCH", path: hooks + "/00000000-0000-0000-0000-000000000000", token: A.Write, body: map[string]any{"enabled": true}, want: 404})

	// Deliveries.
	dl := hooks + "/" + hookID + "/deliveries"
	page := c.do(call{method: "GET", path: dl + "?limit=2", token: A.Read, want: 200}).Map(t)
	items := page["items"].([]any)
	if len(items) == 0 || page["next_cursor"] == nil {
		t.Fatalf("deliveries: %v", page)
	}
	c.do(call{method: "GET", path: dl + "/?limit=2&cursor=" + page["next_cursor"].(string), token: A.Read, want: 200})
	c.do(call{method: "GET", path: dl + "?status=succeeded", token: A.Read, want: 200})
	c.do(call{method: "GET", path: dl + "?status=lost", token: A.Read, want: 400, offSpec: "status"})
	c.do(call{method: "GET", path: dl + "?cursor=next", token: A.Read, want: 400, offSpec: "cursor"})
	c.do(call{method: "GET", path: hooks + "/00000000-0000-0000-0000-000000000000/deliveries", token: A.Read, want: 404})
	// Deliveries already sent: a delivery being sent (the newest may still be) is a 409, and
	// so is the first once its redelivery is under way.
	done := c.do(call{method: "GET", path: dl + "?status=succeeded&limit=2", token: A.Read, want: 200}).Map(t)["items"].([]any)
	if len(done) < 2 {
		t.Fatalf("succeeded deliveries: %v", done)
	}
	first, second := done[0].(map[string]any)["id"].(string), done[1].(map[string]any)["id"].(string)
	c.do(call{method: "POST", path: dl + "/" + first + "/redeliver", token: A.Write, want: 202})
	c.do(call{method: "POST", path: dl + "/" + second + "/redeliver/", token: A.Write, want: 202})
	c.do(call{method: "POST", path: dl + "/00000000-0000-0000-0000-000000000000/redeliver", token: A.Write, want: 404})
	c.do(call{method: "POST", path: dl + "/" + first + "/redeliver", token: A.Read, want: 403})
	select {
	case d := <-recv.got:
		check(d)
	case <-time.After(10 * time.Second):
		t.Errorf("the redelivery never came")
	}
	c.do(call{method: "PATCH", path: hooks + "/" + hookID, token: A.Write, body: map[string]any{"enabled": false}, want: 200})
	c.do(call{method: "POST", path: dl + "/" + first + "/redeliver", token: A.Write, want: 409})

	// The live stream: from the oldest change kept, every event's data is a WebhookEvent.
	for _, k := range []call{
		{method: "GET", path: "/v1/api_core/stream?last_event_id=0", token: A.Read, want: 200, stream: true},
		{method: "GET", path: "/v1/api_core/stream/", token: A.Read, header: []string{"Last-Event-ID", "1"}, want: 200, stream: true},
	} {
		r := c.do(k)
		for _, line := range strings.Split(string(r.Body), "\n") {
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				if ok, errs := sv.ValidateSchemaBytesWithVersion(eventSchema, []byte(data), 3.1); !ok {
					t.Errorf("stream data is not a WebhookEvent:\n%s%.800s", errText(errs), data)
				}
			}
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
			t.Errorf("stream: Content-Type %q", r.Header.Get("Content-Type"))
		}
	}
	c.do(call{method: "GET", path: "/v1/api_core/stream?last_event_id=-1", token: A.Read, want: 400, offSpec: "last_event_id"})
	c.do(call{method: "GET", path: "/v1/api_core/stream", token: A.Read, header: []string{"Last-Event-ID", "latest"}, want: 400, offSpec: "Last-Event-ID"})

	// Delete.
	c.do(call{method: "DELETE", path: hooks + "/" + other, token: A.Read, want: 403})
	c.do(call{method: "DELETE", path: hooks + "/" + other, token: A.Write, want: 204})
	c.do(call{method: "DELETE", path: hooks + "/" + other + "/", token: A.Write, want: 404})
	c.do(call{method: "DELETE", path: hooks + "/" + hookID + "/", token: A.Write, want: 204})
}

func allIn(have map[string]bool, want []string) bool {
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

// scenario is a day in the life of the API, with mistakes.
func scenario(t *testing.T, c *conformance, e *apitest.Env) {
	const (
		conv     = "/v1/api_core/conversations"
		settings = "/v1/api_core/settings"
		imp      = "/v1/api_core/import"
	)
	A, B := e.A, e.B
	ndjson := []string{"Content-Type", "application/x-ndjson"}
	mergePatch := []string{"Content-Type", "application/merge-patch+json"}
	decode := func(r apitest.Response) map[string]any { return r.Map(t) }

	// Operations, unauthenticated.
	c.do(call{method: "GET", path: "/openapi.json", want: 200})
	c.do(call{method: "GET", path: "/healthz", want: 200})
	c.do(call{method: "GET", path: "/readyz", want: 200})
	c.do(call{method: "GET", path: "/metrics", want: 200})

	// Settings.
	c.do(call{method: "GET", path: settings, token: A.Read, want: 200})
	c.do(call{method: "PATCH", path: settings, token: A.Write, header: mergePatch, want: 200, body: map[string]any{
		"topics":             []any{map[string]any{"name": "Returns", "description": "Returning an order", "examples": []string{"refund", "send back"}}},
		"auto_resolve_after": "24h",
		"link_tracking":      true,
		"handoff_keywords":   []string{"human", "agent"},
		"metadata_schema": map[string]any{
			"type":       "object",
			"properties": map[string]any{"plan": map[string]any{"enum": []string{"free", "pro", "gold"}}},
		},
	}})
	c.do(call{method: "GET", path: settings + "/", token: A.Read, want: 200})
	c.do(call{method: "PATCH", path: settings + "/", token: A.Write, body: map[string]any{"rating_active": false, "auto_resolve_after": nil}, want: 200})
	c.do(call{method: "PATCH", path: settings, token: A.Write, body: map[string]any{"colour": "blue"}, want: 422, offSpec: "colour"})
	c.do(call{method: "PATCH", path: settings, token: A.Write, body: map[string]any{"auto_resolve_after": "soon"}, want: 422})
	c.do(call{method: "PATCH", path: settings, token: A.Write, body: "[1, 2", want: 400, offSpec: "body"})
	c.do(call{method: "PATCH", path: settings, token: A.Read, body: map[string]any{"link_tracking": false}, want: 403})

	// Create conversations: with messages, idempotently by external_id, historical, minimal.
	now := time.Now().UTC()
	first := decode(c.do(call{method: "POST", path: conv, token: A.Write, want: 201, body: map[string]any{
		"source": "widget", "visitor_name": "John", "visitor_email": "john@example.com", "url": "https://shop.example/returns",
		"client_metadata": map[string]any{"plan": "pro", "userId": 12}, "external_id": "widget-session-1",
		"messages": []any{
			map[string]any{"author": "ai_assistant", "content": "Hello! How can I help you today?", "is_welcome": true},
			map[string]any{"author": "visitor", "content": "What is your return policy for order ORD-0012345?", "external_id": "m-1",
				"client_metadata": map[string]any{"page": "/returns"}},
			map[string]any{"author": "ai_assistant", "content": "You can return items within 30 days.",
				"sources_generated": []any{map[string]any{"title": "Returns"}}, "attachments": []any{}},
		},
	}}))
	id := first["id"].(string)
	if first["unified_analysis"] != nil || first["last_visitor_message_at"] == nil {
		t.Errorf("new conversation: %v", first)
	}
	c.do(call{method: "POST", path: conv, token: A.Write, want: 200, body: map[string]any{
		"source": "widget", "external_id": "widget-session-1",
		"messages": []any{map[string]any{"author": "visitor", "content": "Thanks!", "external_id": "m-2"}},
	}})
	hist := decode(c.do(call{method: "POST", path: conv + "/", token: A.Write, want: 201, body: map[string]any{
		"source": "slack", "visitor_label": "vip", "created_at": now.Add(-72 * time.Hour).Format(time.RFC3339),
		"messages": []any{
			map[string]any{"author": "visitor", "content": "Où est ma commande ?", "created_at": now.Add(-72 * time.Hour).Format(time.RFC3339Nano)},
			map[string]any{"author": "human_operator", "content": "Elle arrive demain.", "created_at": now.Add(-71 * time.Hour).Format(time.RFC3339Nano), "handoff_state": "accepted"},
		},
	}}))
	histID := hist["id"].(string)
	empty := decode(c.do(call{method: "POST", path: conv, token: A.Write, body: map[string]any{"source": "api"}, want: 201}))
	emptyID := empty["id"].(string)
	other := decode(c.do(call{method: "POST", path: conv, token: B.Write, body: map[string]any{"source": "telegram",
		"messages": []any{map[string]any{"author": "visitor", "content": "hi"}}}, want: 201}))
	otherID := other["id"].(string)

	// Create: mistakes.
	c.do(call{method: "POST", path: conv, token: A.Write, body: map[string]any{"source": "fax"}, want: 422, offSpec: "source"})
	c.do(call{method: "POST", path: conv, token: A.Write, body: map[string]any{"source": "widget", "messages": []any{map[string]any{"content": "no author"}}}, want: 422, offSpec: "author"})
	c.do(call{method: "POST", path: conv, token: A.Write, body: map[string]any{"source": "widget", "visitor_name": 7}, want: 422, offSpec: "visitor_name"})
	c.do(call{method: "POST", path: conv, token: A.Write, body: map[string]any{"source": "widget", "client_metadata": map[string]any{"plan": "platinum"}}, want: 422})
	c.do(call{method: "POST", path: conv, token: A.Write, body: `{"source": "widget",`, want: 400, offSpec: "body"})
	c.do(call{method: "POST", path: conv, token: A.Write, body: "", want: 400, offSpec: "body"})
	big := `{"source":"widget","visitor_label":"` + strings.Repeat("x", 1<<20) + `"}`
	c.do(call{method: "POST", path: conv, token: A.Write, body: big, want: 413, offSpec: "visitor_label"})
	c.do(call{method: "POST", path: conv, token: A.Read, body: map[string]any{"source": "api"}, want: 403})

	// A finished analysis, so that the detail shows unified_analysis, title and language.
	title, lang, topic, sentiment := "Return policy question", "en", "Returns", "neutral"
	if _, err := e.Store.SaveAnalysis(context.Background(), A.ID, id, cv.Analysis{
		Unified:   json.RawMessage(`{"sentiment":"neutral","resolution_status":"open","topic":"Returns","is_flagged":false,"flag_reason":null,"summary":"Asks about returns"}`),
		Sentiment: &sentiment, Topic: &topic, Language: &lang, Title: &title,
	}); err != nil {
		t.Fatal(err)
	}
	// An operator of the assistant, to assign.
	op, err := e.Store.CreateOperator(context.Background(), "Ann Operator", "ann@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.AddMembership(context.Background(), op.ID, A.ID, cv.RoleOperator); err != nil {
		t.Fatal(err)
	}
	c.do(call{method: "GET", path: "/v1/api_core/operators", token: A.Read, want: 200})
	c.do(call{method: "GET", path: "/v1/api_core/operators/", token: B.Read, want: 200})

	// List: the reference's filters, the extensions, paging.
	list := decode(c.do(call{method: "GET", path: conv, token: A.Read, want: 200}))
	if list["count"].(float64) != 3 {
		t.Errorf("list count %v, want 3", list["count"])
	}
	day := now.Format(time.DateOnly)
	for _, q := range []string{
		"?limit=10&resolution_status=open",
		"?limit=500&offset=1",
		"?query=return+policy",
		"?query=ORD-0012345",
		"?query=%231",
		"?query=" + id,
		"?assignee_type=ai_assistant&source=widget,slack&resolution_status=open,resolved",
		"?source=slack&source=api",
		"?created_timestamp_start_date=" + day + "&created_timestamp_end_date=" + day,
		"?created_timestamp_start_date=" + now.Add(-time.Hour).Format(time.RFC3339) + "&created_timestamp_end_date=" + now.Add(time.Hour).Format(time.RFC3339Nano),
		"?last_message_at_start_date=2020-01-01&last_message_at_end_date=2099-12-31",
		"?most_frequent_language=en",
		"?sentiment=neutral,negative&topic=Returns&is_flagged=false",
		"?has_unread_messages=true&terminated=false",
		"?assignee_id=op-1",
		"?metadata.plan=pro",
		"?sort=created_at",
		"?sort=-ord&limit=1",
	} {
		c.do(call{method: "GET", path: conv + q, token: A.Read, want: 200})
	}
	c.do(call{method: "GET", path: conv + "/?limit=2", token: A.Read, want: 200})
	// A keyset walk with cursor.
	seen := 0
	for next := ""; ; {
		q := "?sort=ord&limit=2"
		if next != "" {
			q += "&cursor=" + next
		}
		page := decode(c.do(call{method: "GET", path: conv + q, token: A.Read, want: 200}))
		seen += len(page["items"].([]any))
		cur, _ := page["next_cursor"].(string)
		if cur == "" || seen > 10 {
			break
		}
		next = cur
	}
	if seen != 3 {
		t.Errorf("cursor walk saw %d conversations, want 3", seen)
	}
	// List: bad parameters.
	for _, bad := range []struct{ q, param string }{
		{"?limit=0", "limit"},
		{"?limit=ten", "limit"},
		{"?offset=-1", "offset"},
		{"?sort=newest", "sort"},
		{"?source=fax", "source"},
		{"?assignee_type=robot", "assignee_type"},
		{"?resolution_status=closed", "resolution_status"},
		{"?sentiment=angry", "sentiment"},
		{"?created_timestamp_start_date=yesterday", "created_timestamp_start_date"},
		{"?last_message_at_end_date=2026-13-01", "last_message_at_end_date"},
		{"?is_flagged=maybe", "is_flagged"},
		{"?query=" + strings.Repeat("a", 1100), "query"},
	} {
		r := c.do(call{method: "GET", path: conv + bad.q, token: A.Read, want: 400, offSpec: bad.param})
		if _, ok := decode(r)["errors"].(map[string]any)[bad.param]; !ok {
			t.Errorf("GET %s: the error does not name %s: %s", bad.q, bad.param, r.Body)
		}
	}
	c.do(call{method: "GET", path: conv + "?cursor=not-a-cursor", token: A.Read, want: 400})
	c.do(call{method: "GET", path: conv + "?sort=ord&cursor=" + mustCursor(t, c, conv+"?sort=-ord&limit=1", A.Read), token: A.Read, want: 400})

	// Detail, both spellings; another assistant's conversation is a 404.
	d := c.do(call{method: "GET", path: conv + "/" + id + "/", token: A.Read, want: 200})
	if ua, _ := decode(d)["unified_analysis"].(map[string]any); ua["summary"] != "Asks about returns" {
		t.Errorf("detail unified_analysis: %s", d.Body)
	}
	c.do(call{method: "GET", path: conv + "/" + histID, token: A.Read, want: 200})
	c.do(call{method: "GET", path: conv + "/" + otherID + "/", token: A.Read, want: 404})
	c.do(call{method: "GET", path: conv + "/00000000-0000-0000-0000-000000000000/", token: A.Read, want: 404})
	c.do(call{method: "GET", path: conv + "/not-a-uuid/", token: A.Read, want: 404, offSpec: "conversation_id"})

	// Append messages.
	c.do(call{method: "POST", path: conv + "/" + id + "/messages", token: A.Write, want: 201, body: map[string]any{
		"author": "visitor", "content": "Can I talk to a human?", "external_id": "m-3", "client_metadata": map[string]any{"k": "v"},
	}})
	c.do(call{method: "POST", path: conv + "/" + id + "/messages/", token: A.Write, want: 200, body: map[string]any{
		"author": "visitor", "content": "Can I talk to a human?", "external_id": "m-3",
	}})
	c.do(call{method: "POST", path: conv + "/" + emptyID + "/messages/", token: A.Write, want: 201, body: map[string]any{"author": "ai_assistant", "content": "Hi", "is_welcome": true}})
	c.do(call{method: "POST", path: conv + "/" + id + "/messages", token: A.Write, body: map[string]any{"author": "bot", "content": "x"}, want: 422, offSpec: "author"})
	c.do(call{method: "POST", path: conv + "/" + id + "/messages", token: A.Write, body: map[string]any{"author": "visitor", "attachments": "file.png"}, want: 422, offSpec: "attachments"})
	c.do(call{method: "POST", path: conv + "/" + id + "/messages", token: A.Write, body: "{", want: 400, offSpec: "body"})
	c.do(call{method: "POST", path: conv + "/" + otherID + "/messages", token: A.Write, body: map[string]any{"author": "visitor", "content": "x"}, want: 404})
	c.do(call{method: "POST", path: conv + "/" + id + "/messages", token: A.Read, body: map[string]any{"author": "visitor", "content": "x"}, want: 403})

	// Message feedback.
	var firstMsg string
	for _, it := range decode(c.do(call{method: "GET", path: conv + "/" + id + "/events?type=message&limit=1", token: A.Read, want: 200}))["items"].([]any) {
		firstMsg = it.(map[string]any)["data"].(map[string]any)["id"].(string)
	}
	fb := conv + "/" + id + "/messages/" + firstMsg + "/feedback"
	c.do(call{method: "PUT", path: fb, token: A.Write, body: map[string]any{"rating": "positive", "comment": "Helpful"}, want: 200})
	c.do(call{method: "PUT", path: fb + "/", token: A.Write, body: map[string]any{"rating": "negative"}, want: 200})
	c.do(call{method: "PUT", path: fb, token: A.Write, body: map[string]any{"rating": "meh"}, want: 422, offSpec: "rating"})
	c.do(call{method: "PUT", path: fb, token: A.Write, body: map[string]any{"comment": "no rating"}, want: 422, offSpec: "rating"})
	c.do(call{method: "PUT", path: conv + "/" + id + "/messages/00000000-0000-0000-0000-000000000000/feedback", token: A.Write, body: map[string]any{"rating": "positive"}, want: 404})
	c.do(call{method: "PUT", path: conv + "/" + id + "/messages/first/feedback", token: A.Write, body: map[string]any{"rating": "positive"}, want: 404, offSpec: "message_id"})
	c.do(call{method: "PUT", path: fb, token: A.Read, body: map[string]any{"rating": "positive"}, want: 403})

	// Update: assign, resolve, end, rename, mark read; If-Match.
	etag := c.do(call{method: "GET", path: conv + "/" + id, token: A.Read, want: 200}).Header.Get("ETag")
	p := c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Write, header: []string{"If-Match", etag}, want: 200, body: map[string]any{
		"resolution_status": "resolved", "assignee": map[string]any{"type": "human_operator", "id": op.ID},
		"terminated": true, "title": "Returns", "visitor_label": nil, "has_unread_messages": false,
	}})
	if p.Header.Get("ETag") == etag {
		t.Errorf("PATCH kept the ETag %s", etag)
	}
	if a := decode(p)["assignee"].(map[string]any); a["name"] != "Ann Operator" {
		t.Errorf("assignee %v: the operator's name is not filled in", a)
	}
	c.do(call{method: "GET", path: conv + "?assignee_id=" + op.ID + "&assignee_type=human_operator", token: A.Read, want: 200})
	c.do(call{method: "PATCH", path: conv + "/" + id, token: A.Write, header: []string{"If-Match", "*"}, body: map[string]any{"assignee": map[string]any{"type": "unassigned"}, "resolution_status": "open"}, want: 200})
	c.do(call{method: "PATCH", path: conv + "/" + histID, token: A.Write, header: mergePatch, body: map[string]any{"terminated": true}, want: 200})
	c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Write, header: []string{"If-Match", etag}, body: map[string]any{"terminated": false}, want: 412})
	c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Write, header: []string{"If-Match", "version-3"}, body: map[string]any{"terminated": false}, want: 400, offSpec: "If-Match"})
	c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Write, body: map[string]any{"resolution_status": "closed"}, want: 422, offSpec: "resolution_status"})
	c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Write, body: map[string]any{"terminated": nil}, want: 422, offSpec: "terminated"})
	c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Write, body: map[string]any{"assignee": map[string]any{"type": "robot"}}, want: 422, offSpec: "type"})
	c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Write, body: "not json", want: 400, offSpec: "body"})
	c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Write, body: `{"title":"` + strings.Repeat("t", 1<<20) + `"}`, want: 413, offSpec: "title"})
	c.do(call{method: "PATCH", path: conv + "/" + otherID + "/", token: A.Write, body: map[string]any{"terminated": true}, want: 404})
	c.do(call{method: "PATCH", path: conv + "/" + id + "/", token: A.Read, body: map[string]any{"terminated": true}, want: 403})

	// Metadata: read, set keys, replace, merge-patch, both spellings.
	md := conv + "/" + id + "/metadata"
	m := c.do(call{method: "GET", path: md, token: A.Read, want: 200})
	c.do(call{method: "GET", path: conv + "/" + emptyID + "/metadata/", token: A.Read, want: 200})
	c.do(call{method: "POST", path: md, token: A.Write, header: []string{"If-Match", m.Header.Get("ETag")}, body: map[string]any{"crm_id": "C-77", "tags": []string{"a", "b"}}, want: 200})
	c.do(call{method: "POST", path: md + "/", token: A.Write, body: map[string]any{"plan": "gold"}, want: 200})
	c.do(call{method: "PUT", path: md, token: A.Write, body: map[string]any{"plan": "free", "nested": map[string]any{"a": map[string]any{"b": 1}}}, want: 200})
	c.do(call{method: "PUT", path: md + "/", token: A.Write, body: map[string]any{"plan": "pro"}, want: 200})
	c.do(call{method: "PATCH", path: md, token: A.Write, header: mergePatch, body: map[string]any{"plan": nil, "nested": map[string]any{"x": true}}, want: 200})
	c.do(call{method: "PATCH", path: md + "/", token: A.Write, body: map[string]any{"crm_id": "C-78"}, want: 200})
	c.do(call{method: "GET", path: md + "/", token: A.Read, want: 200})
	// Metadata: mistakes.
	c.do(call{method: "POST", path: md, token: A.Write, body: map[string]any{"plan": "enterprise"}, want: 422})
	c.do(call{method: "PUT", path: md, token: A.Write, body: map[string]any{"deep": map[string]any{"1": map[string]any{"2": map[string]any{"3": map[string]any{"4": map[string]any{"5": map[string]any{"6": 1}}}}}}}, want: 422})
	c.do(call{method: "PATCH", path: md, token: A.Write, header: []string{"If-Match", etag}, body: map[string]any{"k": 1}, want: 412})
	c.do(call{method: "PUT", path: md, token: A.Write, header: []string{"If-Match", "W/\"x\""}, body: map[string]any{"k": 1}, want: 400, offSpec: "If-Match"})
	c.do(call{method: "POST", path: md, token: A.Write, body: []any{"a"}, want: 400, offSpec: "object"})
	c.do(call{method: "POST", path: md, token: A.Write, body: "null", want: 400, offSpec: "object"})
	c.do(call{method: "PUT", path: md, token: A.Write, body: `{"k":"` + strings.Repeat("v", 1<<20) + `"}`, want: 413})
	c.do(call{method: "GET", path: conv + "/" + otherID + "/metadata", token: A.Read, want: 404})
	c.do(call{method: "POST", path: conv + "/" + otherID + "/metadata", token: A.Write, body: map[string]any{"k": 1}, want: 404})
	c.do(call{method: "PUT", path: md, token: A.Read, body: map[string]any{"k": 1}, want: 403})

	// Events: every kind of log written above, filters, paging, both spellings.
	ev := conv + "/" + id + "/events"
	events := decode(c.do(call{method: "GET", path: ev + "/", token: A.Read, want: 200}))
	types := map[string]int{}
	for _, it := range events["items"].([]any) {
		types[it.(map[string]any)["type"].(string)]++
	}
	if types["message"] < 4 || types["log"] < 3 {
		t.Errorf("events: %v", types)
	}
	c.do(call{method: "GET", path: ev + "?type=log", token: A.Read, want: 200})
	c.do(call{method: "GET", path: ev + "/?type=message,log&limit=2&offset=1", token: A.Read, want: 200})
	pg := decode(c.do(call{method: "GET", path: ev + "/?limit=3", token: A.Read, want: 200}))
	if cur, _ := pg["next_cursor"].(string); cur != "" {
		c.do(call{method: "GET", path: ev + "/?limit=3&after_ord=" + cur, token: A.Read, want: 200})
	} else {
		t.Errorf("events page of 3: no next_cursor: %v", pg)
	}
	c.do(call{method: "GET", path: conv + "/" + histID + "/events/?type=message", token: A.Read, want: 200})
	c.do(call{method: "GET", path: ev + "/?type=click", token: A.Read, want: 400, offSpec: "type"})
	c.do(call{method: "GET", path: ev + "/?after_ord=-2", token: A.Read, want: 400, offSpec: "after_ord"})
	c.do(call{method: "GET", path: ev + "/?limit=-5", token: A.Read, want: 400, offSpec: "limit"})
	c.do(call{method: "GET", path: conv + "/" + otherID + "/events/", token: A.Read, want: 404})

	// Import: NDJSON with good and bad lines; a line over the limit.
	lines := strings.Join([]string{
		`{"source":"email","visitor_email":"a@example.com","external_id":"imp-1","created_at":"2024-03-01T09:00:00Z","messages":[{"author":"visitor","content":"Invoice?","created_at":"2024-03-01T09:00:00Z"}]}`,
		``,
		`{"source":"fax"}`,
		`{"source":"sms","messages":[{"author":"visitor","content":"ping"}]}`,
		`{"source":`,
	}, "\n")
	res := decode(c.do(call{method: "POST", path: imp, token: A.Write, body: lines, header: ndjson, want: 200}))
	if res["imported"].(float64) != 2 || len(res["failed"].([]any)) != 2 {
		t.Errorf("import: %v", res)
	}
	c.do(call{method: "POST", path: imp + "/", token: A.Write, body: `{"source":"voice"}` + "\n", header: ndjson, want: 200})
	c.do(call{method: "POST", path: imp, token: A.Write, body: `{"source":"api","url":"` + strings.Repeat("u", 1<<20) + `"}`, header: ndjson, want: 400})
	c.do(call{method: "POST", path: imp, token: A.Read, body: `{"source":"api"}`, header: ndjson, want: 403})

	// Rating: refused while the assistant does not collect ratings (set off above), then stored.
	rt := conv + "/" + id + "/rating"
	c.do(call{method: "POST", path: rt, token: A.Write, body: map[string]any{"score": 4}, want: 409})
	c.do(call{method: "PATCH", path: settings, token: A.Write, body: map[string]any{"rating_active": nil}, want: 200})
	c.do(call{method: "POST", path: rt, token: A.Write, body: map[string]any{"score": 4, "comment": "Quick answer"}, want: 200})
	rated := c.do(call{method: "POST", path: rt + "/", token: A.Write, body: map[string]any{"score": 5}, want: 200})
	if r, _ := decode(rated)["rating"].(map[string]any); r["score"] != 5.0 {
		t.Errorf("rating: %s", rated.Body)
	}
	c.do(call{method: "POST", path: rt, token: A.Write, header: []string{"If-Match", etag}, body: map[string]any{"score": 3}, want: 412})
	c.do(call{method: "POST", path: rt, token: A.Write, body: map[string]any{"score": 6}, want: 422, offSpec: "score"})
	c.do(call{method: "POST", path: rt, token: A.Write, body: map[string]any{"comment": "no score"}, want: 422, offSpec: "score"})
	c.do(call{method: "POST", path: conv + "/" + otherID + "/rating", token: A.Write, body: map[string]any{"score": 3}, want: 404})
	c.do(call{method: "POST", path: rt, token: A.Read, body: map[string]any{"score": 3}, want: 403})

	// Idempotency-Key: a retry replays the stored answer; the same key on another request is
	// refused.
	key := []string{"Idempotency-Key", "create-7f3a"}
	created := c.do(call{method: "POST", path: conv, token: A.Write, header: key, body: map[string]any{"source": "email", "visitor_email": "x@example.com"}, want: 201})
	replayed := c.do(call{method: "POST", path: conv, token: A.Write, header: key, body: map[string]any{"source": "email", "visitor_email": "x@example.com"}, want: 201})
	if replayed.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(created.Body, replayed.Body) {
		t.Errorf("the retry was not replayed: %v %s", replayed.Header, replayed.Body)
	}
	c.do(call{method: "POST", path: conv, token: A.Write, header: key, body: map[string]any{"source": "sms"}, want: 422})
	c.do(call{method: "PUT", path: md, token: A.Write, header: []string{"Idempotency-Key", strings.Repeat("k", 300)}, body: map[string]any{"k": 1}, want: 400, offSpec: "Idempotency-Key"})
	c.do(call{method: "DELETE", path: conv + "/" + decode(created)["id"].(string), token: A.Write, header: []string{"Idempotency-Key", "del-1"}, want: 204})
	c.do(call{method: "DELETE", path: conv + "/" + decode(created)["id"].(string), token: A.Write, header: []string{"Idempotency-Key", "del-1"}, want: 204})

	// Channels in the settings: secrets are write-only.
	ch := decode(c.do(call{method: "PATCH", path: settings, token: A.Write, want: 200, body: map[string]any{"channels": map[string]any{
		"telegram": map[string]any{"bot_token": "123:abc", "secret_token": "s3cret", "api_base_url": "http://127.0.0.1:9/tg"},
		"slack":    map[string]any{"signing_secret": "sig", "bot_token": "xoxb-1"},
		"whatsapp": map[string]any{"app_secret": "a", "verify_token": "v", "access_token": "t", "phone_number_id": "1555"},
		"widget":   map[string]any{"allowed_origins": []string{"https://shop.example"}},
	}}}))
	if strings.Contains(fmt.Sprint(ch), "s3cret") {
		t.Errorf("settings show a secret: %v", ch)
	}
	c.do(call{method: "PATCH", path: settings, token: A.Write, body: map[string]any{"channels": map[string]any{"telegram": map[string]any{"bot_token_set": true, "api_base_url": "http://127.0.0.1:9/tg2"}, "slack": nil}}, want: 200})
	c.do(call{method: "PATCH", path: settings, token: A.Write, body: map[string]any{"channels": map[string]any{"fax": map[string]any{}}}, want: 422, offSpec: "fax"})
	c.do(call{method: "PATCH", path: settings, token: A.Write, body: map[string]any{"channels": map[string]any{"telegram": map[string]any{"token": "x"}}}, want: 422, offSpec: "token"})
	c.do(call{method: "GET", path: settings, token: A.Read, want: 200})

	// Export: NDJSON lines are detail objects (with their timeline on request); CSV has a header.
	for _, q := range []string{"", "/?source=widget,email&include=events&format=ndjson", "?sort=ord&metadata.plan=pro"} {
		r := c.do(call{method: "GET", path: conv + "/export" + q, token: A.Read, want: 200})
		if q == "" && bytes.Count(r.Body, []byte("\n")) < 3 {
			t.Errorf("export of everything: %d lines", bytes.Count(r.Body, []byte("\n")))
		}
		c.ndjsonLines(r.Body, strings.Contains(q, "include=events"))
	}
	csv := c.do(call{method: "GET", path: conv + "/export?format=csv&resolution_status=open", token: A.Read, want: 200})
	if !strings.HasPrefix(string(csv.Body), "id,ord,created_at,") || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("CSV export: %s %.200s", csv.Header.Get("Content-Type"), csv.Body)
	}
	c.do(call{method: "GET", path: conv + "/export?format=csv&include=events", token: A.Read, want: 400})
	c.do(call{method: "GET", path: conv + "/export?limit=5", token: A.Read, want: 400})
	c.do(call{method: "GET", path: conv + "/export?format=xml", token: A.Read, want: 400, offSpec: "format"})
	c.do(call{method: "GET", path: conv + "/export?sort=newest", token: A.Read, want: 400, offSpec: "sort"})

	// Analytics.
	for _, q := range []string{"", "/?group_by=day,source&tz=Europe/Amsterdam", "?group_by=sentiment&metadata.plan=pro", "?group_by=assignee_type&group_by=resolution_status&source=widget", "?group_by=language,topic"} {
		c.do(call{method: "GET", path: "/v1/api_core/analytics" + q, token: A.Read, want: 200})
	}
	c.do(call{method: "GET", path: "/v1/api_core/analytics?group_by=day,week,month", token: A.Read, want: 400, offSpec: "group_by"})
	c.do(call{method: "GET", path: "/v1/api_core/analytics?group_by=colour", token: A.Read, want: 400, offSpec: "group_by"})
	c.do(call{method: "GET", path: "/v1/api_core/analytics?tz=Mars/Olympus", token: A.Read, want: 400})
	c.do(call{method: "GET", path: "/v1/api_core/analytics?offset=1", token: A.Read, want: 400})

	// Authentication.
	c.do(call{method: "GET", path: conv, want: 401, offSpec: "authorization"})
	c.do(call{method: "GET", path: conv + "/" + id + "/", token: "not-a-token", want: 401})
	c.do(call{method: "DELETE", path: conv + "/" + id, want: 401, offSpec: "authorization"})
	c.do(call{method: "GET", path: settings, header: []string{"Authorization", "Basic dXNlcjpwYXNz"}, want: 401, offSpec: "authorization"})

	// Paths and methods the API does not serve.
	r := c.do(call{method: "PUT", path: conv, token: A.Write, body: map[string]any{}, want: 405, offSpec: "put", undocumented: true})
	if allow := r.Header.Get("Allow"); allow != "GET, POST" {
		t.Errorf("405 Allow %q, want GET, POST", allow)
	}
	c.do(call{method: "DELETE", path: settings, token: A.Write, want: 405, offSpec: "delete", undocumented: true})
	c.do(call{method: "GET", path: "/v1/api_core/nothing", token: A.Read, want: 404, offSpec: "not found", undocumented: true})

	// Delete, both spellings; then it is gone.
	c.do(call{method: "DELETE", path: conv + "/" + histID, token: A.Read, want: 403})
	c.do(call{method: "DELETE", path: conv + "/" + histID, token: A.Write, want: 204})
	c.do(call{method: "DELETE", path: conv + "/" + emptyID + "/", token: A.Write, want: 204})
	c.do(call{method: "DELETE", path: conv + "/" + emptyID + "/", token: A.Write, want: 404})
	c.do(call{method: "DELETE", path: conv + "/" + otherID + "/", token: A.Write, want: 404})
	c.do(call{method: "GET", path: conv + "/" + histID + "/events", token: A.Read, want: 404})
}

// mustCursor returns the next_cursor of the first page of a list.
func mustCursor(t *testing.T, c *conformance, path, token string) string {
	t.Helper()
	var page struct {
		NextCursor *string `json:"next_cursor"`
	}
	c.do(call{method: "GET", path: path, token: token, want: 200}).JSON(t, &page)
	if page.NextCursor == nil {
		t.Fatalf("GET %s: no next_cursor", path)
	}
	return *page.NextCursor
}

// documentedOperations lists the document's operations as "METHOD /path", one per path
// spelling.
func documentedOperations(doc *v3.Document) map[string]bool {
	out := map[string]bool{}
	for p := doc.Paths.PathItems.First(); p != nil; p = p.Next() {
		for op := p.Value().GetOperations().First(); op != nil; op = op.Next() {
			out[strings.ToUpper(op.Key())+" "+p.Key()] = true
		}
	}
	return out
}

// TestOpenAPIShape checks what the document promises about its own responses: every API
// operation declares the errors the server's middleware can give, every operation with a
// conversation id declares 404, every operation with a body declares 400 and 413, every
// response but 204 has a body schema, and write operations declare 403.
func TestOpenAPIShape(t *testing.T) {
	s := parseSpec(t, server.OpenAPI)
	for p := s.model.Paths.PathItems.First(); p != nil; p = p.Next() {
		path := p.Key()
		for o := p.Value().GetOperations().First(); o != nil; o = o.Next() {
			method, op := strings.ToUpper(o.Key()), o.Value()
			name := method + " " + path
			if op.OperationId == "" || op.Description == "" && op.Summary == "" {
				t.Errorf("%s: no operationId or description", name)
			}
			codes := map[string]*v3.Response{}
			for r := op.Responses.Codes.First(); r != nil; r = r.Next() {
				codes[r.Key()] = r.Value()
				if r.Key() != "204" && r.Value().Content.Len() == 0 {
					t.Errorf("%s: response %s has no content", name, r.Key())
				}
			}
			need := []string{}
			if strings.HasPrefix(path, "/v1/") {
				need = append(need, "401", "429", "500")
				if method != "GET" {
					// Scope, and Idempotency-Key: 400 malformed, 409 in progress, 422 reused;
					// the body is read (and limited) to fingerprint it.
					need = append(need, "400", "403", "409", "413", "422")
					if !slices.ContainsFunc(op.Parameters, func(p *v3.Parameter) bool { return p.Name == "Idempotency-Key" }) {
						t.Errorf("%s: no Idempotency-Key parameter", name)
					}
				}
				if strings.Contains(path, "{") {
					need = append(need, "404")
				}
				if op.RequestBody != nil {
					need = append(need, "400", "413")
				}
				if op.Security != nil {
					t.Errorf("%s: an API operation without the document's bearer security", name)
				}
			} else if op.Security == nil || len(op.Security) != 0 {
				t.Errorf("%s: an operations endpoint should say security: []", name)
			}
			for _, code := range need {
				if codes[code] == nil {
					t.Errorf("%s: does not declare %s", name, code)
				}
			}
		}
	}
	for _, name := range []string{"ConversationListItem", "ConversationDetail", "ConversationList", "EventList", "Event",
		"MessageData", "LogData", "TrackedLinkData", "Metadata", "Settings", "ImportResult", "ErrorEnvelope",
		"NewConversation", "NewMessage", "ConversationPatch"} {
		if s.model.Components.Schemas.GetOrZero(name) == nil {
			t.Errorf("no schema %s", name)
		}
	}
	// Responses exactly the reference's shape refuse stray fields.
	for _, name := range []string{"ConversationListItem", "ConversationDetail", "ConversationList", "EventList",
		"MessageData", "LogData", "TrackedLinkData", "Metadata", "Settings", "ImportResult", "ErrorEnvelope", "Assignee"} {
		sc := s.model.Components.Schemas.GetOrZero(name).Schema()
		if sc.AdditionalProperties == nil || !sc.AdditionalProperties.IsB() || sc.AdditionalProperties.B {
			t.Errorf("schema %s should say additionalProperties: false", name)
		}
		if sc.Properties == nil {
			continue
		}
		for pr := sc.Properties.First(); pr != nil; pr = pr.Next() {
			if !slices.Contains(sc.Required, pr.Key()) && name != "Assignee" {
				t.Errorf("schema %s: property %s is not required", name, pr.Key())
			}
		}
	}
}

// TestOpenAPICoversEveryRoute reads the routes the server registers (internal/api/api.go's
// routes() and internal/server/server.go's New) from their source and compares them both ways
// with the document's operations: adding a route without documenting it fails here.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	routes := map[string]bool{}
	for _, r := range apiRoutes(t, "../api/api.go") {
		// handle() serves each pattern with and without a trailing slash.
		routes[normalizeRoute(r)] = true
		method, path, _ := strings.Cut(r, " ")
		routes[normalizeRoute(method+" "+path+"/")] = true
	}
	for _, r := range serverRoutes(t, "server.go") {
		routes[normalizeRoute(r)] = true
	}
	if len(routes) < 20 {
		t.Fatalf("read only %d routes from the source; the test no longer understands it: %v", len(routes), routes)
	}
	documented := map[string]bool{}
	for op := range documentedOperations(parseSpec(t, server.OpenAPI).model) {
		documented[normalizeRoute(op)] = true
	}
	for _, r := range sortedKeys(routes) {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, r := range sortedKeys(documented) {
		if !routes[r] {
			t.Errorf("openapi.json documents %s, which the server does not serve", r)
		}
	}
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

func normalizeRoute(r string) string {
	method, path, _ := strings.Cut(r, " ")
	return method + " " + pathParam.ReplaceAllString(path, "{}")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// apiRoutes evaluates the first argument of every s.handle(...) call in routes(): string
// concatenations of literals, package constants and local variables.
func apiRoutes(t *testing.T, file string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.BasicLit:
			if x.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		case *ast.Ident:
			s, ok := vals[x.Name]
			return s, ok
		case *ast.ParenExpr:
			return eval(x.X)
		case *ast.BinaryExpr:
			if x.Op != token.ADD {
				return "", false
			}
			a, ok1 := eval(x.X)
			b, ok2 := eval(x.Y)
			return a + b, ok1 && ok2
		}
		return "", false
	}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && (g.Tok == token.CONST || g.Tok == token.VAR) {
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := eval(vs.Values[i]); ok {
							vals[n.Name] = s
						}
					}
				}
			}
		}
	}
	var routes []string
	found := false
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "routes" {
			continue
		}
		found = true
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				for i, l := range x.Lhs {
					if id, ok := l.(*ast.Ident); ok && i < len(x.Rhs) {
						if s, ok := eval(x.Rhs[i]); ok {
							vals[id.Name] = s
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := x.Fun.(*ast.SelectorExpr)
				if !ok || len(x.Args) == 0 {
					return true
				}
				switch sel.Sel.Name {
				case "handle":
					s, ok := eval(x.Args[0])
					if !ok || !strings.Contains(s, " /") {
						t.Errorf("%s: cannot read the route pattern; teach this test", fset.Position(x.Pos()))
						return true
					}
					routes = append(routes, s)
				case "Handle", "HandleFunc":
					// Only the catch-all of unknown paths is registered on the mux directly.
					if s, ok := eval(x.Args[0]); !ok || s != "/v1/" {
						t.Errorf("%s: a route registered outside handle(); document it and teach this test", fset.Position(x.Pos()))
					}
				}
			}
			return true
		})
	}
	if !found {
		t.Fatalf("%s has no routes()", file)
	}
	return routes
}

// serverRoutes reads the literal patterns registered on the server's mux, but for the API's
// subtree.
func serverRoutes(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	// Handlers mounted from cfg.Mounts (channels' webhooks, the widget, tracked links, the
	// dashboard) are not the API: the document does not describe them.
	mounted := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if r, ok := n.(*ast.RangeStmt); ok {
			if sel, ok := r.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Mounts" {
				if k, ok := r.Key.(*ast.Ident); ok {
					mounted[k.Name] = true
				}
			}
		}
		x, ok := n.(*ast.CallExpr)
		if !ok || len(x.Args) == 0 {
			return true
		}
		sel, ok := x.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
			return true
		}
		if id, ok := x.Args[0].(*ast.Ident); ok && mounted[id.Name] {
			return true
		}
		lit, ok := x.Args[0].(*ast.BasicLit)
		if !ok {
			t.Errorf("server.go: a route pattern that is not a literal; teach this test")
			return true
		}
		s, _ := strconv.Unquote(lit.Value)
		if s == "/v1/" {
			return true
		}
		if !strings.Contains(s, " /") {
			t.Errorf("server.go: route %q has no method; document every method it serves", s)
			return true
		}
		routes = append(routes, s)
		return true
	})
	return routes
}

// Package client is the Go client of Parley's HTTP API: the Quickchat-compatible
// Conversations API and Parley's extensions (writes, metadata, import and export, analytics,
// settings, outbound webhooks and the live stream of changes).
//
// Create a client with the server's base URL and an API token, then call the services:
//
//	c, err := client.New("https://parley.example.com", os.Getenv("PARLEY_TOKEN"))
//	if err != nil { ... }
//	for conv, err := range c.Conversations.All(ctx, client.ListOptions{Filter: client.Filter{Sources: []string{"widget"}}}) {
//		if err != nil { ... }
//		fmt.Println(conv.ID, conv.Title)
//	}
//
// Every method takes a context. A failed call returns a *Error carrying the HTTP status and
// the API's error code, field and message.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "parley-go-client/1"

// Client calls one Parley server with one API token. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	hc        *http.Client
	userAgent string

	// Conversations reads and writes conversations, their timelines and metadata, and
	// imports and exports them.
	Conversations *ConversationsService
	// Analytics answers aggregate counts for dashboards.
	Analytics *AnalyticsService
	// Settings reads and changes the assistant's settings.
	Settings *SettingsService
	// Operators lists the assistant's human operators.
	Operators *OperatorsService
	// Webhooks manages outbound webhook endpoints and their deliveries.
	Webhooks *WebhooksService
	// Stream follows the assistant's changes live (Server-Sent Events).
	Stream *StreamService
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc (timeouts, proxies,
// transports). The default is a client without a timeout: use contexts to bound calls, since
// exports may stream for a long time.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL (for example "https://parley.example.com";
// the API's paths are added to it) that authenticates with token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("parley client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("parley client: base URL %q must be an absolute http or https URL", baseURL)
	}
	c := &Client{base: u, token: token, hc: &http.Client{}, userAgent: DefaultUserAgent}
	for _, o := range opts {
		o(c)
	}
	c.Conversations = &ConversationsService{c: c}
	c.Analytics = &AnalyticsService{c: c}
	c.Settings = &SettingsService{c: c}
	c.Operators = &OperatorsService{c: c}
	c.Webhooks = &WebhooksService{c: c}
	c.Stream = &StreamService{c: c}
	return c, nil
}

// BaseURL returns the server's base URL as given to New.
func (c *Client) BaseURL() string { return c.base.String() }

// apiPrefix starts every API path.
const apiPrefix = "/v1/api_core"

// Error is a failed call: the HTTP status and, when the server answered in its error envelope
// ({"errors": {"<field>": [{"message", "code"}]}}), the first error's code, field and message.
// Field is the query parameter, header or body field concerned, or "root".
type Error struct {
	Status  int
	Code    string
	Field   string
	Message string
	// Errors holds every error of the envelope by field.
	Errors map[string][]ErrorDetail
	// RetryAfter is the wait the server asks for on 429 (from Retry-After).
	RetryAfter time.Duration
}

// ErrorDetail is one error of the envelope.
type ErrorDetail struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "parley: %d", e.Status)
	if e.Code != "" {
		sb.WriteString(" " + e.Code)
	}
	if e.Field != "" && e.Field != "root" {
		sb.WriteString(" (" + e.Field + ")")
	}
	if e.Message != "" {
		sb.WriteString(": " + e.Message)
	}
	return sb.String()
}

// Error codes of the API's envelope.
const (
	CodeBadRequest         = "BAD_REQUEST"
	CodePermissionDenied   = "PERMISSION_DENIED"
	CodeNotFound           = "NOT_FOUND"
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	CodeConflict           = "CONFLICT"
	CodePreconditionFailed = "PRECONDITION_FAILED"
	CodeTooLarge           = "REQUEST_TOO_LARGE"
	CodeValidation         = "VALIDATION_ERROR"
	CodeTooManyRequests    = "TOO_MANY_REQUESTS"
	CodeUnknown            = "UNKNOWN"
	CodeUnavailable        = "SERVICE_UNAVAILABLE"
)

// IsStatus reports whether err is an *Error with the given HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// IsNotFound reports whether err says the conversation (or other object) does not exist for
// this token's assistant.
func IsNotFound(err error) bool { return IsStatus(err, http.StatusNotFound) }

// errorFrom reads a failed response into an *Error.
func errorFrom(res *http.Response) error {
	e := &Error{Status: res.StatusCode}
	if s := res.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var env struct {
		Errors map[string][]ErrorDetail `json:"errors"`
	}
	if json.Unmarshal(b, &env) == nil && len(env.Errors) > 0 {
		e.Errors = env.Errors
		fields := make([]string, 0, len(env.Errors))
		for f := range env.Errors {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			if len(env.Errors[f]) > 0 {
				e.Field, e.Code, e.Message = f, env.Errors[f][0].Code, env.Errors[f][0].Message
				break
			}
		}
		return e
	}
	e.Message = strings.TrimSpace(string(b))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200] + "…"
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}

// WriteOption adds a header to a write.
type WriteOption func(http.Header)

// IfMatch makes a write happen only while the conversation is still at version (the Version
// of a detail, or of metadata): otherwise it fails with a 412 PRECONDITION_FAILED *Error and
// nothing changes.
func IfMatch(version int64) WriteOption {
	return func(h http.Header) { h.Set("If-Match", `"`+strconv.FormatInt(version, 10)+`"`) }
}

// IdempotencyKey makes a write safe to retry: the server answers a retry with the same key
// with the first answer, for 24 hours.
func IdempotencyKey(key string) WriteOption {
	return func(h http.Header) { h.Set("Idempotency-Key", key) }
}

// request is one call of the API.
type request struct {
	method, path string
	query        url.Values
	body         any // nil, an io.Reader (sent as is) or a value sent as JSON
	contentType  string
	header       http.Header
	opts         []WriteOption
}

// send sends r and returns the response when its status is 2xx, else an *Error (the body is
// then closed).
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + r.path
	u.RawQuery = r.query.Encode()
	var body io.Reader
	contentType := r.contentType
	switch b := r.body.(type) {
	case nil:
	case io.Reader:
		body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("parley client: encode the request body: %w", err)
		}
		body = bytes.NewReader(j)
		if contentType == "" {
			contentType = "application/json"
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	for _, o := range r.opts {
		o(req.Header)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		defer res.Body.Close()
		return nil, errorFrom(res)
	}
	return res, nil
}

// call sends r and decodes a JSON answer into out (when not nil). It returns the status.
func (c *Client) call(ctx context.Context, r request, out any) (*http.Response, error) {
	res, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res, fmt.Errorf("parley client: decode the answer of %s %s: %w", r.method, r.path, err)
		}
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return res, nil
}

// versionOf reads an ETag such as "3" (0 when missing or not a version).
func versionOf(h http.Header) int64 {
	v := strings.TrimPrefix(strings.TrimSpace(h.Get("ETag")), "W/")
	n, _ := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	return n
}

// escape is a path segment.
func escape(s string) string { return url.PathEscape(s) }

package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// StreamService follows the assistant's changes as they commit: the live stream of
// GET /v1/api_core/stream (Server-Sent Events), the same events as the webhooks. Any token of
// the assistant can read it. Get it from Client.Stream.
//
// A stream never ends by itself: bound it with a context, not with http.Client.Timeout, which
// cuts every connection after that time (the subscription then reconnects each time).
type StreamService struct{ c *Client }

// StreamOptions say where a subscription starts and how it reconnects.
type StreamOptions struct {
	// LastEventID resumes after the event with this id: the ID of the last StreamEvent
	// handled, kept from an earlier subscription. "" starts with the next change; "0" with
	// the oldest change the server keeps (at least an hour, 7 days by default).
	LastEventID string
	// RetryDelay is the wait before reconnecting after the connection is lost (default:
	// what the server asks for, 2 seconds). Failed attempts to reconnect wait twice as long
	// each time, up to 30 seconds (or RetryDelay when longer), and at least a 429's
	// Retry-After.
	RetryDelay time.Duration
	// IdleTimeout is how long a connection may stay silent before it is taken for dead and
	// replaced (default 1 minute; the server sends a heartbeat every 15 seconds). Negative:
	// never.
	IdleTimeout time.Duration
	// MaxFailures is how many attempts to connect may fail in a row before the subscription
	// yields the last error and ends (0: no limit, it keeps trying until the context is done).
	MaxFailures int
}

// StreamEvent is one event of the live stream: a change, as a webhook delivery's body, whose
// ID is the change's sequence number (the SSE id).
type StreamEvent struct {
	WebhookEvent
	// Raw is the event's data as the server sent it.
	Raw json.RawMessage `json:"-"`
}

// Defaults of a subscription.
const (
	defaultStreamRetry  = 2 * time.Second
	defaultStreamIdle   = time.Minute
	maxStreamBackoff    = 30 * time.Second
	maxStreamEventBytes = 16 << 20
	streamContentType   = "text/event-stream"
	lastEventIDHeader   = "Last-Event-ID"
)

// Subscribe yields the assistant's changes as they happen, in the order they committed, for
// as long as the loop runs. When the connection is lost (a network error, the server
// restarting, a silent connection), it reconnects with Last-Event-ID set to the id of the
// last event it yielded, so that no change is lost or yielded twice. It yields an error and
// ends when the server refuses the request (a bad token, a bad LastEventID: an *Error), when
// MaxFailures attempts in a row failed, or when an event is not valid JSON. It ends without an
// error when ctx is done.
//
// To resume later where a subscription ended, keep the ID of the last event handled and pass
// it as LastEventID.
func (s *StreamService) Subscribe(ctx context.Context, opts StreamOptions) iter.Seq2[StreamEvent, error] {
	return func(yield func(StreamEvent, error) bool) {
		last := opts.LastEventID
		retry := defaultStreamRetry
		failures := 0
		for {
			stop, err := s.connection(ctx, opts.IdleTimeout, &last, &retry, yield)
			if stop || ctx.Err() != nil {
				return
			}
			if err != nil {
				failures++
				if !retryable(err) || opts.MaxFailures > 0 && failures >= opts.MaxFailures {
					yield(StreamEvent{}, err)
					return
				}
			} else {
				failures = 0
			}
			if !sleep(ctx, backoff(opts.RetryDelay, retry, failures, err)) {
				return
			}
		}
	}
}

// connection opens one connection, resuming after *last, and yields its events until it
// ends. stop is true when the consumer broke the loop or an event could not be decoded (which
// it yielded); err is set when the connection could not be opened. A connection that was open
// and was lost returns neither: the caller reconnects.
func (s *StreamService) connection(ctx context.Context, idle time.Duration, last *string, retry *time.Duration,
	yield func(StreamEvent, error) bool) (stop bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := s.open(ctx, *last)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	if idle == 0 {
		idle = defaultStreamIdle
	}
	// A connection silent for longer than idle is cut, and the caller replaces it.
	var timer *time.Timer
	if idle > 0 {
		timer = time.AfterFunc(idle, cancel)
		defer timer.Stop()
	}
	p := newSSEParser(res.Body)
	p.onLine = func() {
		if timer != nil {
			timer.Reset(idle)
		}
	}
	for {
		ev, err := p.next()
		*last = p.lastID
		if p.retry > 0 {
			*retry = p.retry
		}
		if err != nil {
			return false, nil // the connection ended: reconnect
		}
		out := StreamEvent{Raw: ev.data}
		if err := json.Unmarshal(ev.data, &out.WebhookEvent); err != nil {
			yield(StreamEvent{}, fmt.Errorf("parley client: decode stream event %q: %w", ev.id, err))
			return true, nil
		}
		if out.Type == "" {
			out.Type = ev.typ
		}
		if timer != nil {
			timer.Stop() // the consumer's time does not count as silence
		}
		if !yield(out, nil) {
			return true, nil
		}
		if timer != nil {
			timer.Reset(idle)
		}
	}
}

// open connects, resuming after last when it is not "".
func (s *StreamService) open(ctx context.Context, last string) (*http.Response, error) {
	h := http.Header{"Accept": {streamContentType}, "Cache-Control": {"no-cache"}}
	if last != "" {
		h.Set(lastEventIDHeader, last)
	}
	res, err := s.c.send(ctx, request{method: http.MethodGet, path: apiPrefix + "/stream", header: h})
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != streamContentType {
		res.Body.Close()
		return nil, fmt.Errorf("parley client: the stream answered with %q: %w", res.Header.Get("Content-Type"), errNotStream)
	}
	return res, nil
}

// retryable says whether a failed attempt to connect is worth another: network errors,
// rate limits and server errors are; the server's refusals and answers that are not an event
// stream are not.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	return !errors.Is(err, errNotStream)
}

// errNotStream is an answer that is not an event stream (a wrong base URL, a proxy's page).
var errNotStream = errors.New("not an event stream")

// backoff is the wait before the next attempt: the retry delay after a lost connection,
// doubled for each failed attempt in a row, and at least a 429's Retry-After.
func backoff(fixed, server time.Duration, failures int, err error) time.Duration {
	d := server
	if fixed > 0 {
		d = fixed
	}
	limit := max(maxStreamBackoff, d)
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > d {
		d = e.RetryAfter
	}
	return d
}

// sleep waits for d, or returns false when ctx is done first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sseEvent is one dispatched event of an event stream.
type sseEvent struct {
	id, typ string
	data    []byte
}

// sseParser reads an event stream as the HTML standard says
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
// lines end with CR, LF or CRLF; "data" lines accumulate, joined by LF; "id" sets the last
// event id (unless it holds a NUL), "event" the type, "retry" the reconnection time; lines
// starting with a colon are comments; a blank line dispatches the event when it has data.
type sseParser struct {
	sc *bufio.Scanner
	// idBuf is the last id field read; lastID the id of the last event dispatched.
	idBuf, lastID string
	retry         time.Duration
	onLine        func()
}

func newSSEParser(r io.Reader) *sseParser {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxStreamEventBytes)
	sc.Split(scanSSELines)
	return &sseParser{sc: sc}
}

// next returns the next event with data; at the end of the stream, an error (io.EOF when it
// ended cleanly). An event cut off by the end of the stream is dropped, as the standard says.
func (p *sseParser) next() (sseEvent, error) {
	var data bytes.Buffer
	hasData := false
	typ := ""
	for p.sc.Scan() {
		if p.onLine != nil {
			p.onLine()
		}
		line := p.sc.Bytes()
		if len(line) == 0 {
			p.lastID = p.idBuf
			if !hasData {
				typ = ""
				continue
			}
			if typ == "" {
				typ = "message"
			}
			return sseEvent{id: p.lastID, typ: typ, data: bytes.Clone(data.Bytes())}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte{':'})
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			if data.Len()+len(value) > maxStreamEventBytes {
				return sseEvent{}, errors.New("parley client: a stream event is larger than 16 MiB")
			}
			data.Write(value)
			hasData = true
		case "event":
			typ = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.idBuf = string(value)
			}
		case "retry":
			if n, err := strconv.ParseUint(string(value), 10, 31); err == nil {
				p.retry = time.Duration(n) * time.Millisecond
			}
		}
	}
	if err := p.sc.Err(); err != nil {
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF
}

// scanSSELines splits at CRLF, LF or CR.
func scanSSELines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // a CR at the end of what was read: is an LF next?
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), nil, nil // an unterminated last line is not a line: dropped
	}
	return 0, nil, nil
}

package client

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// parseAll reads every event of an event stream, with the parser's last id after each.
func parseAll(r io.Reader) (events []string, retry time.Duration, err error) {
	p := newSSEParser(r)
	for {
		ev, err := p.next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return events, p.retry, err
		}
		events = append(events, fmt.Sprintf("%s|%s|%s|%s", ev.id, ev.typ, ev.data, p.lastID))
	}
}

func TestSSEParser(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []string
		retry    time.Duration
	}{
		{"the server's", "retry: 2000\n: streaming after 41\nid: 41\n\nid: 42\nevent: message.created\ndata: {\"id\":\"42\"}\n\n: heartbeat\n\n",
			[]string{`42|message.created|{"id":"42"}|42`}, 2 * time.Second},
		{"CRLF and CR", "id: 1\r\nevent: a\r\ndata: x\r\n\r\nid: 2\revent: b\rdata: y\r\r", []string{"1|a|x|1", "2|b|y|2"}, 0},
		{"data lines joined", "data: one\ndata:two\ndata\ndata:  three\n\n", []string{"|message|one\ntwo\n\n three|"}, 0},
		{"the id persists; a NUL id is ignored", "id: 5\ndata: a\n\ndata: b\n\nid: 6\x00\ndata: c\n\n", []string{"5|message|a|5", "5|message|b|5", "5|message|c|5"}, 0},
		{"an empty id clears it", "id: 5\ndata: a\n\nid\ndata: b\n\n", []string{"5|message|a|5", "|message|b|"}, 0},
		{"bad retries are ignored", "retry: 1s\nretry: -5\nretry: +5\nretry: 300\ndata: a\n\n", []string{"|message|a|"}, 300 * time.Millisecond},
		{"unknown fields and comments", "foo: bar\n:comment\nevent: x\nid:7\ndata: a\n\n", []string{"7|x|a|7"}, 0},
		{"an event cut off is dropped", "data: a\n\ndata: b\n", []string{"|message|a|"}, 0},
		{"no blank line at all", "id: 3\ndata: b", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(c.in), iotest.OneByteReader(strings.NewReader(c.in))} {
				got, retry, err := parseAll(r)
				if err != nil || !slices.Equal(got, c.want) || retry != c.retry {
					t.Errorf("%q:\n got %q retry %s (%v)\nwant %q retry %s", c.in, got, retry, err, c.want, c.retry)
				}
			}
		})
	}
	// The id of an event that was not dispatched is not the last id.
	p := newSSEParser(strings.NewReader("id: 4\ndata: a\n\nid: 9\ndata: b"))
	if _, err := p.next(); err != nil || p.lastID != "4" {
		t.Fatalf("first event: %v, last id %q", err, p.lastID)
	}
	if _, err := p.next(); err != io.EOF || p.lastID != "4" {
		t.Errorf("cut-off event: %v, last id %q, want 4", err, p.lastID)
	}
	// A huge event is refused.
	huge := "data: " + strings.Repeat("x", maxStreamEventBytes) + "\n\n"
	if _, _, err := parseAll(strings.NewReader(huge)); err == nil {
		t.Error("an event larger than the limit was read")
	}
}

// FuzzSSEParser: the parser never panics, and reads the same events however the input is cut
// into reads.
func FuzzSSEParser(f *testing.F) {
	for _, s := range []string{"retry: 2000\n: c\nid: 1\n\nid: 2\nevent: e\ndata: {}\n\n", "data: a\r\ndata: b\r\r\n", "id: \x00\ndata\n\n", "\r\r\n\n:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		whole, r1, err1 := parseAll(strings.NewReader(in))
		bytewise, r2, err2 := parseAll(iotest.OneByteReader(strings.NewReader(in)))
		if !slices.Equal(whole, bytewise) || r1 != r2 || (err1 == nil) != (err2 == nil) {
			t.Errorf("%q: %q %s %v, byte by byte %q %s %v", in, whole, r1, err1, bytewise, r2, err2)
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		fixed, server time.Duration
		failures      int
		err           error
		want          time.Duration
	}{
		{0, 2 * time.Second, 0, nil, 2 * time.Second},
		{100 * time.Millisecond, 2 * time.Second, 0, nil, 100 * time.Millisecond},
		{0, 2 * time.Second, 1, errors.New("refused"), 2 * time.Second},
		{0, 2 * time.Second, 3, errors.New("refused"), 8 * time.Second},
		{0, 2 * time.Second, 30, errors.New("refused"), 30 * time.Second},
		{time.Minute, 0, 5, errors.New("refused"), time.Minute},
		{time.Second, 0, 1, &Error{Status: 429, RetryAfter: 20 * time.Second}, 20 * time.Second},
		{time.Second, 0, 1, &Error{Status: 503}, time.Second},
	} {
		if got := backoff(c.fixed, c.server, c.failures, c.err); got != c.want {
			t.Errorf("backoff(%s, %s, %d, %v) = %s, want %s", c.fixed, c.server, c.failures, c.err, got, c.want)
		}
	}
	for err, want := range map[error]bool{
		&Error{Status: 429}: true, &Error{Status: 502}: true, &Error{Status: 400}: false, &Error{Status: 401}: false,
		errors.New("connection refused"): true, fmt.Errorf("x: %w", errNotStream): false,
	} {
		if retryable(err) != want {
			t.Errorf("retryable(%v) = %v", err, !want)
		}
	}
}

// Package bidi drives Firefox over WebDriver BiDi for end-to-end tests: it starts a headless
// Firefox on a fresh profile, connects to the browser's own WebDriver BiDi endpoint (no
// geckodriver), sends commands and matches their responses by id, and hands events to
// listeners. Page (page.go) wraps one browsing context with the few things a dashboard test
// does: navigate, evaluate, click, type, press keys, resize and take screenshots.
//
// The protocol is the W3C WebDriver BiDi draft: https://w3c.github.io/webdriver-bidi/.
package bidi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// FirefoxPath is Debian's Firefox ESR (apt-get install -y firefox-esr).
const FirefoxPath = "/usr/bin/firefox-esr"

// Options says how to start Firefox.
type Options struct {
	// Path is the Firefox executable; FirefoxPath when empty.
	Path string
	// Prefs are added to (or override) the profile's preferences (see DefaultPrefs).
	Prefs map[string]any
	// Logf, when set, receives Firefox's standard error line by line.
	Logf func(format string, args ...any)
	// StartTimeout bounds the wait for Firefox's WebDriver BiDi endpoint; 60 s when zero.
	StartTimeout time.Duration
}

// Browser is a running Firefox with one WebDriver BiDi session.
type Browser struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	profile string
	conn    *websocket.Conn
	stderr  *tail

	mu        sync.Mutex
	nextID    int64
	pending   map[int64]chan message
	listeners []func(method string, params json.RawMessage)
	readErr   error
	closed    chan struct{} // closed when the reader stops

	closeOnce sync.Once
	closeErr  error
}

// message is any message from the browser: a command's response or an event.
type message struct {
	Type       string          `json:"type"`
	ID         *int64          `json:"id"`
	Result     json.RawMessage `json:"result"`
	Error      string          `json:"error"`
	Message    string          `json:"message"`
	Stacktrace string          `json:"stacktrace"`
	Method     string          `json:"method"`
	Params     json.RawMessage `json:"params"`
}

// Error is an error response to a command.
type Error struct {
	Method  string
	Code    string // e.g. "no such element", "invalid argument"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("bidi %s: %s: %s", e.Method, e.Code, e.Message)
}

var listeningRE = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// Start runs Firefox headless on a new profile in a temporary folder, connects to its
// WebDriver BiDi endpoint and opens a session. Close ends the browser and removes the profile.
func Start(ctx context.Context, opt Options) (*Browser, error) {
	path := opt.Path
	if path == "" {
		path = FirefoxPath
	}
	if opt.StartTimeout == 0 {
		opt.StartTimeout = 60 * time.Second
	}
	profile, err := os.MkdirTemp("", "bidi-firefox-profile-")
	if err != nil {
		return nil, err
	}
	if err := writePrefs(profile, opt.Prefs); err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	cmd := exec.Command(path, "--headless", "--no-remote", "--new-instance",
		"--remote-debugging-port=0", "--profile", profile, "about:blank")
	cmd.Env = append(os.Environ(),
		"MOZ_CRASHREPORTER_DISABLE=1", // no crash reporter dialog or upload
		"MOZ_HEADLESS=1",
	)
	setProcessGroup(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	b := &Browser{
		cmd: cmd, exited: make(chan struct{}), profile: profile, stderr: &tail{max: 40},
		pending: map[int64]chan message{}, closed: make(chan struct{}),
	}
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			b.stderr.add(line)
			if opt.Logf != nil {
				opt.Logf("firefox: %s", line)
			}
			if m := listeningRE.FindStringSubmatch(line); m != nil && !sent {
				endpoint <- m[1]
				sent = true
			}
		}
		// Read to the end so Firefox never blocks on a full pipe.
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(b.exited) }()

	var ws string
	select {
	case ws = <-endpoint:
	case <-b.exited:
		b.cleanup()
		return nil, fmt.Errorf("%s exited before it listened for WebDriver BiDi:\n%s", path, b.stderr)
	case <-time.After(opt.StartTimeout):
		b.cleanup()
		return nil, fmt.Errorf("%s did not listen for WebDriver BiDi within %s:\n%s", path, opt.StartTimeout, b.stderr)
	case <-ctx.Done():
		b.cleanup()
		return nil, ctx.Err()
	}

	// A direct connection: the endpoint is on this machine, whatever proxy the environment names.
	dialCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, ws+"/session", &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{Proxy: nil}},
	})
	if err != nil {
		b.cleanup()
		return nil, fmt.Errorf("connect to %s/session: %w", ws, err)
	}
	conn.SetReadLimit(-1) // screenshots are megabytes of base64
	b.conn = conn
	go b.read()

	if err := b.Call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// read hands responses to their callers and events to the listeners until the connection ends.
func (b *Browser) read() {
	defer close(b.closed)
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		if m.Type == "event" {
			b.mu.Lock()
			ls := append([]func(string, json.RawMessage){}, b.listeners...)
			b.mu.Unlock()
			for _, l := range ls {
				l(m.Method, m.Params)
			}
			continue
		}
		if m.ID == nil {
			continue // an error about a message that could not be read at all
		}
		b.mu.Lock()
		ch := b.pending[*m.ID]
		delete(b.pending, *m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// Call sends command method with params and waits for its response, whose result is decoded
// into result when result is not nil.
func (b *Browser) Call(ctx context.Context, method string, params any, result any) error {
	raw, err := b.CallRaw(ctx, method, params)
	if err != nil || result == nil {
		return err
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("bidi %s: decode the result: %w", method, err)
	}
	return nil
}

// CallRaw is Call with the result as it came.
func (b *Browser) CallRaw(ctx context.Context, method string, params any) (json.RawMessage, error) {
	if params == nil {
		params = map[string]any{}
	}
	ch := make(chan message, 1)
	b.mu.Lock()
	if b.readErr != nil {
		err := b.readErr
		b.mu.Unlock()
		return nil, fmt.Errorf("bidi %s: the connection is closed: %w", method, err)
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	data, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		b.forget(id)
		return nil, err
	}
	if err := b.conn.Write(ctx, websocket.MessageText, data); err != nil {
		b.forget(id)
		return nil, fmt.Errorf("bidi %s: send: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("bidi %s: the connection closed before the response", method)
		}
		if m.Type == "error" {
			return nil, &Error{Method: method, Code: m.Error, Message: m.Message}
		}
		return m.Result, nil
	case <-ctx.Done():
		b.forget(id)
		return nil, fmt.Errorf("bidi %s: %w", method, ctx.Err())
	}
}

func (b *Browser) forget(id int64) {
	b.mu.Lock()
	delete(b.pending, id)
	b.mu.Unlock()
}

// OnEvent adds a listener for every event the session is subscribed to. Listeners run on the
// connection's reader: they must not block or call the browser.
func (b *Browser) OnEvent(fn func(method string, params json.RawMessage)) {
	b.mu.Lock()
	b.listeners = append(b.listeners, fn)
	b.mu.Unlock()
}

// Subscribe asks for events (e.g. "log.entryAdded") in every browsing context.
func (b *Browser) Subscribe(ctx context.Context, events ...string) error {
	return b.Call(ctx, "session.subscribe", map[string]any{"events": events}, nil)
}

// Stderr is the last lines Firefox wrote to its standard error.
func (b *Browser) Stderr() string { return b.stderr.String() }

// Close ends the session and the browser and removes its profile. It is safe to call more
// than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		if b.conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			// browser.close ends the session and Firefox; a failure here is not fatal, the
			// process is stopped below in any case.
			b.Call(ctx, "browser.close", nil, nil)
			cancel()
			b.conn.Close(websocket.StatusNormalClosure, "")
		}
		b.closeErr = b.cleanup()
	})
	return b.closeErr
}

// cleanup waits a little for Firefox to exit, stops it (and its child processes) if it has
// not, and removes the profile.
func (b *Browser) cleanup() error {
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		killProcess(b.cmd)
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
		}
	}
	// Content processes may outlive the parent for a moment: stop what is left of the group.
	killProcess(b.cmd)
	var err error
	for range 20 {
		if err = os.RemoveAll(b.profile); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// tail keeps the last lines of a stream.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

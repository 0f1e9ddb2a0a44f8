package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// client talks to the target.
type client struct {
	base, token string
	hc          *http.Client
}

func newClient(t *Target, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns + 8, MaxIdleConnsPerHost: conns + 8, MaxConnsPerHost: 0,
		IdleConnTimeout: time.Minute, DisableCompression: true}
	return &client{base: t.URL, token: t.Token, hc: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}
}

// do sends a request with the token and reads the whole answer; the duration covers both.
func (c *client) do(ctx context.Context, method, path string, body []byte, ctype string) (int, []byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return c.send(req)
}

// send sends req and reads the whole answer, timed.
func (c *client) send(req *http.Request) (int, []byte, time.Duration, error) {
	start := time.Now()
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, time.Since(start), err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, b, time.Since(start), err
}

// get reads path with the token, or with a dashboard session cookie when one is given.
func (c *client) get(ctx context.Context, path, cookie string) (int, []byte, time.Duration, error) {
	if cookie == "" {
		return c.do(ctx, "GET", path, nil, "")
	}
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Cookie", cookie)
	return c.send(req)
}

// LoadResult is how the import went.
type LoadResult struct {
	Conversations   int64   `json:"conversations"`
	Messages        int64   `json:"messages"`
	Requests        int     `json:"requests"`
	BatchSize       int     `json:"batch_size"`
	Concurrency     int     `json:"concurrency"`
	Seconds         float64 `json:"seconds"`
	ConversationsPS float64 `json:"conversations_per_second"`
	MessagesPS      float64 `json:"messages_per_second"`
	Failed          int64   `json:"failed"`
}

// load sends the data set to POST /v1/api_core/import in NDJSON batches of batch conversations,
// conc requests at a time.
func load(ctx context.Context, c *client, ds *Dataset, batch, conc int, timeout time.Duration, p *Progress) (LoadResult, error) {
	res := LoadResult{BatchSize: batch, Concurrency: conc}
	f, err := os.Open(ds.Path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type job struct {
		body  []byte
		lines int
	}
	jobs := make(chan job, conc)
	var imported, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) { errOnce.Do(func() { firstErr = err; cancel() }) }
	var wg sync.WaitGroup
	p.Start("import", int64(ds.Facts.Conversations))
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				status, body, _, err := c.do(ctx, "POST", "/v1/api_core/import", j.body, "application/x-ndjson")
				if err != nil {
					fail(err)
					continue
				}
				if status != http.StatusOK {
					fail(fmt.Errorf("import: status %d: %.300s", status, body))
					continue
				}
				var out struct {
					Imported int               `json:"imported"`
					Failed   []json.RawMessage `json:"failed"`
				}
				if err := json.Unmarshal(body, &out); err != nil {
					fail(fmt.Errorf("import: %v", err))
					continue
				}
				imported.Add(int64(out.Imported))
				failed.Add(int64(len(out.Failed)))
				if len(out.Failed) > 0 {
					fail(fmt.Errorf("import: %d lines failed, first: %s", len(out.Failed), out.Failed[0]))
				}
				p.Add(int64(j.lines))
			}
		}()
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var buf bytes.Buffer
	n := 0
	send := func() bool {
		if n == 0 {
			return true
		}
		b := bytes.Clone(buf.Bytes())
		buf.Reset()
		select {
		case jobs <- job{b, n}:
			res.Requests++
			n = 0
			return true
		case <-ctx.Done():
			return false
		}
	}
	for sc.Scan() {
		buf.Write(sc.Bytes())
		buf.WriteByte('\n')
		if n++; n == batch && !send() {
			break
		}
	}
	if ctx.Err() == nil {
		send()
	}
	close(jobs)
	wg.Wait()
	p.Done()
	res.Seconds = time.Since(start).Seconds()
	res.Conversations, res.Failed = imported.Load(), failed.Load()
	res.Messages = ds.Facts.Messages
	if res.Conversations != int64(ds.Facts.Conversations) {
		res.Messages = 0 // unknown: not all went in
	}
	res.ConversationsPS = float64(res.Conversations) / res.Seconds
	res.MessagesPS = float64(res.Messages) / res.Seconds
	if err := sc.Err(); err != nil {
		return res, err
	}
	if firstErr != nil {
		return res, firstErr
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res, fmt.Errorf("import: not done after %s", timeout)
	}
	return res, nil
}

// PostResult is how the single-message writes went.
type PostResult struct {
	Requested   int   `json:"requested"`
	Created     int64 `json:"created"`
	Errors      int64 `json:"errors"`
	Concurrency int   `json:"concurrency"`
	// Conversations received the messages, picked from Seed.
	Conversations int     `json:"conversations"`
	Seed          uint64  `json:"seed"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"messages_per_second"`
	Stats         Stats   `json:"latency"`
	// Lost counts messages answered 201 that the server does not have afterwards.
	Lost     int64 `json:"lost"`
	Verified bool  `json:"verified"`
}

// postMessages sends n single messages to the pool's conversations, conc at a time, and
// returns how many each conversation got.
func postMessages(ctx context.Context, c *client, ids []string, n, conc int, timeout time.Duration, p *Progress) (PostResult, map[string]int64, error) {
	res := PostResult{Requested: n, Concurrency: conc}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	got := map[string]int64{}
	durs := make([]time.Duration, 0, n)
	var errs atomic.Int64
	var firstErr error
	p.Start("posts", int64(n))
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					break
				}
				id := ids[int(i)%len(ids)]
				body := fmt.Appendf(nil, `{"author":"visitor","content":"%s %d"}`, PostWord, i)
				status, b, d, err := c.do(ctx, "POST", "/v1/api_core/conversations/"+id+"/messages", body, "application/json")
				if err != nil || status != http.StatusCreated {
					if ctx.Err() == nil {
						errs.Add(1)
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("post message: status %d, %v: %.200s", status, err, b)
						}
						mu.Unlock()
					}
					continue
				}
				local = append(local, d)
				mu.Lock()
				got[id]++
				mu.Unlock()
				p.Add(1)
			}
			mu.Lock()
			durs = append(durs, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	p.Done()
	res.Seconds = time.Since(start).Seconds()
	for _, v := range got {
		res.Created += v
	}
	res.Errors = errs.Load()
	res.PerSecond = float64(res.Created) / res.Seconds
	res.Stats = statsOf(durs, res.Seconds, int(res.Errors))
	if firstErr != nil {
		return res, got, firstErr
	}
	if int(res.Created) < n {
		return res, got, fmt.Errorf("posts: %d of %d sent before the time limit (%s)", res.Created, n, timeout)
	}
	return res, got, nil
}

// messageCount asks the server how many messages a conversation has.
func messageCount(ctx context.Context, c *client, id string) (int64, error) {
	status, b, _, err := c.do(ctx, "GET", "/v1/api_core/conversations/"+id+"/events?type=message&limit=1", nil, "")
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("events of %s: status %d: %.200s", id, status, b)
	}
	var page struct {
		Count int64 `json:"count"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return 0, err
	}
	return page.Count, nil
}

func trimBody(b []byte) string { return strings.TrimSpace(string(b[:min(len(b), 300)])) }

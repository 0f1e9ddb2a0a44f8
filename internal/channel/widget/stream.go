package widget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// stream serves the conversation's new messages as Server-Sent Events. Each event's id is the
// seq of its change-log entry, so a reconnecting browser (Last-Event-ID) misses nothing:
//
//	event: message   data: a message (as in the history)
//	event: reset     the stream cannot resume from the given id: reload the history
//	event: end       the conversation is gone: forget the session
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := h.limit(h.reads, ratelimit.ClientAddr(r)); err != nil {
		return err
	}
	ws, err := h.session(r, c, true)
	if err != nil {
		return err
	}
	addr := ratelimit.ClientAddr(r)
	if !h.open.acquire(addr, h.opt.MaxStreamsPerAddr) {
		return tooMany(time.Minute)
	}
	defer h.open.release(addr)
	from, fromGiven := resumeFrom(r)
	sub, snap, err := h.hub.subscribe(r.Context(), c.assistantID, ws.ConversationID)
	if err != nil {
		return err
	}
	defer h.hub.unsubscribe(c.assistantID, sub)

	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // the server's read timeout would cut a long stream
	_ = rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sse{w: w, rc: rc}
	out.write("retry: 2000\n\n")

	head := snap.head()
	if fromGiven && from < head {
		if head-from > h.opt.MaxCatchUp {
			out.write("id: " + strconv.FormatInt(head, 10) + "\nevent: reset\ndata: {}\n\n")
		} else if err := h.catchUp(r.Context(), out, c.assistantID, ws.ConversationID, from, snap); err != nil {
			return nil // the response has started; the browser reconnects
		}
	}
	if out.err != nil {
		return nil
	}

	heartbeat := time.NewTicker(h.opt.Heartbeat)
	defer heartbeat.Stop()
	maxLife := time.NewTimer(h.opt.MaxStream)
	defer maxLife.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-h.opt.Done:
			return nil
		case <-h.hub.closed:
			return nil
		case <-maxLife.C:
			return nil
		case <-heartbeat.C:
			out.write(": ping\n\n")
		case ch, ok := <-sub.C:
			if !ok {
				return nil // fell behind: the browser resumes from its last id
			}
			if end := h.send(r.Context(), out, c.assistantID, ch); end {
				return nil
			}
		}
		if out.err != nil {
			return nil
		}
	}
}

// resumeFrom is the seq after which to deliver: Last-Event-ID (a reconnect), else the
// cursor the history or session start gave (after=), else nothing old at all.
func resumeFrom(r *http.Request) (int64, bool) {
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
			return n, true
		}
	}
	return 0, false
}

// catchUp sends the conversation's changes after from that the feed had already handed out
// when the stream subscribed; the feed sends the rest.
func (h *Handler) catchUp(ctx context.Context, out *sse, assistantID, conversationID string, from int64, snap snapshot) error {
	head := snap.head()
	for from < head {
		changes, err := h.store.Changes(ctx, assistantID, from, 500)
		if err != nil {
			return err
		}
		for _, ch := range changes {
			from = ch.Seq
			if ch.Seq > head {
				return nil
			}
			if ch.ConversationID == conversationID && snap.covers(ch.Seq) {
				if h.send(ctx, out, assistantID, ch) {
					return errors.New("conversation ended")
				}
			}
		}
		if len(changes) < 500 {
			return nil
		}
	}
	return nil
}

// send writes one change as an event; true when the stream should end.
func (h *Handler) send(ctx context.Context, out *sse, assistantID string, ch cv.Change) bool {
	id := strconv.FormatInt(ch.Seq, 10)
	switch ch.Type {
	case cv.ChangeMessageCreated:
		if ch.EventID == nil {
			return false
		}
		ev, err := h.store.Event(ctx, assistantID, ch.ConversationID, *ch.EventID)
		if err != nil || ev.Message == nil {
			if err != nil && !errors.Is(err, cv.ErrNotFound) && ctx.Err() == nil {
				h.log.Warn("widget stream: read message", "event", *ch.EventID, "err", err)
			}
			return false
		}
		b, _ := json.Marshal(viewMessage(&ev))
		out.write(fmt.Sprintf("id: %s\nevent: message\ndata: %s\n\n", id, b))
	case cv.ChangeConversationDeleted:
		out.write("id: " + id + "\nevent: end\ndata: {}\n\n")
		return true
	}
	return false
}

// sse writes events and flushes each; the first write error sticks.
type sse struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (s *sse) write(text string) {
	if s.err != nil {
		return
	}
	if _, s.err = s.w.Write([]byte(text)); s.err == nil {
		s.err = s.rc.Flush()
	}
}

// streamCount counts the open streams of each client address.
type streamCount struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *streamCount) acquire(addr string, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	if s.n[addr] >= limit {
		return false
	}
	s.n[addr]++
	return true
}

func (s *streamCount) release(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[addr]--; s.n[addr] <= 0 {
		delete(s.n, addr)
	}
}

package api

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/webhook"
)

// Live stream defaults.
const (
	defaultStreamHeartbeat = 15 * time.Second
	// defaultStreamPoll is how often a stream reads the change log when nothing woke it: the
	// changes of other processes, or every change when the server has no change feed.
	defaultStreamPoll = 500 * time.Millisecond
	streamBatch       = 100
)

// stream serves the assistant's changes as Server-Sent Events: one event per change, with the
// change's seq as its id, its type as the event name and the webhook body as data. It starts
// after Last-Event-ID (header, or ?last_event_id=) when given, else with the next change; a
// comment every heartbeat keeps proxies from closing it.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, p principal) error {
	after, resume, perr := lastEventID(r)
	if perr != nil {
		return perr
	}
	ctx := r.Context()
	if !resume {
		var err error
		if after, err = s.store.LastChangeSeq(ctx, p.assistantID()); err != nil {
			return err
		}
	}
	rc := http.NewResponseController(w)
	// The stream outlives the server's read and write timeouts.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})

	var wake <-chan struct{}
	if s.cfg.Changes != nil {
		sub := s.cfg.Changes.Subscribe(p.assistantID())
		defer sub.Close()
		wake = sub.C
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 16<<10)
	flush := func() bool {
		return bw.Flush() == nil && rc.Flush() == nil
	}
	// A client reconnects after 2 s, with the last id it saw. The opening block names where
	// the stream starts as an id without data (no event): a client that loses the connection
	// before the first change resumes from there, and misses none made meanwhile.
	fmt.Fprintf(bw, "retry: 2000\n: streaming the changes of assistant %s after %d\nid: %d\n\n", p.assistantID(), after, after)
	if !flush() {
		return nil
	}
	poll := time.NewTicker(s.cfg.StreamPoll)
	defer poll.Stop()
	beat := time.NewTicker(s.cfg.StreamHeartbeat)
	defer beat.Stop()
	for {
		// Catch up with the log.
		for {
			changes, err := s.store.Changes(ctx, p.assistantID(), after, streamBatch)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("stream: read the change log", "err", err)
				}
				return nil
			}
			for _, ch := range changes {
				id := strconv.FormatInt(ch.Seq, 10)
				body, err := webhook.Render(ctx, s.store, ch, id)
				if err != nil {
					if ctx.Err() == nil {
						s.log.Error("stream: render a change", "seq", ch.Seq, "err", err)
					}
					return nil
				}
				fmt.Fprintf(bw, "id: %s\nevent: %s\ndata: %s\n\n", id, ch.Type, body)
				after = ch.Seq
				if !flush() { // each event goes out as soon as it is written
					return nil
				}
			}
			if len(changes) < streamBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-wake:
		case <-poll.C:
		case <-beat.C:
			bw.WriteString(": heartbeat\n\n")
			if !flush() {
				return nil
			}
		}
	}
}

// lastEventID reads where a stream resumes: the Last-Event-ID header (sent by EventSource on
// reconnection) or the last_event_id parameter, a change seq (0: from the oldest change kept).
func lastEventID(r *http.Request) (int64, bool, *apiError) {
	name, v := "Last-Event-ID", strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		name, v = "last_event_id", r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, badParam(name, "must be the id of an event of this stream (a whole number)")
	}
	return n, true, nil
}

// CloseStreams ends every live stream (their clients reconnect with Last-Event-ID): call it
// when the server shuts down, since streams never finish by themselves.
func (s *Server) CloseStreams() {
	s.closeOnce.Do(func() { close(s.closing) })
}

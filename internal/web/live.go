package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// liveChange is what a live page hears of one change: enough to know what to refresh.
type liveChange struct {
	Seq            int64   `json:"seq"`
	Type           string  `json:"type"`
	ConversationID string  `json:"conversation_id"`
	EventID        *string `json:"event_id,omitempty"`
	Actor          string  `json:"actor"`
	ActorType      string  `json:"actor_type"`
}

// live streams the assistant's change log to a signed-in page as Server-Sent Events (event
// "change", id the change's seq), so that the inbox and conversation pages refresh what
// changed. It is woken by this process's commits and polls for other processes'; it resumes
// after Last-Event-ID; it ends when the session does (checked every minute) or the server
// shuts down.
func (h *Handler) live(w http.ResponseWriter, r *http.Request, u *who) {
	ctx := r.Context()
	aid := u.assistant.ID
	var after int64
	if v := strings.TrimSpace(r.Header.Get("Last-Event-ID")); v != "" {
		after, _ = strconv.ParseInt(v, 10, 64)
	} else {
		var err error
		if after, err = h.store.LastChangeSeq(ctx, aid); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	var wake <-chan struct{}
	if h.opt.Changes != nil {
		sub := h.opt.Changes.Subscribe(aid)
		defer sub.Close()
		wake = sub.C
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 8<<10)
	flush := func() bool { return bw.Flush() == nil && rc.Flush() == nil }
	fmt.Fprintf(bw, "retry: 2000\n: live changes after %d\n\n", after)
	if !flush() {
		return
	}
	poll := time.NewTicker(h.opt.Poll)
	defer poll.Stop()
	beat := time.NewTicker(h.opt.Heartbeat)
	defer beat.Stop()
	check := time.NewTicker(time.Minute)
	defer check.Stop()
	for {
		for {
			changes, err := h.store.Changes(ctx, aid, after, 100)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Warn("dashboard live: read the change log", "err", err)
				}
				return
			}
			for _, ch := range changes {
				b, _ := json.Marshal(liveChange{Seq: ch.Seq, Type: ch.Type, ConversationID: ch.ConversationID, EventID: ch.EventID,
					Actor: actorName(ch.Actor), ActorType: ch.Actor.Type})
				fmt.Fprintf(bw, "id: %d\nevent: change\ndata: %s\n\n", ch.Seq, b)
				after = ch.Seq
			}
			if len(changes) > 0 && !flush() {
				return
			}
			if len(changes) < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-h.opt.Done:
			return
		case <-wake:
		case <-poll.C:
		case <-beat.C:
			bw.WriteString(": heartbeat\n\n")
			if !flush() {
				return
			}
		case <-check.C:
			again, err := h.authenticate(r)
			if err != nil || again == nil || !slices.ContainsFunc(again.memberships, func(m store.Membership) bool { return m.Assistant.ID == aid }) {
				return
			}
		}
	}
}

package widget

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/changefeed"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// hub feeds live streams from the durable change log. One feed per assistant with streams
// open in this process reads the log every poll interval and hands each change to the streams
// of its conversation; several processes each run their own feeds, so a change written by any
// of them reaches every stream.
//
// A feed remembers which seqs it has handed out: all up to low, and those in seen above it.
// PostgreSQL assigns seqs before commit, so a lower seq can become visible after a higher one;
// a feed keeps reading from low and only moves low past a seq once it has been seen for the
// settle time. On SQLite seqs commit in order and settle is 0.
type hub struct {
	store  store.Store
	poll   time.Duration
	settle time.Duration
	log    *slog.Logger
	done   <-chan struct{}
	closed chan struct{}
	// changes, when set, wakes a feed when this process commits a change of its assistant.
	changes *changefeed.Hub
	once    sync.Once

	mu    sync.Mutex
	feeds map[string]*feed
}

type feed struct {
	assistantID string
	subs        map[string]map[*sub]struct{} // by conversation id
	low         int64
	seen        map[int64]time.Time
	wake        chan struct{}
}

// sub is one stream's subscription. C is closed when the stream fell too far behind (its
// browser reconnects and resumes from its last event id).
type sub struct {
	conversationID string
	C              chan cv.Change
}

// snapshot is what a feed had handed out when a stream subscribed: the stream reads those
// changes from the log itself, and gets every later one from the feed.
type snapshot struct {
	low  int64
	seen map[int64]bool
}

// covers reports whether the feed had handed out seq before the snapshot.
func (s snapshot) covers(seq int64) bool { return seq <= s.low || s.seen[seq] }

// head is the highest seq the snapshot covers.
func (s snapshot) head() int64 {
	h := s.low
	for seq := range s.seen {
		h = max(h, seq)
	}
	return h
}

const subBuffer = 64

func newHub(st store.Store, poll, settle time.Duration, log *slog.Logger, done <-chan struct{}) *hub {
	return &hub{store: st, poll: poll, settle: settle, log: log, done: done, closed: make(chan struct{}), feeds: map[string]*feed{}}
}

func (h *hub) close() { h.once.Do(func() { close(h.closed) }) }

// subscribe starts following a conversation.
func (h *hub) subscribe(ctx context.Context, assistantID, conversationID string) (*sub, snapshot, error) {
	var start int64
	queried := false
	for {
		h.mu.Lock()
		f := h.feeds[assistantID]
		if f == nil && !queried {
			// A new feed starts at the end of the log: read it without holding the lock,
			// then look again (another stream may have started the feed meanwhile).
			h.mu.Unlock()
			var err error
			if start, err = h.store.LastChangeSeq(ctx, assistantID); err != nil {
				return nil, snapshot{}, err
			}
			queried = true
			continue
		}
		if f == nil {
			f = &feed{assistantID: assistantID, subs: map[string]map[*sub]struct{}{}, low: start, seen: map[int64]time.Time{}, wake: make(chan struct{}, 1)}
			h.feeds[assistantID] = f
			go h.run(f)
		}
		s := &sub{conversationID: conversationID, C: make(chan cv.Change, subBuffer)}
		if f.subs[conversationID] == nil {
			f.subs[conversationID] = map[*sub]struct{}{}
		}
		f.subs[conversationID][s] = struct{}{}
		snap := snapshot{low: f.low, seen: make(map[int64]bool, len(f.seen))}
		for seq := range f.seen {
			snap.seen[seq] = true
		}
		h.mu.Unlock()
		return s, snap, nil
	}
}

// unsubscribe stops a subscription (its channel may already be closed).
func (h *hub) unsubscribe(assistantID string, s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[assistantID]
	if f == nil {
		return
	}
	if set := f.subs[s.conversationID]; set != nil {
		if _, ok := set[s]; ok {
			delete(set, s)
			close(s.C)
		}
		if len(set) == 0 {
			delete(f.subs, s.conversationID)
		}
	}
}

// wake makes the assistant's feed read the log now (a message was just written here).
func (h *hub) wake(assistantID string) {
	h.mu.Lock()
	f := h.feeds[assistantID]
	h.mu.Unlock()
	if f != nil {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

func (h *hub) run(f *feed) {
	t := time.NewTicker(h.poll)
	defer t.Stop()
	var committed <-chan struct{}
	if h.changes != nil {
		sub := h.changes.Subscribe(f.assistantID)
		defer sub.Close()
		committed = sub.C
	}
	for {
		select {
		case <-h.done:
			return
		case <-h.closed:
			return
		case <-t.C:
		case <-f.wake:
		case <-committed:
		}
		if !h.step(f) {
			return
		}
	}
}

// step reads what is new in the log and hands it out; false when the feed has no streams
// left (it is then removed, and the next stream starts a new one).
func (h *hub) step(f *feed) bool {
	h.mu.Lock()
	if len(f.subs) == 0 {
		delete(h.feeds, f.assistantID)
		h.mu.Unlock()
		return false
	}
	after := f.low
	h.mu.Unlock()

	const page = 500
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		changes, err := h.store.Changes(ctx, f.assistantID, after, page)
		if err != nil {
			h.log.Warn("widget stream: read change log", "assistant", f.assistantID, "err", err)
			return true
		}
		now := time.Now()
		h.mu.Lock()
		for _, c := range changes {
			after = c.Seq
			if c.Seq <= f.low {
				continue
			}
			if _, ok := f.seen[c.Seq]; ok {
				continue
			}
			f.seen[c.Seq] = now
			for s := range f.subs[c.ConversationID] {
				select {
				case s.C <- c:
				default: // too far behind: drop it; the browser resumes from its last id
					delete(f.subs[c.ConversationID], s)
					close(s.C)
				}
			}
		}
		h.advance(f, now)
		h.mu.Unlock()
		if len(changes) < page {
			return true
		}
	}
}

// advance moves low past the seqs seen at least settle ago (h.mu held).
func (h *hub) advance(f *feed, now time.Time) {
	low := f.low
	for seq, at := range f.seen {
		if now.Sub(at) >= h.settle && seq > low {
			low = seq
		}
	}
	if low == f.low {
		return
	}
	f.low = low
	maps.DeleteFunc(f.seen, func(seq int64, _ time.Time) bool { return seq <= low })
}

// Package changefeed wakes the in-process readers of the change log (the webhook dispatcher,
// live streams) as soon as a transaction that changed an assistant's conversations commits,
// so that they need not wait for their next poll. It carries no data: readers read the log
// itself, which stays the one source of truth (and the only one across processes, where
// readers fall back to polling).
package changefeed

import "sync"

// Hub fans commit notices out to subscribers. The zero value is not usable; use New.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*Sub]struct{} // assistant id ("" for every assistant) -> subscribers
}

// New returns an empty hub.
func New() *Hub { return &Hub{subs: map[string]map[*Sub]struct{}{}} }

// Sub is one subscription. C receives a value when the subscribed assistant's change log may
// have grown; notices that come while one is pending merge into it.
type Sub struct {
	C   <-chan struct{}
	c   chan struct{}
	hub *Hub
	key string
}

// Subscribe subscribes to one assistant's changes, or to every assistant's with "".
func (h *Hub) Subscribe(assistantID string) *Sub {
	c := make(chan struct{}, 1)
	s := &Sub{C: c, c: c, hub: h, key: assistantID}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[assistantID] == nil {
		h.subs[assistantID] = map[*Sub]struct{}{}
	}
	h.subs[assistantID][s] = struct{}{}
	return s
}

// Close ends the subscription.
func (s *Sub) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	delete(s.hub.subs[s.key], s)
	if len(s.hub.subs[s.key]) == 0 {
		delete(s.hub.subs, s.key)
	}
}

// Notify tells the subscribers of assistantID, and those of every assistant, that its change
// log may have grown. It never blocks.
func (h *Hub) Notify(assistantID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, key := range []string{assistantID, ""} {
		for s := range h.subs[key] {
			select {
			case s.c <- struct{}{}:
			default:
			}
		}
	}
}

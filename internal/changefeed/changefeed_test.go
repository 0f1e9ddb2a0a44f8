package changefeed

import "testing"

func TestNotify(t *testing.T) {
	h := New()
	a, all, b := h.Subscribe("a"), h.Subscribe(""), h.Subscribe("b")
	h.Notify("a")
	h.Notify("a") // merges into the pending notice; never blocks
	for name, s := range map[string]*Sub{"a": a, "every": all} {
		select {
		case <-s.C:
		default:
			t.Errorf("subscriber of %s was not woken", name)
		}
	}
	select {
	case <-b.C:
		t.Error("subscriber of b woken by a's change")
	default:
	}
	select {
	case <-a.C:
		t.Error("two notices while one was pending made two wake-ups")
	default:
	}
	a.Close()
	b.Close()
	all.Close()
	h.Notify("a")
	if len(h.subs) != 0 {
		t.Errorf("subscriptions left after Close: %v", h.subs)
	}
}

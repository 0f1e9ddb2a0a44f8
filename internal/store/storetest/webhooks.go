package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// newWebhook creates an endpoint of assistant a.
func newWebhook(t *testing.T, s store.Store, assistantID string, types ...string) store.Webhook {
	t.Helper()
	w, err := s.CreateWebhook(t.Context(), assistantID, store.NewWebhook{URL: "https://hooks.example/" + newUUID()[:8], Secret: "whsec_test", EventTypes: types})
	ok(t, "CreateWebhook", err)
	return w
}

// queueAll queues every change the endpoints are behind on.
func queueAll(t *testing.T, s store.Store) int {
	t.Helper()
	total := 0
	for {
		n, err := s.QueueWebhookDeliveries(t.Context(), 1000)
		ok(t, "QueueWebhookDeliveries", err)
		if n == 0 {
			return total
		}
		total += n
	}
}

// claim claims up to n deliveries with a long lease.
func claim(t *testing.T, s store.Store, n int) []store.ClaimedDelivery {
	t.Helper()
	out, err := s.ClaimWebhookDeliveries(t.Context(), n, 0, time.Minute)
	ok(t, "ClaimWebhookDeliveries", err)
	return out
}

func allDeliveries(t *testing.T, s store.Store, assistantID, webhookID string) []store.Delivery {
	t.Helper()
	page, err := s.WebhookDeliveries(t.Context(), assistantID, webhookID, store.DeliveryFilter{Limit: 1000})
	ok(t, "WebhookDeliveries", err)
	return page.Items
}

func succeed(t *testing.T, s store.Store, id string) {
	t.Helper()
	ok(t, "FinishWebhookDelivery", s.FinishWebhookDelivery(t.Context(), id, store.DeliveryAttempt{At: time.Now(), Succeeded: true, StatusCode: 200, Body: []byte(`{}`)}))
}

// claimedConversations maps the claimed deliveries to their conversations and change types.
func claimedKeys(ds []store.ClaimedDelivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Change.ConversationID+" "+d.Change.Type)
	}
	slices.Sort(out)
	return out
}

var webhookTests = []test{
	{"CreateGetListUpdateDelete", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		simple(t, s, a.ID, msg("visitor", "before the endpoint"))
		last, err := s.LastChangeSeq(t.Context(), a.ID)
		ok(t, "LastChangeSeq", err)
		win := startWindow()
		w, err := s.CreateWebhook(t.Context(), a.ID, store.NewWebhook{URL: "https://hooks.example/a", Description: "CRM", EventTypes: []string{cv.ChangeMessageCreated}, Secret: "s1"})
		win.close()
		ok(t, "CreateWebhook", err)
		checkUUID(t, "webhook id", w.ID)
		win.check(t, "CreatedAt", w.CreatedAt)
		if w.AssistantID != a.ID || w.URL != "https://hooks.example/a" || w.Description != "CRM" || w.Secret != "s1" || !w.Enabled ||
			!slices.Equal(w.EventTypes, []string{cv.ChangeMessageCreated}) || w.Cursor != last || w.DisabledAt != nil || w.DisabledReason != nil {
			t.Errorf("created %+v; want the fields given, enabled, cursor at the latest change %d", w, last)
		}
		got, err := s.Webhook(t.Context(), a.ID, w.ID)
		ok(t, "Webhook", err)
		if got.URL != w.URL || got.Secret != "s1" || got.Cursor != last || !got.Enabled || !slices.Equal(got.EventTypes, w.EventTypes) {
			t.Errorf("read back %+v, want %+v", got, w)
		}
		sameTime(t, "CreatedAt read back", got.CreatedAt, w.CreatedAt)
		all := newWebhook(t, s, a.ID)
		if all.EventTypes == nil || len(all.EventTypes) != 0 {
			t.Errorf("EventTypes of an endpoint for every type = %#v, want empty, not nil", all.EventTypes)
		}
		list, err := s.Webhooks(t.Context(), a.ID)
		ok(t, "Webhooks", err)
		if len(list) != 2 || list[0].ID != w.ID || list[1].ID != all.ID {
			t.Errorf("Webhooks = %+v, want both, oldest first", list)
		}
		other, err := s.Webhooks(t.Context(), b.ID)
		ok(t, "Webhooks of another assistant", err)
		if len(other) != 0 {
			t.Errorf("another assistant sees %d endpoints", len(other))
		}
		_, err = s.Webhook(t.Context(), b.ID, w.ID)
		wantErr(t, "Webhook of another assistant", err, cv.ErrNotFound)

		now := time.Now().UTC().Truncate(time.Second)
		reason := "turned off"
		up, err := s.UpdateWebhook(t.Context(), a.ID, w.ID, func(w *store.Webhook) error {
			w.URL, w.Description, w.EventTypes, w.Secret = "http://hooks.example/b", "", nil, "s2"
			w.Enabled, w.DisabledReason, w.DisabledAt = false, &reason, &now
			return nil
		})
		ok(t, "UpdateWebhook", err)
		got, err = s.Webhook(t.Context(), a.ID, w.ID)
		ok(t, "Webhook after update", err)
		if got.URL != "http://hooks.example/b" || got.Description != "" || len(got.EventTypes) != 0 || got.Secret != "s2" || got.Enabled ||
			got.DisabledReason == nil || *got.DisabledReason != reason || got.Cursor != last {
			t.Errorf("after update %+v (returned %+v)", got, up)
		}
		sameTimePtr(t, "DisabledAt", got.DisabledAt, &now)
		_, err = s.UpdateWebhook(t.Context(), b.ID, w.ID, func(*store.Webhook) error { return nil })
		wantErr(t, "UpdateWebhook of another assistant", err, cv.ErrNotFound)
		_, err = s.UpdateWebhook(t.Context(), a.ID, w.ID, func(*store.Webhook) error { return cv.Invalid("url", "no") })
		if err == nil {
			t.Error("UpdateWebhook: fn's error was not returned")
		}

		wantErr(t, "DeleteWebhook of another assistant", s.DeleteWebhook(t.Context(), b.ID, w.ID), cv.ErrNotFound)
		ok(t, "DeleteWebhook", s.DeleteWebhook(t.Context(), a.ID, w.ID))
		wantErr(t, "DeleteWebhook again", s.DeleteWebhook(t.Context(), a.ID, w.ID), cv.ErrNotFound)
		_, err = s.Webhook(t.Context(), a.ID, w.ID)
		wantErr(t, "Webhook after delete", err, cv.ErrNotFound)

		for _, id := range malformedIDs {
			_, err := s.Webhook(t.Context(), a.ID, id)
			wantErr(t, "Webhook "+id, err, cv.ErrNotFound)
			wantErr(t, "DeleteWebhook "+id, s.DeleteWebhook(t.Context(), a.ID, id), cv.ErrNotFound)
			_, err = s.WebhookDeliveries(t.Context(), a.ID, id, store.DeliveryFilter{})
			wantErr(t, "WebhookDeliveries "+id, err, cv.ErrNotFound)
			_, err = s.RedeliverWebhookDelivery(t.Context(), a.ID, all.ID, id)
			wantErr(t, "RedeliverWebhookDelivery "+id, err, cv.ErrNotFound)
		}
		_, err = s.CreateWebhook(t.Context(), newUUID(), store.NewWebhook{URL: "https://x.example", Secret: "s"})
		wantErr(t, "CreateWebhook for a missing assistant", err, cv.ErrNotFound)
	}},
	{"QueueFromTheLog", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		simple(t, s, a.ID, msg("visitor", "before"))
		all := newWebhook(t, s, a.ID)
		msgs := newWebhook(t, s, a.ID, cv.ChangeMessageCreated)
		off := newWebhook(t, s, a.ID)
		_, err := s.UpdateWebhook(t.Context(), a.ID, off.ID, func(w *store.Webhook) error { w.Enabled = false; return nil })
		ok(t, "disable", err)
		c := simple(t, s, a.ID)
		mustAppend(t, s, a.ID, c.ID, msg("visitor", "one"))
		mustAppend(t, s, a.ID, c.ID, msg("ai_assistant", "two"))
		simple(t, s, b.ID, msg("visitor", "another assistant's"))
		log, err := s.Changes(t.Context(), a.ID, all.Cursor, 100)
		ok(t, "Changes", err)
		if n := queueAll(t, s); n == 0 {
			t.Fatal("nothing queued")
		}
		got := allDeliveries(t, s, a.ID, all.ID)
		if len(got) != len(log) {
			t.Fatalf("endpoint for every type has %d deliveries, want one per change since it was created (%d)", len(got), len(log))
		}
		for i, d := range got { // newest first
			want := log[len(log)-1-i]
			checkUUID(t, "delivery id", d.ID)
			if d.WebhookID != all.ID || d.Change.Seq != want.Seq || d.Change.Type != want.Type || d.Change.ConversationID != c.ID ||
				d.Change.AssistantID != a.ID || d.State != store.DeliveryPending || d.Attempts != 0 {
				t.Errorf("delivery %d = %+v, want pending for change %+v", i, d, want)
			}
			// Only the conversation's oldest delivery is due; the others wait for it (no time).
			if oldest := i == len(got)-1; (d.NextAttemptAt != nil) != oldest {
				t.Errorf("delivery %d of %d: next attempt %v", i, len(got), d.NextAttemptAt)
			}
			sameTime(t, "change time", d.Change.CreatedAt, want.CreatedAt)
		}
		for _, d := range allDeliveries(t, s, a.ID, msgs.ID) {
			if d.Change.Type != cv.ChangeMessageCreated {
				t.Errorf("message.created endpoint got %s", d.Change.Type)
			}
		}
		if n := len(allDeliveries(t, s, a.ID, msgs.ID)); n != 2 {
			t.Errorf("message.created endpoint has %d deliveries, want 2", n)
		}
		if n := len(allDeliveries(t, s, a.ID, off.ID)); n != 0 {
			t.Errorf("a disabled endpoint got %d deliveries", n)
		}
		if n := queueAll(t, s); n != 0 {
			t.Errorf("queueing again queued %d more", n)
		}
		w, err := s.Webhook(t.Context(), a.ID, all.ID)
		ok(t, "Webhook", err)
		if w.Cursor != log[len(log)-1].Seq {
			t.Errorf("cursor %d, want the last change %d", w.Cursor, log[len(log)-1].Seq)
		}
		// The filtered endpoint moved past changes it does not want.
		w, err = s.Webhook(t.Context(), a.ID, msgs.ID)
		ok(t, "Webhook", err)
		if w.Cursor != log[len(log)-1].Seq {
			t.Errorf("filtered endpoint's cursor %d, want %d", w.Cursor, log[len(log)-1].Seq)
		}
	}},
	{"OneAtATimePerConversation", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		w := newWebhook(t, s, a.ID, cv.ChangeMessageCreated)
		x, y := simple(t, s, a.ID), simple(t, s, a.ID)
		mustAppend(t, s, a.ID, x.ID, msg("visitor", "x1"))
		mustAppend(t, s, a.ID, y.ID, msg("visitor", "y1"))
		mustAppend(t, s, a.ID, x.ID, msg("visitor", "x2"))
		mustAppend(t, s, a.ID, x.ID, msg("visitor", "x3"))
		queueAll(t, s)
		first := claim(t, s, 10)
		if got := claimedKeys(first); len(got) != 2 || !slices.Contains(got, x.ID+" message.created") || !slices.Contains(got, y.ID+" message.created") {
			t.Fatalf("first claim %v, want the first delivery of each conversation", got)
		}
		for _, d := range first {
			if d.URL != w.URL || d.Secret != w.Secret || d.Body != nil {
				t.Errorf("claimed %+v: want the endpoint's URL and secret, no body yet", d)
			}
		}
		if more := claim(t, s, 10); len(more) != 0 {
			t.Fatalf("claimed %v while the heads are in flight", claimedKeys(more))
		}
		var xHead store.ClaimedDelivery
		for _, d := range first {
			if d.Change.ConversationID == x.ID {
				xHead = d
			}
		}
		// While x's head is being sent, a redelivery is refused: the attempt's result would
		// replace it.
		_, err := s.RedeliverWebhookDelivery(t.Context(), a.ID, w.ID, xHead.ID)
		wantErr(t, "RedeliverWebhookDelivery in flight", err, cv.ErrConflict)
		// x's head fails and waits for its retry: x stays blocked.
		ok(t, "retry", s.FinishWebhookDelivery(t.Context(), xHead.ID, store.DeliveryAttempt{At: time.Now(), StatusCode: 503, Error: "HTTP 503",
			Body: []byte(`{"n":1}`), RetryAt: time.Now().Add(time.Hour)}))
		if more := claim(t, s, 10); len(more) != 0 {
			t.Fatalf("claimed %v while x's head waits for a retry", claimedKeys(more))
		}
		d, err := s.WebhookDelivery(t.Context(), a.ID, w.ID, xHead.ID)
		ok(t, "WebhookDelivery", err)
		if d.State != store.DeliveryPending || d.Attempts != 1 || d.LastStatusCode == nil || *d.LastStatusCode != 503 || d.LastError == nil ||
			*d.LastError != "HTTP 503" || d.FirstAttemptAt == nil || d.LastAttemptAt == nil || string(d.Body) != `{"n":1}` || d.NextAttemptAt == nil {
			t.Errorf("after a failed attempt: %+v", d)
		}
		// Redelivery makes it due now; the retry then succeeds; x2 follows.
		_, err = s.RedeliverWebhookDelivery(t.Context(), a.ID, w.ID, xHead.ID)
		ok(t, "RedeliverWebhookDelivery", err)
		again := claim(t, s, 10)
		if len(again) != 1 || again[0].ID != xHead.ID || string(again[0].Body) != `{"n":1}` {
			t.Fatalf("after redelivery claimed %+v, want x's head with the body it was first sent with", again)
		}
		ok(t, "succeed", s.FinishWebhookDelivery(t.Context(), xHead.ID, store.DeliveryAttempt{At: time.Now(), Succeeded: true, StatusCode: 204, Body: []byte(`{"n":2}`)}))
		d, err = s.WebhookDelivery(t.Context(), a.ID, w.ID, xHead.ID)
		ok(t, "WebhookDelivery", err)
		if d.State != store.DeliverySucceeded || d.Attempts != 2 || d.LastError != nil || *d.LastStatusCode != 204 || d.CompletedAt == nil ||
			d.NextAttemptAt != nil || string(d.Body) != `{"n":1}` {
			t.Errorf("after success: %+v (body %s)", d, d.Body)
		}
		next := claim(t, s, 10)
		if len(next) != 1 || next[0].Change.ConversationID != x.ID || next[0].Change.Seq <= xHead.Change.Seq {
			t.Fatalf("claimed %v after x's head succeeded, want x's second delivery", claimedKeys(next))
		}
		wb, err := s.Webhook(t.Context(), a.ID, w.ID)
		ok(t, "Webhook", err)
		if wb.LastSuccessAt == nil {
			t.Error("LastSuccessAt not set by a success")
		}
		if more := claim(t, s, 10); len(more) != 0 {
			t.Fatalf("claimed %v while x's second delivery is in flight", claimedKeys(more))
		}
	}},
	{"FailedHeadReleasesTheNext", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		newWebhook(t, s, a.ID, cv.ChangeMessageCreated)
		x := simple(t, s, a.ID)
		mustAppend(t, s, a.ID, x.ID, msg("visitor", "x1"))
		mustAppend(t, s, a.ID, x.ID, msg("visitor", "x2"))
		queueAll(t, s)
		head := claim(t, s, 10)
		if len(head) != 1 {
			t.Fatalf("claimed %v, want x's first delivery only", claimedKeys(head))
		}
		ok(t, "final failure", s.FinishWebhookDelivery(t.Context(), head[0].ID, store.DeliveryAttempt{At: time.Now(), StatusCode: 410, Error: "HTTP 410"}))
		next := claim(t, s, 10)
		if len(next) != 1 || next[0].Change.Seq <= head[0].Change.Seq {
			t.Fatalf("after the head failed for good claimed %v, want the next delivery", claimedKeys(next))
		}
	}},
	{"LeaseRunsOut", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		simple(t, s, a.ID)
		queueAll(t, s)
		lease := time.Second
		claimed := time.Now()
		d, err := s.ClaimWebhookDeliveries(t.Context(), 10, 0, lease)
		ok(t, "claim", err)
		if len(d) != 1 {
			t.Fatalf("claimed %d, want 1", len(d))
		}
		if again := claim(t, s, 10); len(again) != 0 && time.Since(claimed) < lease {
			t.Fatal("claimed twice within the lease")
		}
		time.Sleep(time.Until(claimed.Add(lease + 50*time.Millisecond)))
		again := claim(t, s, 10)
		if len(again) != 1 || again[0].ID != d[0].ID {
			t.Fatalf("after the lease ran out claimed %v, want the same delivery again", claimedKeys(again))
		}
	}},
	{"FinalFailureDisables", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		w := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		c1 := simple(t, s, a.ID)
		queueAll(t, s)
		d := claim(t, s, 1)[0]
		now := time.Now().UTC().Truncate(time.Microsecond)
		ok(t, "final", s.FinishWebhookDelivery(t.Context(), d.ID, store.DeliveryAttempt{At: now, StatusCode: 500, Error: "HTTP 500", DisableReason: "failing for 24h"}))
		got, err := s.Webhook(t.Context(), a.ID, w.ID)
		ok(t, "Webhook", err)
		if got.Enabled || got.DisabledReason == nil || *got.DisabledReason != "failing for 24h" {
			t.Errorf("after a final failure with no success: %+v, want disabled with the reason", got)
		}
		sameTimePtr(t, "DisabledAt", got.DisabledAt, &now)
		dd, err := s.WebhookDelivery(t.Context(), a.ID, w.ID, d.ID)
		ok(t, "WebhookDelivery", err)
		if dd.State != store.DeliveryFailed || dd.CompletedAt == nil || dd.NextAttemptAt != nil {
			t.Errorf("failed delivery %+v", dd)
		}
		// Disabled: nothing is queued or claimed, redelivery is refused.
		simple(t, s, a.ID)
		if n := queueAll(t, s); n != 0 {
			t.Errorf("queued %d for a disabled endpoint", n)
		}
		_, err = s.RedeliverWebhookDelivery(t.Context(), a.ID, w.ID, d.ID)
		wantErr(t, "redeliver while disabled", err, cv.ErrConflict)
		// Enabled again: it catches up from where it stopped.
		_, err = s.UpdateWebhook(t.Context(), a.ID, w.ID, func(w *store.Webhook) error {
			w.Enabled, w.DisabledReason, w.DisabledAt = true, nil, nil
			return nil
		})
		ok(t, "enable", err)
		if n := queueAll(t, s); n != 1 {
			t.Errorf("queued %d after enabling, want the change made while disabled", n)
		}
		r, err := s.RedeliverWebhookDelivery(t.Context(), a.ID, w.ID, d.ID)
		ok(t, "redeliver", err)
		if r.State != store.DeliveryPending || r.FirstAttemptAt != nil || r.CompletedAt != nil || r.Attempts != 1 {
			t.Errorf("redelivered %+v: want pending with a new window, attempts kept", r)
		}
		_ = c1
	}},
	{"FinalFailureAfterSuccessKeepsEndpoint", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		w := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		simple(t, s, a.ID)
		simple(t, s, a.ID)
		queueAll(t, s)
		ds := claim(t, s, 2)
		if len(ds) != 2 {
			t.Fatalf("claimed %d", len(ds))
		}
		start := time.Now()
		ok(t, "fail", s.FinishWebhookDelivery(t.Context(), ds[0].ID, store.DeliveryAttempt{At: start, StatusCode: 400, Error: "HTTP 400", RetryAt: start}))
		succeed(t, s, ds[1].ID)
		again := claim(t, s, 1)
		if len(again) != 1 {
			t.Fatal("retry not claimed")
		}
		ok(t, "final", s.FinishWebhookDelivery(t.Context(), again[0].ID, store.DeliveryAttempt{At: time.Now(), StatusCode: 400, Error: "HTTP 400", DisableReason: "x"}))
		got, err := s.Webhook(t.Context(), a.ID, w.ID)
		ok(t, "Webhook", err)
		if !got.Enabled {
			t.Error("disabled although another delivery succeeded within the failing one's window")
		}
	}},
	{"ListDeliveries", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		w := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		for range 5 {
			simple(t, s, a.ID)
		}
		queueAll(t, s)
		ds := claim(t, s, 2)
		succeed(t, s, ds[0].ID)
		succeed(t, s, ds[1].ID)
		var seqs []int64
		before := int64(0)
		for {
			page, err := s.WebhookDeliveries(t.Context(), a.ID, w.ID, store.DeliveryFilter{Limit: 2, BeforeSeq: before})
			ok(t, "WebhookDeliveries", err)
			if page.Count != 5 {
				t.Errorf("Count %d, want 5", page.Count)
			}
			for _, d := range page.Items {
				seqs = append(seqs, d.Change.Seq)
			}
			if page.NextBeforeSeq == 0 {
				break
			}
			before = page.NextBeforeSeq
		}
		if len(seqs) != 5 || !slices.IsSortedFunc(seqs, func(x, y int64) int { return int(y - x) }) {
			t.Errorf("paged seqs %v, want 5, newest first", seqs)
		}
		page, err := s.WebhookDeliveries(t.Context(), a.ID, w.ID, store.DeliveryFilter{State: store.DeliverySucceeded, Limit: 10})
		ok(t, "WebhookDeliveries succeeded", err)
		if page.Count != 2 || len(page.Items) != 2 {
			t.Errorf("succeeded: %d of %d, want 2", len(page.Items), page.Count)
		}
		_, err = s.WebhookDeliveries(t.Context(), b.ID, w.ID, store.DeliveryFilter{})
		wantErr(t, "another assistant's deliveries", err, cv.ErrNotFound)
		_, err = s.WebhookDelivery(t.Context(), b.ID, w.ID, ds[0].ID)
		wantErr(t, "another assistant's delivery", err, cv.ErrNotFound)
		_, err = s.RedeliverWebhookDelivery(t.Context(), b.ID, w.ID, ds[0].ID)
		wantErr(t, "redeliver another assistant's delivery", err, cv.ErrNotFound)
		_, err = s.RedeliverWebhookDelivery(t.Context(), a.ID, w.ID, newUUID())
		wantErr(t, "redeliver a missing delivery", err, cv.ErrNotFound)
		// Pruning takes finished deliveries only.
		n, err := s.PruneWebhookDeliveries(t.Context(), time.Now().Add(time.Minute))
		ok(t, "PruneWebhookDeliveries", err)
		if n != 2 {
			t.Errorf("pruned %d deliveries, want the 2 finished", n)
		}
		// Deleting the endpoint takes its deliveries.
		ok(t, "DeleteWebhook", s.DeleteWebhook(t.Context(), a.ID, w.ID))
		if again := claim(t, s, 10); len(again) != 0 {
			t.Errorf("claimed %d deliveries of a deleted endpoint", len(again))
		}
	}},
	{"ListDeliveriesByState", func(t *testing.T, s store.Store) {
		// Each state's deliveries of one endpoint, newest change first, page by page, and their
		// count; another endpoint's are not listed.
		a := newAssistant(t, s)
		w := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		x := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		for range 8 {
			simple(t, s, a.ID)
		}
		queueAll(t, s)
		want := map[string][]int64{}
		for _, d := range claim(t, s, 100) {
			switch {
			case d.WebhookID == x.ID || d.Change.Seq%3 == 0:
				succeed(t, s, d.ID)
				if d.WebhookID == w.ID {
					want[store.DeliverySucceeded] = append(want[store.DeliverySucceeded], d.Change.Seq)
				}
			case d.Change.Seq%3 == 1:
				ok(t, "FinishWebhookDelivery", s.FinishWebhookDelivery(t.Context(), d.ID, store.DeliveryAttempt{At: time.Now(), StatusCode: 500, Error: "HTTP 500"}))
				want[store.DeliveryFailed] = append(want[store.DeliveryFailed], d.Change.Seq)
			default:
				want[store.DeliveryPending] = append(want[store.DeliveryPending], d.Change.Seq)
			}
		}
		for _, state := range []string{store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed} {
			slices.SortFunc(want[state], func(p, q int64) int { return int(q - p) })
			if len(want[state]) == 0 {
				t.Fatalf("suite bug: no %s delivery", state)
			}
			var got []int64
			before := int64(0)
			for range 10 {
				page, err := s.WebhookDeliveries(t.Context(), a.ID, w.ID, store.DeliveryFilter{State: state, Limit: 2, BeforeSeq: before})
				ok(t, "WebhookDeliveries", err)
				if page.Count != int64(len(want[state])) {
					t.Errorf("%s: Count %d, want %d", state, page.Count, len(want[state]))
				}
				for _, d := range page.Items {
					if d.State != state || d.WebhookID != w.ID {
						t.Errorf("%s: listed a delivery in state %s of endpoint %s", state, d.State, d.WebhookID)
					}
					got = append(got, d.Change.Seq)
				}
				if before = page.NextBeforeSeq; before == 0 {
					break
				}
			}
			if !slices.Equal(got, want[state]) {
				t.Errorf("%s deliveries by page: changes %v, want %v", state, got, want[state])
			}
		}
	}},
	{"PruneChangesKeepsWhatEndpointsNeed", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		newWebhook(t, s, a.ID)
		simple(t, s, a.ID)
		simple(t, s, b.ID)
		n, err := s.PruneChanges(t.Context(), time.Now().Add(time.Minute))
		ok(t, "PruneChanges", err)
		if n != 1 {
			t.Errorf("pruned %d, want only the change of the assistant without a lagging endpoint", n)
		}
		if c, _ := s.Changes(t.Context(), a.ID, 0, 10); len(c) != 1 {
			t.Errorf("assistant with an endpoint behind kept %d changes, want 1", len(c))
		}
		queueAll(t, s)
		n, err = s.PruneChanges(t.Context(), time.Now().Add(time.Minute))
		ok(t, "PruneChanges", err)
		if n != 1 {
			t.Errorf("pruned %d once the endpoint read past, want 1", n)
		}
		// Only older than the time given.
		simple(t, s, b.ID)
		n, err = s.PruneChanges(t.Context(), time.Now().Add(-time.Hour))
		ok(t, "PruneChanges", err)
		if n != 0 {
			t.Errorf("pruned %d changes younger than the cut-off", n)
		}
	}},
	{"InFlightCapPerEndpoint", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		slow := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		for range 3 {
			simple(t, s, a.ID)
		}
		queueAll(t, s)
		other := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		simple(t, s, a.ID)
		queueAll(t, s)
		one := func() []store.ClaimedDelivery {
			ds, err := s.ClaimWebhookDeliveries(t.Context(), 1, 2, time.Minute)
			ok(t, "ClaimWebhookDeliveries", err)
			return ds
		}
		var slowClaims []store.ClaimedDelivery
		for range 5 {
			for _, d := range one() {
				if d.WebhookID == slow.ID {
					slowClaims = append(slowClaims, d)
				}
			}
		}
		if len(slowClaims) != 2 {
			t.Fatalf("claimed %d deliveries of one endpoint with a cap of 2", len(slowClaims))
		}
		page, err := s.WebhookDeliveries(t.Context(), a.ID, other.ID, store.DeliveryFilter{Limit: 10})
		ok(t, "WebhookDeliveries", err)
		if n := len(page.Items); n == 0 {
			t.Fatal("the other endpoint has no delivery")
		}
		if again := one(); len(again) != 0 {
			t.Fatalf("claimed %v: the other endpoint's delivery should have gone already, the first is at its cap", claimedKeys(again))
		}
		succeed(t, s, slowClaims[0].ID)
		if next := one(); len(next) != 1 || next[0].WebhookID != slow.ID {
			t.Fatalf("after one finished claimed %v, want the endpoint's third delivery", claimedKeys(next))
		}
	}},
	{"ClaimSkipsDisabledAndCappedEndpoints", func(t *testing.T, s store.Store) {
		// Due deliveries of a disabled endpoint and of one at its cap wait; the other
		// endpoints' are claimed in due order, several of one endpoint in one claim.
		a := newAssistant(t, s)
		off := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		for range 3 {
			simple(t, s, a.ID)
		}
		queueAll(t, s)
		_, err := s.UpdateWebhook(t.Context(), a.ID, off.ID, func(w *store.Webhook) error { w.Enabled = false; return nil })
		ok(t, "UpdateWebhook", err)
		full := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		for range 3 {
			simple(t, s, a.ID)
		}
		queueAll(t, s)
		claimOf := func(n, perEndpoint int) []store.ClaimedDelivery {
			ds, err := s.ClaimWebhookDeliveries(t.Context(), n, perEndpoint, time.Minute)
			ok(t, "ClaimWebhookDeliveries", err)
			return ds
		}
		seqs := func(ds []store.ClaimedDelivery, webhookID string) []int64 {
			var out []int64
			for _, d := range ds {
				if d.WebhookID != webhookID {
					t.Errorf("claimed a delivery of endpoint %s, want only %s", d.WebhookID, webhookID)
				}
				out = append(out, d.Change.Seq)
			}
			slices.Sort(out)
			return out
		}
		pendingSeqs := func(webhookID string, n int) []int64 {
			var out []int64
			for _, d := range allDeliveries(t, s, a.ID, webhookID) {
				if d.State == store.DeliveryPending {
					out = append(out, d.Change.Seq)
				}
			}
			slices.Sort(out)
			return out[:min(n, len(out))]
		}
		wantFull := pendingSeqs(full.ID, 3)
		if got := seqs(claimOf(2, 2), full.ID); !slices.Equal(got, wantFull[:2]) {
			t.Fatalf("first claim took changes %v of the enabled endpoint, want its first two %v", got, wantFull)
		}
		free := newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		for range 3 {
			simple(t, s, a.ID)
		}
		queueAll(t, s)
		wantFree := pendingSeqs(free.ID, 2)
		if got := seqs(claimOf(2, 2), free.ID); !slices.Equal(got, wantFree) {
			t.Fatalf("claim with one endpoint at its cap took changes %v, want the free endpoint's first two %v", got, wantFree)
		}
		if got := seqs(claimOf(1, 3), full.ID); !slices.Equal(got, wantFull[2:]) {
			t.Fatalf("claim under a cap of 3 took changes %v, want the first endpoint's third %v (due first)", got, wantFull[2:])
		}
		if got := claimOf(5, 2); len(got) != 0 {
			t.Fatalf("claimed %v with both enabled endpoints at their cap and one disabled", claimedKeys(got))
		}
		if got := claimOf(5, 0); len(got) != 4 {
			t.Fatalf("claimed %d without a cap, want the 4 waiting deliveries of the enabled endpoints (not the disabled one's)", len(got))
		}
		for _, d := range allDeliveries(t, s, a.ID, off.ID) {
			if d.State != store.DeliveryPending || d.Attempts != 0 {
				t.Errorf("delivery of the disabled endpoint: state %s, %d attempts; want pending, untouched", d.State, d.Attempts)
			}
		}
	}},
	{"ConcurrentClaimsNeverShare", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		newWebhook(t, s, a.ID, cv.ChangeConversationCreated)
		for range 20 {
			simple(t, s, a.ID)
		}
		queueAll(t, s)
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					ds, err := s.ClaimWebhookDeliveries(context.Background(), 3, 0, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, d := range ds {
						seen[d.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 20 {
			t.Errorf("claimed %d distinct deliveries, want 20", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("delivery %s claimed %d times", id, n)
			}
		}
	}},
}

// changeLogTests pin down the change log as its readers (webhook endpoints, the live stream)
// use it: following it by seq never steps over a change.
var changeLogTests = []test{
	{"FollowBySeqUnderConcurrentWriters", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		const writers, each = 6, 15
		convs := make([]cv.Conversation, writers)
		for i := range convs {
			convs[i] = simple(t, s, a.ID)
		}
		start, err := s.LastChangeSeq(t.Context(), a.ID)
		ok(t, "LastChangeSeq", err)
		done := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					m := cv.NewMessage{Author: "visitor", Content: fmt.Sprintf("w%d m%d", i, j)}
					if _, _, err := s.AppendMessage(context.Background(), a.ID, convs[i].ID, m); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		go func() { wg.Wait(); close(done) }()
		var followed []int64
		cursor := start
		follow := func() {
			for {
				cs, err := s.Changes(context.Background(), a.ID, cursor, 50)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				for _, c := range cs {
					followed = append(followed, c.Seq)
				}
				cursor = cs[len(cs)-1].Seq
			}
		}
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
			}
			follow()
		}
		follow()
		all, err := s.Changes(t.Context(), a.ID, start, 10000)
		ok(t, "Changes", err)
		if len(all) < writers*each {
			t.Fatalf("log has %d changes, want at least %d", len(all), writers*each)
		}
		var want []int64
		for _, c := range all {
			want = append(want, c.Seq)
		}
		if !slices.Equal(followed, want) {
			t.Errorf("a reader following the log by seq saw %d changes, the log has %d: it stepped over changes committed after later seqs", len(followed), len(want))
		}
	}},
}

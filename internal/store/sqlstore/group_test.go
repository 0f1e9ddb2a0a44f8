package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// groupStore is a SQLite store (the engine with group commit) with a scratch table.
func groupStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st := enginetest.SQLite(t).(*sqlstore.Store)
	if _, err := st.DB().ExecContext(t.Context(), `CREATE TABLE group_probe (id INTEGER PRIMARY KEY, note TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return st
}

// runTogether starts n functions at once and waits for them; they run while a transaction
// holds the writer, so that they queue and share groups.
func runTogether(t *testing.T, st *sqlstore.Store, n int, fn func(i int) error) []error {
	return runQueued(t, st, n, false, fn)
}

// runQueued is runTogether; ordered, the functions queue in the order of i.
func runQueued(t *testing.T, st *sqlstore.Store, n int, ordered bool, fn func(i int) error) []error {
	t.Helper()
	errs := make([]error, n)
	started := make(chan struct{})
	release := make(chan struct{})
	var blocker sync.WaitGroup
	blocker.Add(1)
	go func() {
		defer blocker.Done()
		// Holds the writer until every function has been started.
		_ = st.TxForTest(context.Background(), func(tx *sql.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
		if ordered {
			time.Sleep(20 * time.Millisecond) // queued in this order
		}
	}
	// The functions queue behind the blocker (it leads a group of its own); let it go once
	// they have had time to.
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	blocker.Wait()
	return errs
}

func probeIDs(t *testing.T, st *sqlstore.Store) map[int]bool {
	t.Helper()
	rows, err := st.ReadDB().QueryContext(t.Context(), `SELECT id FROM group_probe`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id] = true
	}
	return out
}

// TestGroupCommitIsolatesFailures: in a group, a request that fails after writing leaves no
// trace, the others commit, and each gets its own outcome.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	st := groupStore(t)
	boom := errors.New("boom")
	const n = 40
	errs := runTogether(t, st, n, func(i int) error {
		return st.TxForTest(t.Context(), func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO group_probe (id, note) VALUES (?, 'first')`, i); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO group_probe (id, note) VALUES (?, 'second')`, 1000+i); err != nil {
				return err
			}
			switch i % 4 {
			case 1:
				return boom
			case 2:
				// A statement error: a unique violation, then the function gives up.
				if _, err := tx.Exec(`INSERT INTO group_probe (id, note) VALUES (?, 'again')`, i); err == nil {
					return errors.New("the duplicate was inserted")
				}
				return boom
			}
			return nil
		})
	})
	if groups, _ := st.GroupStats(); groups == 0 {
		t.Fatal("no group of more than one request ran")
	}
	ids := probeIDs(t, st)
	for i := range n {
		fails := i%4 == 1 || i%4 == 2
		if fails != errors.Is(errs[i], boom) || !fails && errs[i] != nil {
			t.Errorf("request %d: error %v", i, errs[i])
		}
		if ids[i] == fails || ids[1000+i] == fails {
			t.Errorf("request %d (fails %v): its rows stored %v %v", i, fails, ids[i], ids[1000+i])
		}
	}
}

// TestGroupCommitLostTransaction: a request that ends the shared transaction (here by hand;
// SQLite does it after an I/O error or a full disk) fails alone; the others of its group are
// retried and commit.
func TestGroupCommitLostTransaction(t *testing.T) {
	st := groupStore(t)
	boom := errors.New("boom")
	const n = 24
	errs := runTogether(t, st, n, func(i int) error {
		return st.TxForTest(t.Context(), func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO group_probe (id, note) VALUES (?, 'x')`, i); err != nil {
				return err
			}
			if i == n/2 {
				if _, err := tx.Exec(`ROLLBACK`); err != nil {
					return err
				}
				return boom
			}
			return nil
		})
	})
	ids := probeIDs(t, st)
	for i := range n {
		if i == n/2 {
			if !errors.Is(errs[i], boom) || ids[i] {
				t.Errorf("the request that ended the transaction: error %v, stored %v", errs[i], ids[i])
			}
			continue
		}
		if errs[i] != nil || !ids[i] {
			t.Errorf("request %d: error %v, stored %v", i, errs[i], ids[i])
		}
	}
}

// TestGroupCommitCanceled: a request whose context ends before it runs fails with that
// error and writes nothing; the group goes on.
func TestGroupCommitCanceled(t *testing.T) {
	st := groupStore(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	errs := runTogether(t, st, 10, func(i int) error {
		ctx := t.Context()
		if i == 3 {
			ctx = canceled
		}
		return st.TxForTest(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO group_probe (id, note) VALUES (?, 'x')`, i)
			return err
		})
	})
	ids := probeIDs(t, st)
	for i := range 10 {
		if i == 3 {
			if !errors.Is(errs[i], context.Canceled) || ids[i] {
				t.Errorf("the canceled request: error %v, stored %v", errs[i], ids[i])
			}
		} else if errs[i] != nil || !ids[i] {
			t.Errorf("request %d: error %v, stored %v", i, errs[i], ids[i])
		}
	}
}

// TestGroupCommitMessages: concurrent messages to a few conversations all land, in a
// consistent state: the counts, the ords and the change log (one message.created each, seq
// in commit order).
func TestGroupCommitMessages(t *testing.T) {
	st := groupStore(t)
	ctx := t.Context()
	a, err := st.CreateAssistant(ctx, "group")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		created, err := st.CreateConversations(ctx, a.ID, []cv.NewConversation{{Source: "api"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, created[0].Conversation.ID)
	}
	const n = 60
	errs := runTogether(t, st, n, func(i int) error {
		m := cv.NewMessage{Author: cv.AuthorVisitor, Content: fmt.Sprintf("message %d", i)}
		if err := m.Validate(""); err != nil {
			return err
		}
		_, _, err := st.AppendMessage(ctx, a.ID, ids[i%3], m)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if groups, _ := st.GroupStats(); groups == 0 {
		t.Fatal("no group of more than one request ran")
	}
	for _, id := range ids {
		c, err := st.Conversation(ctx, a.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		page, err := st.Events(ctx, a.ID, id, cv.EventFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if c.MessageCount != n/3 || int64(len(page.Items)) != c.EventCount {
			t.Errorf("conversation %s: %d messages, %d events of %d", id, c.MessageCount, len(page.Items), c.EventCount)
		}
		for j, ev := range page.Items {
			if ev.Ord != int64(j+1) {
				t.Errorf("conversation %s: event %d has ord %d", id, j, ev.Ord)
			}
		}
	}
	var created, seqs, ordered int
	if err := st.ReadDB().QueryRowContext(ctx, `SELECT count(*), count(DISTINCT seq) FROM changes WHERE assistant_id = ? AND type = 'message.created'`, a.ID).Scan(&created, &seqs); err != nil {
		t.Fatal(err)
	}
	if created != n || seqs != n {
		t.Errorf("%d message.created entries (%d seqs), want %d", created, seqs, n)
	}
	// The change log's seq order is the order of the messages' events.
	if err := st.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM changes c1 JOIN changes c2 ON c2.seq > c1.seq
 JOIN events e1 ON e1.id = c1.event_id JOIN events e2 ON e2.id = c2.event_id
 WHERE c1.assistant_id = ? AND c1.type = 'message.created' AND c2.type = 'message.created' AND e2.rid < e1.rid`, a.ID).Scan(&ordered); err != nil {
		t.Fatal(err)
	}
	if ordered != 0 {
		t.Errorf("%d pairs of change-log entries out of the order of their events", ordered)
	}
}

// TestGroupCommitSearch: search text appended in a group is written before the commit, in
// order with a body set anew (an edit), a deleted document whose row id a new conversation
// takes, and a request that fails after running the group's held-back statements.
func TestGroupCommitSearch(t *testing.T) {
	st := groupStore(t)
	ctx := t.Context()
	a, err := st.CreateAssistant(ctx, "search")
	if err != nil {
		t.Fatal(err)
	}
	create := func(content string) cv.Conversation {
		t.Helper()
		n := cv.NewConversation{Source: "api"}
		if content != "" {
			n.Messages = []cv.NewMessage{{Author: cv.AuthorVisitor, Content: content}}
		}
		if err := n.Validate(); err != nil {
			t.Fatal(err)
		}
		created, err := st.CreateConversations(ctx, a.ID, []cv.NewConversation{n})
		if err != nil {
			t.Fatal(err)
		}
		return created[0].Conversation
	}
	msg := func(content string) cv.NewMessage {
		m := cv.NewMessage{Author: cv.AuthorVisitor, Content: content}
		if err := m.Validate(""); err != nil {
			t.Fatal(err)
		}
		return m
	}
	x := create("first words")
	first, err := st.Events(ctx, a.ID, x.ID, cv.EventFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	z := create("") // the newest: its row id comes back after its deletion
	boom := errors.New("boom")
	var w cv.Conversation
	steps := []func() error{
		func() error { _, _, err := st.AppendMessage(ctx, a.ID, x.ID, msg("alpha")); return err },
		func() error { _, _, err := st.AppendMessage(ctx, a.ID, x.ID, msg("bravo")); return err },
		func() error {
			_, _, err := st.EditMessage(ctx, a.ID, x.ID, first.Items[0].ID, "edited words")
			return err
		},
		func() error { _, _, err := st.AppendMessage(ctx, a.ID, x.ID, msg("charlie")); return err },
		func() error {
			return st.TxForTest(ctx, func(tx *sql.Tx) error {
				if err := st.SearchBarrierForTest(ctx, tx); err != nil {
					return err
				}
				return boom
			})
		},
		func() error { _, _, err := st.AppendMessage(ctx, a.ID, z.ID, msg("zulu")); return err },
		func() error { return st.DeleteConversation(ctx, a.ID, z.ID) },
		func() error {
			created, err := st.CreateConversations(ctx, a.ID, []cv.NewConversation{{Source: "api", Messages: []cv.NewMessage{msg("omega")}}})
			if err == nil {
				w = created[0].Conversation
			}
			return err
		},
		func() error { _, _, err := st.AppendMessage(ctx, a.ID, x.ID, msg("delta")); return err },
	}
	_, before := st.GroupStats()
	errs := runQueued(t, st, len(steps), true, func(i int) error { return steps[i]() })
	for i, err := range errs {
		if (i == 4) != errors.Is(err, boom) || i != 4 && err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if _, after := st.GroupStats(); after-before != int64(len(steps)) {
		t.Logf("the steps ran in groups of %d requests in all, not one group", after-before)
	}
	body := func(rid int64) string {
		var b string
		if err := st.ReadDB().QueryRowContext(ctx, `SELECT body FROM conversation_search WHERE rowid = ?`, rid).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got, want := body(x.RowID), "edited words alpha bravo charlie delta"; got != want {
		t.Errorf("search body %q, want %q", got, want)
	}
	if w.RowID != z.RowID {
		t.Logf("the new conversation has row id %d, the deleted one had %d", w.RowID, z.RowID)
	}
	if got := body(w.RowID); got != "omega" {
		t.Errorf("the new conversation's search body %q, want %q", got, "omega")
	}
	var n int
	if err := st.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM conversation_search WHERE rowid = ?`, z.RowID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if w.RowID != z.RowID && n != 0 {
		t.Errorf("the deleted conversation's document is still there")
	}
}

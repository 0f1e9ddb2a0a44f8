package sqlstore_test

import (
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// TestListCountReadsRollups checks that a list filtered on the rollups' keys takes the whole
// days of its count from the rollups (the conformance suite checks that the count is right,
// which the count(*) it replaces is too): a rollup row changed behind the store's back shows
// in the count of the lists that read its day, and in no other.
func TestListCountReadsRollups(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		st := open(t).(*sqlstore.Store)
		ctx := t.Context()
		a, err := st.CreateAssistant(ctx, "rollcount")
		if err != nil {
			t.Fatal(err)
		}
		day := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		var in []cv.NewConversation
		for i := range 12 {
			at := day.Add(time.Duration(i) * 6 * time.Hour) // days 0, 1 and 2, four a day
			in = append(in, cv.NewConversation{Source: cv.SourceWhatsApp, CreatedAt: &at})
		}
		if _, err := st.CreateConversations(ctx, a.ID, in); err != nil {
			t.Fatal(err)
		}
		d := day.Unix()/86400 + 1
		for _, q := range []string{
			`UPDATE conversation_rollups SET conversations = conversations + 1000 WHERE assistant_id = $1 AND day = $2`,
			`UPDATE dimension_rollups SET conversations = conversations + 1000 WHERE assistant_id = $1 AND day = $2`,
		} {
			if _, err := st.DB().ExecContext(ctx, q, a.ID, d); err != nil {
				t.Fatal(err)
			}
		}
		status, yes := cv.StatusOpen, true
		from, to := day.Add(3*time.Hour), day.Add(54*time.Hour) // day 1 whole, days 0 and 2 in part
		for _, c := range []struct {
			name string
			f    cv.Filter
			want int64
		}{
			{"one key (dimension_rollups)", cv.Filter{Sources: []string{cv.SourceWhatsApp}, CreatedFrom: &from, CreatedTo: &to}, 1000 + 8},
			{"no key, a range", cv.Filter{CreatedFrom: &from, CreatedTo: &to}, 1000 + 8},
			{"keys without the source (a range of days)", cv.Filter{Statuses: []string{status}, AssigneeTypes: []string{cv.AssigneeAI}, CreatedFrom: &from}, 1000 + 11},
			{"keys with the source (days named)", cv.Filter{Sources: []string{cv.SourceWhatsApp}, Statuses: []string{status}, CreatedFrom: &from, CreatedTo: &to}, 1000 + 8},
			{"keys with the source, open range", cv.Filter{Sources: []string{cv.SourceWhatsApp}, Statuses: []string{status}}, 1000 + 12},
			{"within a day", cv.Filter{Sources: []string{cv.SourceWhatsApp}, CreatedFrom: &from, CreatedTo: &from}, 0},
			{"no whole day", cv.Filter{Sources: []string{cv.SourceWhatsApp}, CreatedFrom: &from, CreatedTo: ptrTime(day.Add(25 * time.Hour))}, 4},
			{"another filter", cv.Filter{Sources: []string{cv.SourceWhatsApp}, HasUnread: new(bool), CreatedFrom: &from, CreatedTo: &to}, 8},
			{"a topic", cv.Filter{Topics: []string{"Billing"}, CreatedFrom: &from, CreatedTo: &to}, 0},
			{"flagged", cv.Filter{IsFlagged: &yes, Statuses: []string{status}}, 0},
		} {
			p, err := st.Conversations(ctx, a.ID, c.f)
			if err != nil {
				t.Fatal(err)
			}
			if p.Count != c.want {
				t.Errorf("%s: Count = %d, want %d", c.name, p.Count, c.want)
			}
		}
	})
}

func ptrTime(t time.Time) *time.Time { return &t }

// TestUTCDay checks the rollups' day of a time: rounded down, before 1970 too, and a midnight
// only to the nanosecond.
func TestUTCDay(t *testing.T) {
	for _, c := range []struct {
		t        time.Time
		day      int64
		midnight bool
	}{
		{time.Unix(0, 0), 0, true},
		{time.Unix(0, 1), 0, false},
		{time.Unix(0, -1), -1, false},
		{time.Unix(-86400, 0), -1, true},
		{time.Unix(-86401, 0), -2, false},
		{time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC), 20157, true},
		{time.Date(2025, 3, 10, 0, 0, 0, 300, time.UTC), 20157, false},
		{time.Date(2025, 3, 9, 23, 59, 59, 999999000, time.UTC), 20156, false},
		{time.Date(2025, 3, 10, 1, 0, 0, 0, time.FixedZone("CET", 3600)), 20157, true},
	} {
		day, midnight := sqlstore.UTCDayForTest(c.t)
		if day != c.day || midnight != c.midnight {
			t.Errorf("utcDay(%s) = %d, %v; want %d, %v", c.t.Format(time.RFC3339Nano), day, midnight, c.day, c.midnight)
		}
	}
}

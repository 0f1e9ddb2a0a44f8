package eval

import "testing"

func TestFlags(t *testing.T) {
	t.Parallel()
	r, err := Flags(shared(t, "support", "bitext_dev.csv"), FlagsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.String())
	if r.HumanRows < 50 || r.Recall < 0.90 {
		t.Errorf("recall %.2f%% on %d rows, want >= 90%%", 100*r.Recall, r.HumanRows)
	}
	if r.FalseRate > 0.05 {
		t.Errorf("%.2f%% of other intents flagged, want <= 5%%", 100*r.FalseRate)
	}
}

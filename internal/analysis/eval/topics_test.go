package eval

import "testing"

func TestTopics(t *testing.T) {
	t.Parallel()
	r, err := Topics(shared(t, "support", "bitext_dev.csv"), TopicOptions{Examples: 10, Draws: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.String())
	if r.Topics != 11 {
		t.Errorf("%d topics", r.Topics)
	}
	if r.Mean < 0.85 || r.Min < 0.85 {
		t.Errorf("accuracy mean %.2f%% min %.2f%%, want >= 85%%", 100*r.Mean, 100*r.Min)
	}
}

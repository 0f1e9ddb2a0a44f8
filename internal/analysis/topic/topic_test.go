package topic

import (
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/settings"
)

var topics = []settings.Topic{
	{Name: "Returns", Description: "sending items back, refunds", Examples: []string{"how do I return a product", "I want my money back", "return label"}},
	{Name: "Delivery", Description: "shipping times and tracking", Examples: []string{"where is my parcel", "when will my order arrive", "tracking number"}},
	{Name: "Empty"},
}

func TestClassify(t *testing.T) {
	c := Train(topics)
	for text, want := range map[string]string{
		"I'd like to send these shoes back and get a refund": "Returns",
		"My parcel hasn't arrived, can you track it?":        "Delivery",
		"Wo ist mein Paket? Tracking-Nummer bitte":           "Delivery",
	} {
		if got, _ := c.Classify(text); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
	if got, score := c.Classify("zzz qqq"); got != "" || score != 0 {
		t.Errorf("nothing in common: %q %v", got, score)
	}
	if got, _ := Train(nil).Classify("anything"); got != "" {
		t.Errorf("no topics: %q", got)
	}
}

func TestCache(t *testing.T) {
	var cache Cache
	cache.Max = 2
	a := cache.Get(topics)
	if cache.Get(topics) != a {
		t.Error("not cached")
	}
	other := append([]settings.Topic{}, topics...)
	other[0].Examples = []string{"changed"}
	if cache.Get(other) == a {
		t.Error("a changed topic list must train anew")
	}
	cache.Get(topics[:1])
	if len(cache.m) > 2 {
		t.Errorf("cache holds %d", len(cache.m))
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); cache.Get(topics).Classify("return label") }()
	}
	wg.Wait()
	if Key(topics) == Key(other) {
		t.Error("keys collide")
	}
}

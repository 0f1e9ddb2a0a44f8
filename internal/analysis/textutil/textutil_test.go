package textutil

import (
	"reflect"
	"testing"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Démo ÉTÉ": "demo ete", "Straße": "strasse", "Łódź": "lodz", "Ærø": "aero", "İstanbul": "istanbul",
		"オペレーター": "オペレーター", "नमस्ते": "नमस्ते", "don’t": "don't", "ABC": "abc",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWords(t *testing.T) {
	got := Words("Hi! I can't log-in, l'homme 42x… ok")
	want := []string{"Hi", "I", "can't", "log", "in", "l'homme", "42x", "ok"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Words = %q", got)
	}
}

func TestFirstWords(t *testing.T) {
	for in, want := range map[string]string{
		"The quick brown fox": "The quick",
		"  one ":              "one",
		"102年度彰化县劳工运动会暨园游会于12月1日": "102年",
		"クロノたちが13年ぶりに再会！":         "クロノた",
		"Привет мир как дела":     "Привет мир",
		"":                        "",
	} {
		if got := FirstWords(in, 2); got != want {
			t.Errorf("FirstWords(%q) = %q, want %q", in, got, want)
		}
	}
}

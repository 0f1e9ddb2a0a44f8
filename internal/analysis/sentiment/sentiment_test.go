package sentiment

import (
	"bytes"
	"testing"
)

func TestEnglish(t *testing.T) {
	s := Default()
	for text, want := range map[string]string{
		"Thank you so much, that fixed it!":                       Positive,
		"This is the worst service ever, I'm furious.":            Negative,
		"How do I reset my password?":                             Neutral,
		"Where is my order?":                                      Neutral,
		"I'm still waiting for my refund, it doesn't work":        Negative,
		"Great, it works now":                                     Positive,
		"My package arrived damaged and nobody answers my emails": Negative,
		"I want to change the email address on my account.":       Neutral,
		"Can I speak to a human please?":                          Neutral,
		"Do you ship to Canada?":                                  Neutral,
		"Your product is terrible":                                Negative,
		"I'm very happy with the service":                         Positive,
		"It stopped working after the update":                     Negative,
	} {
		r := s.Score(text, "en")
		if r == nil || r.Label != want {
			t.Errorf("%q: %+v, want %s", text, r, want)
		}
		if r != nil && (r.Score < -1 || r.Score > 1) {
			t.Errorf("%q: score %v out of range", text, r.Score)
		}
	}
}

// TestStrongLexiconPolarity: a text that VADER reads as strongly positive (or negative) never
// gets the opposite label, though the learned words lean the other way ("pretty", "movie",
// "I don't know" in the movie reviews). Each of these came out negative before strongCompound.
func TestStrongLexiconPolarity(t *testing.T) {
	s := Default()
	for _, text := range []string{
		"gotta say, that was pretty freakin awesome of me",
		"That was pretty awesome. The subtitling in that movie was well-done too.",
		"3yo so well behaved at PTA meeting.  I don't know how I got so lucky!",
	} {
		c := s.vader.PolarityScores(text).Compound
		if c < 0.5 {
			t.Fatalf("%q: compound %.2f, the case needs a strong one", text, c)
		}
		if r := s.English(text); r.Label == Negative || r.Score < 0 {
			t.Errorf("%q (compound %.2f): %+v, want no negative", text, c, r)
		}
	}
}

func TestOtherLanguages(t *testing.T) {
	s := Default()
	cases := []struct{ text, lang, want string }{
		{"Vielen Dank, das ist super!", "de", Positive},
		{"Das funktioniert nicht, ich bin sehr enttäuscht", "de", Negative},
		{"Merci beaucoup, c'est parfait", "fr", Positive},
		{"Le colis est arrivé cassé, c'est inacceptable", "fr", Negative},
		{"Muchas gracias, todo perfecto", "es", Positive},
		{"No funciona y sigo esperando, es pésimo", "es", Negative},
		{"No es malo", "es", Positive},
		{"Wo ist meine Bestellung?", "de", Neutral},
	}
	for _, c := range cases {
		r := s.Score(c.text, c.lang)
		if r == nil || r.Label != c.want {
			t.Errorf("%q: %+v, want %s", c.text, r, c.want)
		}
	}
	if r := s.Score("Dziękuję bardzo", "pl"); r != nil {
		t.Errorf("polish: %+v, want nil", r)
	}
	if r := s.Score("谢谢", ""); r != nil {
		t.Errorf("unknown non-ASCII: %+v, want nil", r)
	}
	if r := s.Score("thanks!", ""); r == nil || r.Label != Positive {
		t.Errorf("unknown ASCII: %+v", r)
	}
	if r := s.Score("   ", "en"); r != nil {
		t.Errorf("empty: %+v", r)
	}
}

func TestEncodeDecode(t *testing.T) {
	m := &Linear{W: map[uint64]float32{1: 0.5, 99: -0.25}, WI: map[uint64]float32{7: 0.125}, A: 0.1, TInt: 0.2, TMid: -0.01,
		C: map[uint64][2]float32{5: {0.75, -1.5}, 1 << 60: {2, 0}}, B: [2]float64{0.3, -0.2}}
	m.Dense[1], m.DenseI[2], m.DenseC[1][nClass-1] = 0.3, 0.4, -0.7
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeLinear(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.W[99] != -0.25 || got.WI[7] != 0.125 || got.A != 0.1 || got.TInt != 0.2 || got.TMid != -0.01 || got.Dense[1] != 0.3 || got.DenseI[2] != 0.4 ||
		got.C[5] != [2]float32{0.75, -1.5} || got.C[1<<60] != [2]float32{2, 0} || got.B != m.B || got.DenseC != m.DenseC {
		t.Errorf("round trip: %+v", got)
	}
}

func TestPearson(t *testing.T) {
	if r := Pearson([]float64{1, 2, 3}, []float64{2, 4, 6}); r < 0.999 {
		t.Errorf("r = %v", r)
	}
	if r := Pearson([]float64{1, 1}, []float64{1, 2}); r != 0 {
		t.Errorf("undefined r = %v", r)
	}
}

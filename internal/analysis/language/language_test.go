package language

import (
	"bytes"
	"testing"
)

func TestDetect(t *testing.T) {
	m := Default()
	for text, want := range map[string]string{
		"Where is my order? It should have arrived yesterday.":    "en",
		"¿Dónde está mi pedido? Debería haber llegado ayer.":      "es",
		"Où est ma commande ? Elle aurait dû arriver hier.":       "fr",
		"Wo ist meine Bestellung? Sie sollte gestern ankommen.":   "de",
		"Onde está o meu pedido? Deveria ter chegado ontem.":      "pt",
		"Dov'è il mio ordine? Doveva arrivare ieri.":              "it",
		"Waar is mijn bestelling? Die had gisteren moeten komen.": "nl",
		"Где мой заказ? Он должен был прийти вчера.":              "ru",
		"我的订单在哪里？昨天应该到了。":                                         "zh",
		"注文した商品はどこですか？昨日届くはずでした。":                                 "ja",
		"제 주문은 어디에 있나요?":                                          "ko",
		"Siparişim nerede? Dün gelmesi gerekiyordu.":              "tr",
		"Gdzie jest moje zamówienie?":                             "pl",
		"أين طلبي؟ كان يجب أن يصل أمس":                            "ar",
		"मेरा ऑर्डर कहाँ है?":                                     "hi",
		"Πού είναι η παραγγελία μου;":                             "el",
	} {
		if got := m.Detect(text); got != want {
			t.Errorf("Detect(%q) = %q, want %q", text, got, want)
		}
	}
	for _, s := range []string{"", "ok", "12345 !!!", "👍"} {
		if got := m.Detect(s); got != "" {
			t.Errorf("Detect(%q) = %q, want none", s, got)
		}
	}
}

func TestMostFrequent(t *testing.T) {
	got := MostFrequent([]Text{
		{"hola", "es"},
		{"I would like to change the address of my order please", "en"},
		{"thanks", "en"},
		{"Je voudrais aussi changer le mode de paiement, merci", "fr"},
		{"and the invoice address too, it is wrong on the invoice", "en"},
	})
	if got != "en" {
		t.Errorf("MostFrequent = %q", got)
	}
	if got := MostFrequent([]Text{{"hola", "es"}, {"ok", ""}}); got != "es" {
		t.Errorf("only short: %q", got)
	}
	if got := MostFrequent(nil); got != "" {
		t.Errorf("none: %q", got)
	}
}

func TestTrainEncodeDecode(t *testing.T) {
	samples := []Sample{
		{"en", "the cat sat on the mat"}, {"en", "where is the cat"}, {"en", "the dog and the cat"},
		{"de", "die Katze sitzt auf der Matte"}, {"de", "wo ist die Katze"}, {"de", "der Hund und die Katze"},
	}
	var buf bytes.Buffer
	if err := TrainEncoded(samples, TrainOptions{MinCount: 1}, &buf); err != nil {
		t.Fatal(err)
	}
	m, err := decode(buf.Bytes(), false)
	if err != nil {
		t.Fatal(err)
	}
	direct := Train(samples, TrainOptions{MinCount: 1})
	for _, s := range []string{"where is the dog", "wo ist der Hund"} {
		if a, b := m.Detect(s), direct.Detect(s); a != b || a == "" {
			t.Errorf("%q: decoded %q, trained %q", s, a, b)
		}
	}
	if _, err := decode([]byte("nonsense"), false); err == nil {
		t.Error("decode accepted garbage")
	}
}

func TestScripts(t *testing.T) {
	m := Default()
	for text, want := range map[string]string{
		// Latin boilerplate before Urdu: the other script wins with half as many letters.
		"Maeeshat India's First Magazine Focusing Minorities اسرائیل کے لیے امریکی پروازیں بحال امریکی ایوی ایشن حکام نے": "ur",
		"I visited 北京 last year with my family": "en",
		"১৯৬৭ সালে":                             "bn", // vowel signs count as letters
		"๔/ว ๑๕๖":                               "th", // one letter of a script only one language uses
	} {
		if got := m.Detect(text); got != want {
			t.Errorf("Detect(%q) = %q, want %q", text, got, want)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	m := Default()
	texts := []string{
		"Where is my order? It should have arrived yesterday, and the tracking page still says it is being prepared.",
		"Wo ist meine Bestellung? Sie sollte gestern ankommen.",
		"Gdzie jest moje zamówienie?",
		"Od Džabira, radijallahu anhu, prenosi se da je rekao",
		"Где мой заказ?",
		"我的订单在哪里？昨天应该到了。",
		"thanks a lot",
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Detect(texts[i%len(texts)])
	}
}

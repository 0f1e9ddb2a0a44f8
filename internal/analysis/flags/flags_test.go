package flags

import "testing"

func TestHandoff(t *testing.T) {
	yes := []string{
		"I want to talk to a human", "can I speak with a real person please", "HUMAN!", "agent", "Operator please",
		"connect me to a live agent", "I need a human being", "you're useless, get me a representative", "i have to talk with somebody",
		"need to speak to a eprson", "Quiero hablar con una persona", "pásame con un agente", "¿Puedo hablar con un humano?",
		"Je veux parler à un conseiller", "je voudrais parler à quelqu'un", "Ich möchte mit einem Mitarbeiter sprechen", "Kann ich bitte einen Menschen sprechen?",
		"Quero falar com um atendente", "posso parlare con un operatore?", "Ik wil een medewerker spreken", "Соедините меня с оператором",
		"хочу поговорить с живым человеком", "müşteri temsilcisi ile görüşmek istiyorum", "chcę rozmawiać z konsultantem", "أريد التحدث مع موظف",
		"मुझे किसी इंसान से बात करनी है", "转人工", "我要人工客服", "オペレーターと話したい", "상담원 연결해 주세요",
	}
	no := []string{
		"How do I reset my password?", "I want to cancel my order", "Where is my refund?", "what are your opening hours", "the person on the photo is not me",
		"my human resources department needs an invoice", "Can someone tell me the price?", "¿Dónde está mi pedido?", "Je n'ai personne à qui parler de ça",
		"Wo ist meine Rechnung?", "Mein Mann hat das bestellt", "人工智能很有趣", "I talked to my bank and they said the payment went through",
	}
	for _, s := range yes {
		if !IsHandoffRequest(s, nil) {
			t.Errorf("missed: %q", s)
		}
	}
	for _, s := range no {
		if IsHandoffRequest(s, nil) {
			t.Errorf("flagged: %q", s)
		}
	}
	if !IsHandoffRequest("Ich will zur Eskalationsstelle", []string{"Eskalationsstelle"}) || IsHandoffRequest("escalations", []string{"escalation"}) {
		t.Error("extra keywords")
	}
}

func TestSignals(t *testing.T) {
	if !IsAbusive("this is fucking ridiculous") || !IsAbusive("Du Arschloch") || IsAbusive("I assume this is a classic issue") {
		t.Error("abusive")
	}
	if !IsComplaint("This is unacceptable, I'm still waiting") || !IsComplaint("es funktioniert nicht") || IsComplaint("How do I change my address?") {
		t.Error("complaint")
	}
	if !IsCannotAnswer("I'm sorry, I don't have information about that.") || !IsCannotAnswer("Je ne sais pas") || IsCannotAnswer("Your order ships tomorrow.") {
		t.Error("cannot answer")
	}
	if !IsThanksOrConfirmation("Thanks, that works!") || !IsThanksOrConfirmation("muchas gracias") || IsThanksOrConfirmation("thanks but it still doesn't work") {
		t.Error("thanks")
	}
	s := Read("Thanks for nothing, you idiots. I want a human!", nil)
	if !s.HandoffRequest || !s.Abusive || s.Thanks {
		t.Errorf("Read = %+v", s)
	}
}

func TestOneEdit(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"person", "eprson", true}, {"person", "persn", true}, {"person", "persons", true}, {"person", "persin", true}, {"person", "person", false}, {"person", "prsn", false}, {"someone", "somenoe", true}} {
		if got := oneEdit(c.a, c.b); got != c.want {
			t.Errorf("oneEdit(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
